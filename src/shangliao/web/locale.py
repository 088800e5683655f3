"""The language of each request: the console's language switch (a cookie), else Accept-Language."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from shangliao.core.i18n import SUPPORTED_LOCALES, current_locale, negotiate

LANG_COOKIE = "sl_lang"


def locale_from_headers(cookie_header: str | None, accept_language: str | None) -> str:
    if cookie_header:
        for part in cookie_header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == LANG_COOKIE and value in SUPPORTED_LOCALES:
                return value
    return negotiate(accept_language)


class LocaleMiddleware:
    """Sets ``current_locale`` for the whole request, so pages, errors and worker threads agree.

    Plain ASGI (no ``BaseHTTPMiddleware``): it only reads two headers and costs microseconds.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        cookie = headers.get(b"cookie", b"").decode("latin-1") or None
        accept = headers.get(b"accept-language", b"").decode("latin-1") or None
        token = current_locale.set(locale_from_headers(cookie, accept))
        try:
            await self.app(scope, receive, send)
        finally:
            current_locale.reset(token)
