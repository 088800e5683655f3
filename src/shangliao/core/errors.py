"""One error type with a dotted code; the API renders it as ``{"error": {code, message, details}}``."""

from __future__ import annotations

from typing import Any

from shangliao.core.i18n import gettext


class ShangliaoError(Exception):
    """A refusal the caller can act on.

    ``message`` is an English msgid with ``{name}`` placeholders filled from ``params``; it is
    translated when rendered, so the same error reads in Chinese in the console and in English for
    an integrator who asks for it.
    """

    status = 400
    # A refused guess (a wrong credential, a caller over a limit) is answered after a pause
    # (web/errors.py): one connection then cannot guess as fast as the server can say no.
    paced = False

    def __init__(
        self,
        code: str,
        message: str,
        /,
        *,
        http_status: int | None = None,
        details: dict[str, Any] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(f"{code}: {message.format(**params) if params else message}")
        self.code = code
        self.message = message
        self.params = params
        self.details = details or {}
        if http_status is not None:
            self.status = http_status

    def localized(self, locale: str | None = None) -> str:
        return gettext(self.message, locale, **self.params)

    def as_dict(self, locale: str | None = None) -> dict[str, Any]:
        return {"code": self.code, "message": self.localized(locale), "details": self.details}


class NotFound(ShangliaoError):
    status = 404


class Forbidden(ShangliaoError):
    status = 403


class Unauthorized(ShangliaoError):
    status = 401


class BadCredential(Unauthorized):
    """A credential was presented and is wrong (unknown, expired, revoked, a wrong password)."""

    paced = True


class Conflict(ShangliaoError):
    status = 409


class Invalid(ShangliaoError):
    status = 422


class TooManyRequests(ShangliaoError):
    """Over a rate limit; ``retry_after`` (seconds) becomes the answer's ``Retry-After``."""

    status = 429
    paced = True

    def __init__(self, code: str, message: str, /, *, retry_after: int, **params: Any) -> None:
        super().__init__(code, message, details={"retry_after": retry_after}, **params)
        self.retry_after = retry_after


def not_found(what: str = "resource") -> NotFound:
    return NotFound(f"{what}.not_found", "Not found.")
