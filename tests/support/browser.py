"""Chromium driven by Playwright against a live console on its own SQLite data folder.

Debian's Chromium is used (Playwright's own browser download does not work everywhere); set
``SHANGLIAO_CHROMIUM`` to use another binary. Without Playwright or Chromium the browser tests
skip, or fail when ``SHANGLIAO_TEST_REQUIRE`` contains ``browser`` (CI).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.backends import unavailable

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    configured = os.environ.get("SHANGLIAO_CHROMIUM")
    if configured:
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


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
