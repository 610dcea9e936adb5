"""Hub login: who a request comes from, when nbshare runs as a JupyterHub service (hub_auth).

JupyterHub's own helpers (`jupyterhub.services.auth.HubOAuth`) build the login URL, trade
the OAuth code for a token and ask the Hub whose a token is, keeping answers for a minute.
What HubOAuth does with tornado's cookies is done here with Starlette's: the browser's Hub
token lives in a cookie sealed under the server key, and a login's state in another, so
whichever instance the Hub sends the browser back to can finish a login another began.

API clients (nbshare's own, from a single-user server) send a Hub token in the header
JupyterHub uses, `Authorization: token ...`; owner tokens stay `Bearer`.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from .audience import HubUser
from .errors import Forbidden, NbshareError
from .security.crypto import DecryptionFailed, b64, open_sealed, seal, unb64
from .security.grants import ServerKey
from .settings import HubService

log = logging.getLogger(__name__)
SESSION_COOKIE = "nbs_hub"
STATE_COOKIE = "nbs_hub_state"
LOGIN_LIFETIME = 600  # seconds a browser has to come back from the Hub's login


class HubUnreachable(NbshareError):
    status = 503
    code = "hub_unreachable"


class HubLogin:
    def __init__(self, hub: HubService, key: ServerKey, *, root: str, secure: bool, lifetime: float):
        from jupyterhub.services.auth import HubOAuth  # the `hub` extra; only when hub_auth is on

        self.hub = hub
        self.oauth = HubOAuth(
            api_url=hub.api_url,
            api_token=hub.api_token,
            oauth_client_id=hub.client_id,
            oauth_redirect_uri=hub.callback_url,
            hub_prefix=hub.hub_prefix,
            hub_host=hub.hub_host,
            base_url=hub.prefix,
            access_scopes=set(hub.access_scopes),
            cache_max_age=60,
        )
        self.key, self.root, self.secure, self.lifetime = key, root, secure, lifetime

    # -- signing in -------------------------------------------------------------------

    def start(self, next_path: str) -> Response:
        """Off to the Hub's authorization page, which sends the browser back to the callback."""
        state = secrets.token_urlsafe(16)
        query = {
            "client_id": self.oauth.oauth_client_id,
            "redirect_uri": self.oauth.oauth_redirect_uri,
            "response_type": "code",
            "state": state,
        }
        response = Response(
            status_code=302, headers={"Location": f"{self.oauth.oauth_authorization_url}?{urlencode(query)}"}
        )
        sealed = self._seal(
            {"s": state, "n": self.safe_next(next_path), "x": time.time() + LOGIN_LIFETIME}, "state"
        )
        self._set(response, STATE_COOKIE, sealed, LOGIN_LIFETIME)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def finish(self, request: Request) -> Response:
        """The callback: check the state, trade the code for a token, keep it in a cookie."""
        login = self._open(request.cookies.get(STATE_COOKIE), "state")
        state, code = request.query_params.get("state"), request.query_params.get("code")
        if not login or not state or not secrets.compare_digest(str(login.get("s")), state):
            raise Forbidden(
                "This sign-in did not start here, or took too long; open the share's link again.",
                code="bad_oauth_state",
            )
        if not code:
            raise NbshareError("The JupyterHub sent no sign-in code back.", code="bad_oauth_code")
        try:
            token = await self.oauth.token_for_code(code, sync=False)
        except Exception as exc:  # tornado's HTTPError, a refused code, an unreachable Hub
            log.warning("Hub login failed: %s", exc)
            raise Forbidden(
                "The JupyterHub did not accept this sign-in; try again.", code="hub_login_failed"
            ) from None
        response = Response(status_code=302, headers={"Location": str(login.get("n") or self.root + "/")})
        self._set(
            response,
            SESSION_COOKIE,
            self._seal({"t": token, "x": time.time() + self.lifetime}, "session"),
            self.lifetime,
        )
        response.delete_cookie(STATE_COOKIE, path=f"{self.root}/")
        response.headers["Cache-Control"] = "no-store"
        return response

    def sign_out(self, response: Response) -> Response:
        response.delete_cookie(SESSION_COOKIE, path=f"{self.root}/")
        return response

    def safe_next(self, path: str | None) -> str:
        """Only a path of this service, as it travels (percent-encoded ASCII): a login must
        not end on another site, nor in a header that cannot be sent."""
        home = f"{self.root}/"
        if not path or not path.startswith(home) or path.startswith("//") or "\\" in path:
            return home
        if not re.fullmatch(r"[\x21-\x7e]+", path):
            return home
        return path

    # -- who is asking ----------------------------------------------------------------

    async def user(self, request: Request, *, strict: bool = True) -> HubUser | None:
        """The Hub user behind this request (their token header, or the sign-in cookie).
        Not `strict`: a token the Hub refuses, or a Hub that cannot answer, is no user."""
        if "nbshare_hub_user" not in request.scope:
            try:
                request.scope["nbshare_hub_user"] = (await self._resolve(request), None)
            except NbshareError as exc:
                request.scope["nbshare_hub_user"] = (None, exc)
        user, error = request.scope["nbshare_hub_user"]
        if error is not None and strict:
            raise error
        return user

    async def _resolve(self, request: Request) -> HubUser | None:
        header = request.headers.get("authorization", "")
        from_header = header[:6].lower() == "token "
        token: str | None
        if from_header:
            token = header[6:].strip()
        else:
            session = self._open(request.cookies.get(SESSION_COOKIE), "session")
            token = str(session["t"]) if session and session.get("t") else None
        return await self._identify(token, from_header=from_header) if token else None

    async def _identify(self, token: str, *, from_header: bool) -> HubUser | None:
        if not re.fullmatch(r"[\x21-\x7e]{1,512}", token):
            raise Forbidden("The JupyterHub does not know this token.", code="bad_hub_token")
        try:
            model = await self.oauth.user_for_token(token, sync=False)
        except Exception as exc:
            log.warning("could not ask the Hub who a token belongs to: %s", exc)
            raise HubUnreachable(
                "The JupyterHub could not be asked who you are; try again shortly."
            ) from None
        if not model or model.get("kind", "user") != "user":
            if from_header:
                raise Forbidden("The JupyterHub does not know this token.", code="bad_hub_token")
            return None  # an expired or revoked sign-in: signed out
        if not self.oauth.check_scopes(self.oauth.access_scopes, model):
            scopes = " or ".join(sorted(self.oauth.access_scopes))
            raise Forbidden(
                f"This Hub token does not give access to nbshare; the Hub's admin can grant {scopes}.",
                code="hub_scope_missing",
            )
        return HubUser(str(model["name"]), frozenset(model.get("groups") or ()))

    # -- cookies ----------------------------------------------------------------------

    def _seal(self, body: dict, kind: str) -> str:
        return b64(seal(self.key.bytes, json.dumps(body).encode(), f"hub-{kind}"))

    def _open(self, value: str | None, kind: str) -> dict | None:
        if not value:
            return None
        try:
            body = json.loads(open_sealed(self.key.bytes, unb64(value), f"hub-{kind}"))
        except (DecryptionFailed, ValueError):
            return None
        return body if isinstance(body, dict) and body.get("x", 0) > time.time() else None

    def _set(self, response: Response, name: str, value: str, max_age: float) -> None:
        # Lax, not Strict: a link to a share followed from mail or chat is a cross-site
        # navigation, and must arrive signed in. Writes need more than a cookie (the
        # origin check, and owner pages send no form a other site could).
        response.set_cookie(
            name,
            value,
            max_age=int(max_age),
            path=f"{self.root}/",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )
