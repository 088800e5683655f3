"""Steps on the chat's two pages in Chromium, shared by the browser tests: the customer's shop page
(on a phone) and the staff inbox. Fixtures live in tests/support/browser.py."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.support.browser import PHONE

WAIT = 10_000  # ms: how long a step may take to show (a wait, never an assertion on speed)


def expect():
    """Playwright's auto-waiting ``expect``, imported late: without Playwright the tests skip."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


# --- the customer's shop page -------------------------------------------------------------------


def phone_context(browser):
    """A fresh phone-sized browser context: one customer's device (its own visitor cookie)."""
    return browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)


@pytest.fixture(name="customer")
def customer_fixture(browser):
    """The customer's phone: its own browser context, so its own visitor cookie."""
    context = phone_context(browser)
    yield context.new_page()
    context.close()


def share_link(live, shop, product) -> str:
    """The product's share link on the live server, as staff would send it to a customer."""
    token = shop.api.get(f"/api/v1/products/{product.product_id}").json()["share_token"]
    return f"{live[0]}/s/{shop.slug}/p/{token}"


def wait_for_shop_socket(page) -> None:
    page.wait_for_function(
        "() => window.shopChat && window.shopChat.socket && window.shopChat.socket.readyState === 1"
    )


def introduce(page, live, shop, *, name: str = "小红", phone: str = "13700001234") -> None:
    """The customer opens the shop link, gives name and phone once, and the chat goes live."""
    page.goto(f"{live[0]}/s/{shop.slug}")
    page.fill("#intro input[name=name]", name)
    page.fill("#intro input[name=phone]", phone)
    page.click("#intro button[type=submit]")
    wait_for_shop_socket(page)


# --- the staff inbox ----------------------------------------------------------------------------


def open_chat(page, live, conversation_id: int) -> None:
    """From the inbox list, the staff member opens one conversation and waits for its live socket."""
    page.goto(live[0] + "/inbox")
    page.click(f"#row-{conversation_id} a")
    page.wait_for_url(re.compile(rf"/inbox/{conversation_id}$"))
    page.wait_for_selector("#inbox[data-connection=live]")


def ship_unpaid_from_panel(page, panel_order, tracking_number: str = "SF1234567890") -> None:
    """Ship the chat panel's order with SF; it is not marked paid, so the dialog asks for a tick."""
    panel_order.locator("[data-order-dialog=ship-dialog]").click()
    page.select_option("#ship-dialog select[name=carrier_code]", "SF")
    page.fill("#ship-dialog input[name=tracking_number]", tracking_number)
    page.check("#ship-dialog input[name=ship_unpaid]")
    page.click("#ship-dialog button.primary")


def bubble(page, text: str):
    """The inbox chat's messages holding ``text``."""
    return page.locator("#chat-list .msg", has_text=text)


# --- a dropped connection ---------------------------------------------------------------------------

SHOP_SOCKET = "window.shopChat.socket"  # the shop page's live socket (a JS expression)
INBOX_SOCKET = "window.shangliaoInbox.socket"  # the inbox's


def drop_connection(page, socket: str) -> None:
    """Cuts ``page`` off the server: its live ``socket`` closes, then the browser goes offline.

    In that order, the close awaited: once Chromium is offline it may swallow the server's answer to
    a close, and the socket then hangs in "closing" (the page neither sees the drop nor reconnects)
    until Chromium gives up on it. The pages wait at least 0.4 s before they reconnect: offline by
    then, so they keep failing until ``page.context.set_offline(False)``.
    """
    page.evaluate(
        f"""() => new Promise((closed) => {{
            const socket = {socket};
            socket.addEventListener("close", () => closed());
            socket.close();
        }})"""
    )
    page.context.set_offline(True)


# --- no reloads -----------------------------------------------------------------------------------


def mark_page(page) -> str:
    """Tags the loaded document; ``assert_not_reloaded`` then proves it is still the same one."""
    mark = uuid.uuid4().hex
    page.evaluate("(mark) => { window.__testMark = mark; }", mark)
    return mark


def assert_not_reloaded(page, mark: str) -> None:
    assert page.evaluate("window.__testMark") == mark, "the page was reloaded or left"


def fill_link_order(page, name: str = "小红", phone: str = "13700001234") -> None:
    """On a product link's page: go on to the address step and fill it, and who orders (not the
    receiver here, so the form's "I am the receiver" is unticked)."""
    page.click("#order-form button[data-step='1']")
    page.uncheck("#order-form input[name=for_me]")
    for field, value in {
        "receiver": "张三",
        "address_phone": "13812345678",
        "name": name,
        "phone": phone,
    }.items():
        page.fill(f"#order-form input[name={field}]", value)
    fill_link_address(page)


def fill_link_address(page) -> None:
    """On a product link's page: the address's region and street (receiver and mobile left as
    they are: a known device has them filled in already)."""
    form = page.locator("#order-form")
    if form.locator("select[name=province]").count():
        # The region picker: each list loads once the level above is picked.
        for level, name in (("province", "浙江省"), ("city", "杭州市"), ("district", "西湖区")):
            picker = form.locator(f"select[name={level}]")
            expect()(picker.locator("option", has_text=name)).to_have_count(1, timeout=WAIT)
            picker.select_option(label=name)
        page.fill("#order-form input[name=detail]", "文三路100号")
        return
    for field, value in {
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路100号",
    }.items():
        page.fill(f"#order-form input[name={field}]", value)
