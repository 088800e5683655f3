"""Screenshots of the main pages for the README: zh_CN, a 1366 px desktop and a 390 px phone.

Starts ``shangliao demo`` on a temporary data folder (the demo shop takes about a minute to seed),
signs in as the demo owner, and saves ``docs/screenshots/<page>-<desktop|phone>.png``; then signs in
as the demo's night agent (an assigned-only role) for their notifications, and on a phone their
orders, phones masked. Chromium
comes from /usr/bin/chromium (or SHANGLIAO_CHROMIUM), driven by Playwright (the test extras). The
pages are Chinese: a Chinese font must be installed (``apt-get install fonts-noto-cjk``), or every
character would be an empty box; the tool refuses to start without one.

    .venv/bin/python tools/screenshots.py              # a fresh demo server, then the screenshots
    .venv/bin/python tools/screenshots.py --url http://127.0.0.1:8000   # an already running demo
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the Chromium launch options are shared with the browser tests
from tests.support.chromium import CHROMIUM_ARGS, chromium_path  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
DEMO_USER, DEMO_PASSWORD, DEMO_SLUG = "demo", "shangliao-demo", "demo"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1366, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
# The demo's night agent (shangliao/demo/team.py): an assigned-only custom role without
# customers.pii, given a few orders and a conversation; the demo's members share its password.
AGENT = f"{DEMO_USER}-xiaochen"
SEED_TIMEOUT = 600  # seconds: seeding the demo shop takes about a minute on a quiet machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def demo_server() -> Iterator[str]:
    """``shangliao demo`` on a throw-away data folder; yields its URL once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    folder = Path(tempfile.mkdtemp(prefix="shangliao-screenshots-"))
    env = {**os.environ, "SHANGLIAO_DATA_DIR": str(folder / "data"), "LANG": "C.UTF-8"}
    log = (folder / "demo.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "shangliao"), "demo", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(url, server, folder / "demo.log")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def wait_until_up(url: str, server: subprocess.Popen, log: Path) -> None:
    print("Seeding the demo shop and starting the server (about a minute)…", flush=True)
    deadline = time.monotonic() + SEED_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"shangliao demo stopped (exit {server.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(url + "/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    sys.exit(f"shangliao demo did not answer within {SEED_TIMEOUT} s:\n{log.read_text()}")


def first_link(page: Page, path: str, pattern: str, prefer: str = "") -> str:
    """Open ``path`` and return the first link whose href matches ``pattern`` (an id's page),
    the first one whose text holds ``prefer`` when there is one."""
    page.goto(path)
    links = page.eval_on_selector_all(
        "a[href]", "links => links.map(a => [a.getAttribute('href'), a.textContent])"
    )
    matching = [(href, text) for href, text in links if re.fullmatch(pattern, href)]
    if not matching:
        raise SystemExit(f"no link matching {pattern} on {path}")
    return next((href for href, text in matching if prefer and prefer in text), matching[0][0])


def pages_to_shoot(page: Page) -> dict[str, str]:
    """Page name -> path, with real ids from the demo shop."""
    order = first_link(page, "/orders", r"/orders/\d+")
    product = first_link(page, "/products", r"/products/\d+", prefer="T恤")  # options to choose
    customer = first_link(page, "/customers", r"/customers/\d+")
    chat = first_link(page, "/inbox", r"/inbox/\d+")
    product_id = product.rsplit("/", 1)[1]
    token = page.request.get(f"/api/v1/products/{product_id}").json()["share_token"]
    return {
        "orders": "/orders",
        "order": order,
        "new-order": "/orders/new",
        "inbox": chat,
        "products": "/products",
        "product": product,
        "customers": "/customers",
        "customer": customer,
        "quick-replies": "/replies",
        "team": "/team",
        "team-roles": "/team/roles",
        "audit": "/audit",
        "settings": "/settings",
        "payment-methods": "/settings/payments",
        "shipping-templates": "/settings/shipping",
        "payment-log": "/payments/notifications",
        "shop": f"/s/{DEMO_SLUG}",
        "share-link": f"/s/{DEMO_SLUG}/p/{token}",
    }


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button")
    page.wait_for_url(re.compile(r"/orders$"))


def shoot_agent(browser, url: str, options: dict, size: str) -> list[Path]:
    """What the night agent sees: their notifications, and on a phone their orders, masked."""
    context = browser.new_context(base_url=url, locale="zh-CN", **options)
    page = context.new_page()
    sign_in(page, AGENT, DEMO_PASSWORD)
    saved = []
    if size == "phone":
        saved.append(save(page, "agent-orders", size))
        page.goto(first_link(page, "/orders", r"/orders/\d+"))
        saved.append(save(page, "agent-order", size))
    page.goto("/notifications")
    saved.append(save(page, "notifications", size))
    context.close()
    return saved


def has_chinese_font() -> bool:
    """Whether fontconfig (which Chromium asks) knows a font with Chinese glyphs."""
    try:
        found = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return False
    return bool(found.stdout.strip())


def shoot(url: str) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    saved = []
    chromium = chromium_path() or "/usr/bin/chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        for size, options in VIEWPORTS.items():
            context = browser.new_context(base_url=url, locale="zh-CN", **options)
            page = context.new_page()
            page.goto("/login")
            saved.append(save(page, "login", size))
            sign_in(page, DEMO_USER, DEMO_PASSWORD)
            for name, path in pages_to_shoot(page).items():
                page.goto(path)
                saved.append(save(page, name, size))
            context.close()
            saved.extend(shoot_agent(browser, url, options, size))
        # Last: the customer who writes in becomes the newest conversation, which the inbox shots
        # would otherwise show instead of a demo chat with orders.
        for size, options in VIEWPORTS.items():
            saved.append(shoot_customer_chat(browser, url, options, size))
        browser.close()
    return saved


def shoot_customer_chat(browser, url: str, options: dict, size: str) -> Path:
    """The shop link once a customer has introduced themselves (a new customer of the demo shop)."""
    context = browser.new_context(base_url=url, locale="zh-CN", **options)
    origin = {"Origin": url}
    context.request.post(
        f"/s/{DEMO_SLUG}/api/visitor", data={"name": "小美", "phone": "13600001234"}, headers=origin
    )
    context.request.post(f"/s/{DEMO_SLUG}/api/messages", data={"body": "这件T恤还有M码吗？"}, headers=origin)
    page = context.new_page()
    page.goto(f"/s/{DEMO_SLUG}")
    path = save(page, "shop-chat", size)
    context.close()
    return path


def save(page: Page, name: str, size: str) -> Path:
    page.wait_for_load_state("networkidle")
    path = OUT / f"{name}-{size}.png"
    page.screenshot(path=path)
    print(f"  {path.relative_to(ROOT)}", flush=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="an already running `shangliao demo` (default: start one)")
    args = parser.parse_args()
    if not has_chinese_font():
        sys.exit("No Chinese font: the screenshots would show empty boxes (apt-get install fonts-noto-cjk).")
    if args.url:
        saved = shoot(args.url.rstrip("/"))
    else:
        with demo_server() as url:
            saved = shoot(url)
    print(f"Saved {len(saved)} screenshots in {OUT.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
