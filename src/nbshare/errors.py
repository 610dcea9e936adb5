"""Errors the core raises for a person to read; handlers turn them into HTTP answers."""

from __future__ import annotations


class NbshareError(Exception):
    """An expected failure, with a message fit to show to the person who caused it."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def __reduce__(self):  # errors cross the render pool's process boundary
        return (_rebuild, (type(self), self.message, self.code, self.status))


class BadNotebook(NbshareError):
    status = 422
    code = "invalid_notebook"


class TooLarge(NbshareError):
    status = 413
    code = "too_large"


class RenderFailed(NbshareError):
    status = 422
    code = "render_failed"


class NotFound(NbshareError):
    status = 404
    code = "not_found"


class PasswordRequired(NbshareError):
    status = 401
    code = "password_required"


class HubLoginRequired(NbshareError):
    """The share is for users of the JupyterHub nbshare runs in; pages send the visitor to
    the Hub's login (hub.py), the API answers 401."""

    status = 401
    code = "hub_login_required"


class WrongPassword(NbshareError):
    status = 401
    code = "wrong_password"


class Forbidden(NbshareError):
    status = 403
    code = "forbidden"


class OutOfSpace(NbshareError):
    """The disk (or the database) is full. Raised by the store, after which the share
    service removes whatever it had written, so the message can promise nothing was stored."""

    status = 507
    code = "out_of_space"

    def __init__(self, message: str = "The server is out of storage space; nothing was stored.", **kw):
        super().__init__(message, **kw)


def _rebuild(cls: type[NbshareError], message: str, code: str, status: int) -> NbshareError:
    return cls(message, code=code, status=status)
