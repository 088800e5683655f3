"""Nothing slips by, in Chromium: the merchant has the console open on a desktop while a customer
orders from a product link on their phone; without a reload the 订单 and 聊天 badges rise, and the
inbox shows the conversation unread with the order card written by the customer."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest

from tests.support.browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    open_console,
)
from tests.support.catalog import make_product
from tests.support.chat_pages import WAIT, expect, phone_context
from tests.support.orders import ADDRESS


@dataclass(frozen=True)
class Link:
    url: str
    token: str
    variant_id: int


@pytest.fixture
def share_link(live, shop) -> Link:
    product = make_product(live[1], shop, name="纯棉T恤", options=["颜色"], price=5900, stock=5)
    with httpx.Client(base_url=live[0], headers={"Authorization": f"Bearer {shop.token}"}) as staff:
        token = staff.get(f"/api/v1/products/{product.product_id}").json()["share_token"]
    return Link(f"{live[0]}/s/{shop.slug}/p/{token}", token, product.variant_id)


def place_order(customer, shop, link: Link) -> int:
    """The product page's order, sent from the phone's page with its own cookie. The form that
    sends it is driven in test_shop_browser.py; what matters here is the merchant's side."""
    body = {"token": link.token, "variant_id": link.variant_id, "quantity": 1, "address": ADDRESS}
    status, placed = customer.evaluate(
        """async ([url, body]) => {
            const r = await fetch(url, {
                method: "POST", credentials: "same-origin",
                headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
            });
            return [r.status, await r.json()];
        }""",
        [f"/s/{shop.slug}/api/orders", {**body, "name": "小红", "phone": "13700001234"}],
    )
    assert status == 201, placed
    return placed["order"]["id"]


def alerts_ready(page) -> None:
    """The badges hold the server's counts (alerts.js read them when the page loaded)."""
    page.wait_for_function("() => document.documentElement.dataset.alertsSeq !== undefined")


def test_a_product_link_order_raises_the_badges_on_an_open_console(browser, live, shop, share_link, tmp_path):
    # given the merchant's console open on the order list, nothing waiting
    console = open_console(browser, live, shop, viewport=DESKTOP)
    alerts_ready(console)
    orders_badge, chats_badge = console.locator("#nav-orders"), console.locator("#nav-chats")
    expect()(orders_badge).to_have_text("")
    expect()(chats_badge).to_have_text("")
    console.evaluate("() => { window.stillThisPage = true; }")  # gone if the page reloads
    console.click("main h1")  # a browser plays sound only once the page has had a click

    # when a customer orders from the product link on their phone
    phone = phone_context(browser)
    customer = phone.new_page()
    customer.goto(share_link.url)
    order_id = place_order(customer, shop, share_link)

    # then, without a reload, the 订单 badge counts one pending order and 聊天 one unread conversation
    expect()(orders_badge).to_have_text("1", timeout=WAIT)
    expect()(chats_badge).to_have_text("1", timeout=WAIT)
    expect()(orders_badge).to_have_attribute("aria-label", "1 个待处理订单")
    assert console.evaluate("() => window.stillThisPage === true")
    # and the tone played once (the sound is on by default)
    expect()(console.locator("html")).to_have_attribute("data-alerts-chimed", "1")
    console.screenshot(path=str(tmp_path / "orders-desktop.png"))
    customer.screenshot(path=str(tmp_path / "customer-phone.png"))

    # and the inbox lists the conversation unread, its order card from the customer (not "我：")
    console.click("nav a[href='/inbox']")
    row = console.locator(".inbox-row.unread")
    expect()(row).to_have_count(1, timeout=WAIT)
    expect()(row.locator(".row-name")).to_have_text("小红")
    expect()(row.locator(".row-preview")).to_have_text(re.compile(r"^\[订单\]"))
    assert "我：" not in row.locator(".row-preview").inner_text()
    # the badges are on the inbox too, fed by the inbox's own socket: confirming the order clears one
    expect()(console.locator("#nav-orders")).to_have_text("1")
    with httpx.Client(base_url=live[0], headers={"Authorization": f"Bearer {shop.token}"}) as staff:
        assert staff.post(f"/api/v1/orders/{order_id}/confirm").status_code == 200
    expect()(console.locator("#nav-orders")).to_have_text("", timeout=WAIT)
    phone.close()


def test_the_sound_switch_is_remembered_by_the_browser(browser, live, shop):
    # given a console with the sound on (the default)
    console = open_console(browser, live, shop, viewport=DESKTOP)
    alerts_ready(console)
    switch = console.locator(".alerts-sound")
    expect()(switch).to_have_attribute("aria-pressed", "true")
    expect()(switch).to_have_text("提示音：开")

    # when the merchant turns it off and opens another page
    switch.click()
    expect()(switch).to_have_attribute("aria-pressed", "false")
    console.goto(live[0] + "/products")
    alerts_ready(console)

    # then it is still off, and no notification permission was asked for on load
    expect()(console.locator(".alerts-sound")).to_have_text("提示音：关")
    assert console.evaluate("() => Notification.permission") == "default"


# Notifications the page shows are recorded as they are made (the browser's own Notification,
# wrapped): a headless browser draws none.
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.notified = [];
  class Recorded extends Real {
    constructor(title, options) { super(title, options); window.notified.push([title, options.body]); }
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = () => Real.requestPermission();
  window.Notification = Recorded;
})();
"""


def test_a_notification_tells_of_a_new_order_while_the_merchant_is_in_another_tab(
    browser, live, shop, share_link
):
    # given a merchant who allowed notifications, the console open in one tab and another in front
    console = open_console(browser, live, shop, viewport=DESKTOP)
    console.context.grant_permissions(["notifications"], origin=live[0])
    console.context.add_init_script(RECORD_NOTIFICATIONS)
    console.reload()
    alerts_ready(console)
    expect()(console.locator(".alerts-notify")).to_be_hidden()  # already allowed: nothing to offer
    # (a headless browser keeps every tab visible and focused: the tab says it is behind another)
    console.evaluate(
        """() => {
            Object.defineProperty(document, "visibilityState", { get: () => "hidden" });
            document.hasFocus = () => false;
        }"""
    )

    # when a customer orders from the product link
    phone = phone_context(browser)
    customer = phone.new_page()
    customer.goto(share_link.url)
    place_order(customer, shop, share_link)

    # then the console's tab tells of the new order
    expect()(console.locator("#nav-orders")).to_have_text("1", timeout=WAIT)
    console.wait_for_function("() => window.notified.length > 0")
    title, body = console.evaluate("() => window.notified[0]")
    assert title == "新订单" and body.startswith("店铺页下单：")
    phone.close()
