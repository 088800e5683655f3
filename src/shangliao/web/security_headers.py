"""Security headers on every answer: a Content-Security-Policy on HTML, nosniff on everything.

The policy allows no inline script, no ``eval`` and no inline style: every script and style sheet
is a file under ``/static`` (rule "serve every asset yourself" of docs/architecture.md), page data
reaches scripts through ``data-*`` attributes or ``<script type="application/json">`` blocks (which
are data, never executed), and htmx runs with ``allowEval`` off and its indicator styles in
console.css. So an injected ``<script>``, ``onclick=`` or ``style=`` does nothing, and a page
cannot be framed by another site (clickjacking a signed-in console).

Over TLS every answer also carries ``Strict-Transport-Security``: once a browser has reached the
console over https it never tries plain http again (no downgrade on a café's Wi-Fi, no session
cookie offered over http). "Over TLS" is the request's scheme: https when ``shangliao serve
--certfile`` terminates TLS itself, or when a proxy listed in ``SHANGLIAO_TRUSTED_PROXIES`` says
``X-Forwarded-Proto: https`` (``web/client_address.py`` rewrites the scheme before this runs). A
plain-http answer never carries it: a browser ignores it there, and a test setup on http must not
be pinned to https.

Plain ASGI (no ``BaseHTTPMiddleware``): it rewrites the response start and never touches the body.
A header a route set itself (a page with a policy of its own) is kept.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Product photos may live on the merchant's own image host (http(s) URLs are accepted by
        # the catalogue); an image cannot run code, so any source is allowed for images only.
        # data: serves the small icons Swagger UI's style sheet inlines.
        "img-src 'self' data: https: http:",
        # 'self' covers the same-origin ws:/wss: socket in CSP Level 3 browsers.
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

# Every answer: no content-type sniffing (an uploaded file served as text/plain stays text), and
# URLs (which carry order and conversation ids) never leave the site in a Referer header.
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

# HTML answers: the policy, and X-Frame-Options for browsers older than frame-ancestors.
HTML = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
}


# A year: a shop visited now and then stays pinned between visits. No includeSubDomains: a merchant's other
# sites under the same domain may still be http, and pinning them is the operator's choice (their
# proxy can send a stronger header, which is kept).
HSTS = {"Strict-Transport-Security": "max-age=31536000"}


def headers_for(content_type: str, scheme: str) -> dict[str, str]:
    """The headers an answer of ``content_type`` gets when the request came in over ``scheme``."""
    extra = ALWAYS | HTML if content_type.startswith("text/html") else ALWAYS
    return extra | HSTS if scheme == "https" else extra


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                extra = headers_for(headers.get("content-type", ""), scope.get("scheme", "http"))
                for name, value in extra.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
