"""Response headers that keep notebook content in an opaque origin and the service's pages strict."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Notebook scripts run (plots stay interactive) but never with the service's origin:
# no allow-same-origin, no forms, no top navigation.
SANDBOX = "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox allow-downloads allow-modals"


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def service_csp(frame_url: str, public_url: str) -> str:
    frames = "'self'" if origin(frame_url) == origin(public_url) else origin(frame_url)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            f"frame-src {frames}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def content_csp(public_url: str) -> str:
    # Scripts, styles and images stay unrestricted (notebooks load plot libraries and
    # images from anywhere); a <base> cannot re-point nbshare's own script URLs, forms
    # go nowhere, and only the share page may frame it.
    return f"{SANDBOX}; base-uri 'none'; form-action 'none'; frame-ancestors {origin(public_url)}"


class SecurityHeaders:
    """Adds nosniff and a same-origin referrer policy everywhere, and the strict CSP to any
    response that did not set its own (rendered notebooks set the sandbox one)."""

    def __init__(self, app: ASGIApp, *, csp: str):
        self.app = app
        self.csp = csp.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.append((b"x-content-type-options", b"nosniff"))
                # Share links are secrets: never leak them to sites a notebook links to.
                # "same-origin", not "no-referrer": under no-referrer browsers send
                # `Origin: null` even on the service's own form posts, which the
                # cross-site write check (origin.py) must be able to tell apart.
                headers.append((b"referrer-policy", b"same-origin"))
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", self.csp))
                    headers.append((b"x-frame-options", b"DENY"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
