"""Chromium driven by Playwright against a live console on its own SQLite data folder.

Debian's Chromium is used (Playwright's own browser download does not work everywhere); set
``SHANGLIAO_CHROMIUM`` to use another binary. Without Playwright or Chromium the browser tests
skip, or fail when ``SHANGLIAO_TEST_REQUIRE`` contains ``browser`` (CI).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import httpx
import pytest

from shangliao.app import create_app
from shangliao.config import Settings
from shangliao.runtime import Runtime
from shangliao.storage import migrate
from tests.support.backends import unavailable
from tests.support.catalog import make_product
from tests.support.chromium import CHROMIUM_ARGS, chromium_path
from tests.support.live import serve
from tests.support.shops import OWNER_PASSWORD, make_shop
from tests.support.team import MEMBER_PASSWORD

if TYPE_CHECKING:
    from tests.support.chat import Device

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
# A browser test run once on a desktop and once on a phone (the test takes ``viewport``).
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])


def keep_screenshot(page, name: str, viewport: dict | None = None) -> None:
    """A full-page screenshot ``<name>[-<width>].png``, kept only when a folder is named.

    ``SHANGLIAO_SCREENSHOTS`` (or its older spelling ``SHANGLIAO_SHOTS``) names the folder.
    """
    folder = os.environ.get("SHANGLIAO_SCREENSHOTS") or os.environ.get("SHANGLIAO_SHOTS")
    if folder:
        suffix = f"-{viewport['width']}" if viewport else ""
        page.screenshot(path=os.path.join(folder, f"{name}{suffix}.png"), full_page=True)


@contextmanager
def chromium() -> Iterator:
    """A launched browser, or skip/fail with the reason it is not available."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("browser", "the playwright package is not installed (pip install -e '.[test]')")
    path = chromium_path()
    if path is None:
        unavailable("browser", "no Chromium binary (apt-get install chromium, or set SHANGLIAO_CHROMIUM)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class CspWatchedBrowser:
    """The launched browser, recording every Content-Security-Policy violation its pages report.

    Chromium reports a refused inline script, handler, style, eval or connection as a console
    error naming the policy; every context opened here listens to all of its pages' consoles.

    Under that policy ``page.wait_for_function`` takes a function (``"() => …"``), not a bare
    expression: Playwright evals a bare expression again at every poll, from the page's own
    timers, where ``script-src 'self'`` refuses ``eval``.
    """

    def __init__(self, browser) -> None:
        self._browser = browser
        self.csp_violations: list[str] = []

    def new_context(self, **options):
        context = self._browser.new_context(**options)
        context.on("console", self._record)
        return context

    def _record(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(f"{message.location.get('url', '?')}: {message.text}")

    def __getattr__(self, name: str):
        return getattr(self._browser, name)


# Fixtures for the browser test modules, which import them (``*_fixture``; used by their names).


@pytest.fixture(scope="module", name="browser")
def browser_fixture():
    with chromium() as launched:
        yield CspWatchedBrowser(launched)


@pytest.fixture(autouse=True, name="no_csp_violations")
def no_csp_violations_fixture(request):
    """Any test driving the ``browser`` fails if one of its pages broke the security policy.

    Autouse through tests/conftest.py, so every browser test module has it without asking.
    """
    if "browser" not in request.fixturenames:
        yield
        return
    watched = request.getfixturevalue("browser")
    before = len(watched.csp_violations)
    yield
    reported = watched.csp_violations[before:]
    assert not reported, "Content-Security-Policy violations:\n" + "\n".join(reported)


@pytest.fixture(scope="module", name="live")
def live_fixture(tmp_path_factory):
    """A console on its own SQLite data folder, served over real HTTP: ``(url, runtime, app)``."""
    folder = tmp_path_factory.mktemp("browser")
    settings = Settings(data_dir=folder / "data", secret_key="11" * 32)
    runtime = Runtime.build(settings)  # creates the data folder
    migrate.upgrade(settings.resolved_database_url)
    app = create_app(runtime=runtime)
    with serve(app) as url:
        yield url, runtime, app
    runtime.close()


@pytest.fixture(name="shop")
def live_shop_fixture(live):
    """A fresh shop in the live console's database (replaces the conftest's per-backend one)."""
    _url, runtime, app = live
    return make_shop(runtime, app)


@pytest.fixture(name="tee")
def live_tee_fixture(live, shop):
    """A T-shirt with stock to spare in the live console's shop."""
    return make_product(live[1], shop, name="纯棉T恤", stock=100, price=5900)


@pytest.fixture(name="staff")
def staff_api_fixture(live, shop):
    """The shop's staff over the HTTP API of the live server (for tests with no console page)."""
    with httpx.Client(base_url=live[0], headers={"Authorization": f"Bearer {shop.token}"}) as client:
        yield client


def open_console(browser, live, shop, *, viewport=None):
    """A fresh browser context signed in through the login form."""
    context = browser.new_context(locale="zh-CN", viewport=viewport or {"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live[0] + "/orders")
    assert "/login" in page.url
    page.fill("input[name=username]", shop.owner_username)
    page.fill("input[name=password]", OWNER_PASSWORD)
    page.click("form[action='/login'] button")
    page.wait_for_url(re.compile(r"/orders$"))
    return page


def customer_phone(browser, live, device: Device):
    """The customer's phone (390×844, touch) carrying the visitor cookie of ``device``
    (tests/support/chat.py), so it reads that customer's orders on the shop pages."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    cookie = device.http.cookies.get("sl_visitor")
    host = urlparse(live[0]).hostname
    context.add_cookies(
        [{"name": "sl_visitor", "value": cookie, "domain": host, "path": f"/s/{device.slug}"}]
    )
    return context.new_page()


def fits(page) -> None:
    """The page fits the phone's width: nothing scrolls sideways."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width}px)"


def sign_in_member_on_phone(browser, live, username: str, *, lands_on: str = r"/orders$"):
    """A fresh phone context (touch, zh-CN) of the member ``username`` (password ``MEMBER_PASSWORD``)
    signed in through the login form, once the page the console opens matches ``lands_on``."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(live[0] + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", MEMBER_PASSWORD)
    page.click("form[action='/login'] button")
    page.wait_for_url(re.compile(lands_on))
    return page


@pytest.fixture(name="worker")
def live_worker_fixture(live, monkeypatch):
    """The job worker on the live server's runtime, woken by its commits, as `shangliao serve` runs
    it (its timer off: the tests that mean to sweep run the sweeps themselves)."""
    from shangliao.jobs import periodic
    from shangliao.jobs.worker import Worker

    monkeypatch.setattr(periodic, "TASKS", {})
    runtime = live[1]
    running = Worker(runtime, poll_seconds=0.5)
    stop_waking = runtime.bus.subscribe(running.on_event)
    running.start()
    yield running
    stop_waking()
    running.stop()
