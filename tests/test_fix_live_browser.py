"""In Chromium: a clerk who may read orders but not chats sees the 订单 badge rise live, without a
reload, when a customer orders; and a product card sent before its photo was deleted still shows
that photo in the inbox."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from tests.support.browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    open_console,
)
from tests.support.catalog import make_product
from tests.support.chat_pages import WAIT, expect, introduce, phone_context
from tests.support.orders import ADDRESS
from tests.test_journey_photos import png

PHONE = {"width": 390, "height": 844}


def _staff(live, shop) -> httpx.Client:
    return httpx.Client(base_url=live[0], headers={"Authorization": f"Bearer {shop.token}"})


def test_a_clerk_who_may_read_orders_but_not_chats_sees_the_order_badge_rise_live(
    browser, live, shop, tmp_path
):
    # given a clerk's console, signed in with a credential that may read orders and nothing of the chat
    product = make_product(live[1], shop, name="纯棉T恤", stock=5)
    with _staff(live, shop) as staff:
        clerk = staff.post("/api/v1/auth/tokens", json={"name": "clerk", "scopes": ["orders.read"]}).json()
    host = urlsplit(live[0]).hostname
    for viewport, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        context = browser.new_context(locale="zh-CN", viewport=viewport)
        context.add_cookies([{"name": "sl_session", "value": clerk["token"], "domain": host, "path": "/"}])
        page = context.new_page()
        page.goto(live[0] + "/orders")
        page.wait_for_function("() => document.documentElement.dataset.alertsSeq !== undefined")
        badge = page.locator("#nav-orders")
        before = int(badge.get_attribute("data-count") or 0)
        page.evaluate("() => { window.stillThisPage = true; }")  # gone if the page reloads

        # when an order is placed
        with _staff(live, shop) as staff:
            r = staff.post(
                "/api/v1/orders",
                json={"items": [{"variant_id": product.variant_id, "quantity": 1}], "address": ADDRESS},
            )
            assert r.status_code == 201, r.text

        # then the 订单 badge counts it without a reload, and the chat badge stays away
        expect()(badge).to_have_attribute("data-count", str(before + 1), timeout=WAIT)
        assert page.evaluate("() => window.stillThisPage === true")
        assert page.locator("#nav-chats").count() == 0 or page.locator("#nav-chats").inner_text() == ""
        page.screenshot(path=str(tmp_path / f"clerk-orders-{name}.png"))
        context.close()


def _loaded(page, selector: str) -> None:
    """The image is drawn (it loaded), not a broken-image box."""
    page.wait_for_function(
        "(s) => { const i = document.querySelector(s); return !!i && i.complete && i.naturalWidth > 0; }",
        arg=selector,
        timeout=WAIT,
    )


def test_a_product_card_shows_its_photo_on_both_sides_after_the_photo_is_deleted(
    browser, live, shop, tmp_path
):
    # given a customer on the shop page, a product card sent to them, and its photo then deleted
    product = make_product(live[1], shop, name="连衣裙")
    phone = phone_context(browser)
    device = phone.new_page()
    introduce(device, live, shop, name="李四", phone="13700003333")
    with _staff(live, shop) as staff:
        photo = staff.post(
            f"/api/v1/products/{product.product_id}/images",
            files={"file": ("a.png", png(240, 240, (0, 0, 200)))},
        ).json()
        conversation_id = staff.get("/api/v1/conversations").json()["items"][0]["id"]
        sent = staff.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"kind": "product_card", "product_id": product.product_id},
        )
        assert sent.status_code == 201, sent.text
        assert staff.delete(f"/api/v1/product-images/{photo['id']}").status_code == 204

    # when the merchant opens the conversation, and the customer opens the shop page again
    page = open_console(browser, live, shop, viewport=DESKTOP)
    page.goto(f"{live[0]}/inbox/{conversation_id}")
    device.goto(f"{live[0]}/s/{shop.slug}")

    # then both see the card with the photo it was sent with
    _loaded(page, ".card-product img.card-image")
    _loaded(device, ".product-card img")
    page.screenshot(path=str(tmp_path / "inbox-card-desktop.png"))
    device.screenshot(path=str(tmp_path / "shop-card-phone.png"))
    phone.close()
