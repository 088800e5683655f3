"""Security headers on every answer: a Content-Security-Policy on HTML, nosniff on everything.

The policy allows no inline script, no ``eval`` and no inline style: every script and style sheet
is a file under ``/static`` (rule "serve every asset yourself" of docs/architecture.md), page data
reaches scripts through ``data-*`` attributes or ``<script type="application/json">`` blocks (which
are data, never executed), and htmx runs with ``allowEval`` off and its indicator styles in
console.css. So an injected ``<script>``, ``onclick=`` or ``style=`` does nothing, and a page
cannot be framed by another site (clickjacking a signed-in console).

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
                extra = ALWAYS | HTML if headers.get("content-type", "").startswith("text/html") else ALWAYS
                for name, value in extra.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
