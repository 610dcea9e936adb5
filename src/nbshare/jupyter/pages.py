"""The few HTML pages "Open in my Jupyter" shows in the browser: the question before
anything is written, the password form of a protected share, and the page that says, in
words, why a share could not be opened. Plain
HTML, everything from outside escaped, no script."""

from __future__ import annotations

from urllib.parse import urlsplit

from tornado.escape import xhtml_escape as esc

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}"
    "h1{font-size:1.3rem}p.error{color:#a00}input[type=password]{font-size:1rem;padding:.3rem;width:18rem}"
    "button{font-size:1rem;padding:.3rem .8rem}code{word-break:break-all}"
)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def confirm_form(url: str, action: str, xsrf_html: str) -> str:
    """The question a GET answers: open a copy of this share here? Its POST does it."""
    host = urlsplit(url).netloc
    return _page(
        "Open a copy? · nbshare",
        "<h1>Open a copy of this share in your Jupyter?</h1>"
        f"<p>Share: <code>{esc(url)}</code></p>"
        f"<p>Its files are copied from <strong>{esc(host)}</strong> into a new folder of your"
        " Jupyter; nothing already there is changed, and nothing in the copy is run. Open it only"
        " if you expected this link.</p>"
        f'<form method="post" action="{esc(action)}">{xsrf_html}'
        f'<input type="hidden" name="url" value="{esc(url)}">'
        '<button type="submit" id="open-copy" autofocus>Open a copy</button></form>',
    )


def password_form(url: str, action: str, xsrf_html: str, message: str | None = None) -> str:
    """The form that sends a protected share's password back here, in the POST body (never
    in a URL); `xsrf_html` is Jupyter's hidden _xsrf field."""
    error = f'<p class="error" role="alert">{esc(message)}</p>' if message else ""
    return _page(
        "Password needed · nbshare",
        "<h1>This share is protected by a password</h1>"
        f"<p>Share: <code>{esc(url)}</code></p>{error}"
        f'<form method="post" action="{esc(action)}">{xsrf_html}'
        f'<input type="hidden" name="url" value="{esc(url)}">'
        '<label>Password <input type="password" name="password" autocomplete="off" autofocus required>'
        '</label> <button type="submit">Open in Jupyter</button></form>',
    )


def failure(message: str, url: str | None) -> str:
    """Why the share could not be opened; nothing was written."""
    share = f"<p>Share: <code>{esc(url)}</code></p>" if url else ""
    return _page(
        "Cannot open this share · nbshare",
        f"<h1>This share cannot be opened here</h1>{share}<p>{esc(message)}</p>"
        "<p>Nothing was written to your Jupyter.</p>",
    )
