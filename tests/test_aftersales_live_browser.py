"""The shop's side of 售后 follows the request live, as the customer's side does: the order page's
售后 panel and the request's card in the inbox redraw on the ``order.aftersale`` socket frames
when the request changes elsewhere (the customer withdraws, a colleague decides on the API)."""

from __future__ import annotations

from tests.support.aftersales import shipped_order
from tests.support.browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PHONE,
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    open_console,
    staff_api_fixture,
)
from tests.support.chat import Device


def ask_return(device: Device, order: dict) -> dict:
    line = order["items"][0]
    r = device.http.post(
        f"/s/{device.slug}/api/orders/{order['id']}/aftersales",
        json={
            "kind": "return_refund",
            "reason": "quality",
            "lines": [{"order_item_id": line["id"], "quantity": 1}],
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_the_order_pages_panel_redraws_when_a_colleague_decides(browser, live, shop, tee, staff):
    # given a customer's return request, open on the order page at phone size
    device = Device(live[0], shop.slug, "林小雨", "13900006666")
    order = shipped_order(staff, tee, device)
    asked = ask_return(device, order)
    page = open_console(browser, live, shop, viewport=PHONE)
    page.goto(f"{live[0]}/orders/{order['id']}")
    page.wait_for_selector(
        f"#order-aftersales .aftersale[data-aftersale='{asked['id']}'][data-status=requested]"
    )
    # when a colleague approves it through the API
    r = staff.post(f"/api/v1/aftersales/{asked['id']}/approve", json={"message": "请寄回"})
    assert r.status_code == 200, r.text
    # then the panel shows it awaiting the return without a reload
    page.wait_for_selector(
        f"#order-aftersales .aftersale[data-aftersale='{asked['id']}'][data-status=awaiting_return]",
        timeout=10000,
    )
    assert "请寄回" in page.inner_text("#order-aftersales")
    # when the customer withdraws it from their side
    w = device.http.post(f"/s/{device.slug}/api/aftersales/{asked['id']}/withdraw", json={})
    assert w.status_code == 200, w.text
    # then the panel follows again
    page.wait_for_selector(
        f"#order-aftersales .aftersale[data-aftersale='{asked['id']}'][data-status=withdrawn]", timeout=10000
    )


def test_the_inbox_card_redraws_when_the_request_changes(browser, live, shop, tee, staff):
    # given a customer's return request, its card shown in the inbox's open conversation
    device = Device(live[0], shop.slug, "林小雨", "13900007777")
    order = shipped_order(staff, tee, device)
    asked = ask_return(device, order)
    page = open_console(browser, live, shop, viewport=DESKTOP)
    page.goto(f"{live[0]}/inbox/{device.conversation_id}")
    card = f".card-aftersale[data-aftersale-id='{asked['id']}']"
    page.wait_for_selector(f"{card}[data-status=requested]")
    before = page.inner_text(card)
    # when a colleague approves it through the API
    r = staff.post(f"/api/v1/aftersales/{asked['id']}/approve", json={})
    assert r.status_code == 200, r.text
    # then the card reads the new state without a reload
    page.wait_for_selector(f"{card}[data-status=awaiting_return]", timeout=10000)
    assert page.inner_text(card) != before
