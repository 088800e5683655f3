"""The security policy in Chromium (issue 10): a signed-in console page cannot be framed by
another origin on the same host, and the API docs still work under the policy.

Clickjacking needs the victim's page, signed in, inside the attacker's frame. The attacker here
is a page on another port of the same host: another origin, but the same site, so the browser
still sends the console's session cookie with the framed request, exactly the case
``frame-ancestors 'none'`` (and X-Frame-Options) exist for.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from tests.support.browser import (  # noqa: F401 (fixtures)
    CspWatchedBrowser,
    chromium,
    live_fixture,
    live_shop_fixture,
    open_console,
)


class Framer(http.server.BaseHTTPRequestHandler):
    """Serves one page that frames whatever URL its query string names."""

    def do_GET(self) -> None:
        target = self.path.partition("?")[2]
        body = f'<!doctype html><h1>elsewhere</h1><iframe id="victim" src="{target}"></iframe>'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture(scope="module")
def framer() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Framer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module", name="chromium_plain")
def chromium_plain_fixture():
    """Not the ``browser`` fixture, whose guard fails a test on any refusal: this one expects one
    (and reads it from the same recorder the guard uses)."""
    with chromium() as browser:
        yield CspWatchedBrowser(browser)


def framed(page, framer: str, url: str):
    """Open the other origin's page framing ``url``; the frame, once it has loaded (or failed)."""
    page.goto(f"{framer}/?{url}")
    page.wait_for_load_state("load")
    return next(frame for frame in page.frames if frame != page.main_frame)


def test_a_signed_in_console_page_does_not_render_in_another_origins_frame(
    chromium_plain, live, shop, framer
):
    # Given a merchant signed in to the console, and a page of another origin on the same host
    console = open_console(chromium_plain, live, shop)
    assert console.locator("nav.nav").count() == 1
    page = console.context.new_page()
    # ...whose frames this browser can read when nothing forbids it (JSON answers carry no policy)
    health = framed(page, framer, f"{live[0]}/healthz")
    assert '"status":"ok"' in health.evaluate("document.body.innerText.replace(/\\s/g, '')")

    # When that page frames the console's order list
    frame = framed(page, framer, f"{live[0]}/orders")

    # Then the frame stays empty: no console markup, no order list, and the browser says why
    assert not frame.url.startswith(live[0])
    assert frame.evaluate("document.querySelector('.topbar, nav.nav, #order-list') === null")
    refusals = chromium_plain.csp_violations
    assert len(refusals) == 1 and "frame-ancestors 'none'" in refusals[0], refusals


def test_the_api_docs_start_from_a_static_file_under_the_policy(chromium_plain, live):
    # Given the docs page, whose Swagger UI used to start from an inline script
    page = chromium_plain.new_context().new_page()
    before = len(chromium_plain.csp_violations)

    # When it loads
    page.goto(f"{live[0]}/api/v1/docs")

    # Then Swagger UI lists the API's groups, folded; opening "orders" lists its operations; and the
    # browser refused nothing on the way
    page.locator(".opblock-tag", has_text="orders").first.wait_for()
    assert page.locator(".opblock-tag").count() > 15
    page.locator(".opblock-tag", has_text="orders").first.click()
    page.locator(".opblock-summary-path", has_text="/api/v1/orders/{order_id}/refunds").wait_for()
    assert page.locator(".opblock").count() > 20
    assert chromium_plain.csp_violations[before:] == []
