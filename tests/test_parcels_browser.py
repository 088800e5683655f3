"""Split parcels end to end in Chromium: staff ship an order in two parcels from the order page on
a desktop, the customer confirms each parcel on their phone, and the order page follows live."""

from __future__ import annotations

from tests.support.browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PHONE,
    browser_fixture,
    customer_phone,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    open_console,
    staff_api_fixture,
)
from tests.support.catalog import make_product
from tests.support.chat import Device
from tests.support.orders import ADDRESS


def ship_from_dialog(desk, tracking: str, quantities: dict[int, int] | None = None) -> None:
    desk.click("button[data-open=ship-dialog]")
    for item_id, quantity in (quantities or {}).items():
        desk.fill(f"#ship-dialog input[name=ship_{item_id}]", str(quantity))
    desk.fill("#ship-dialog input[name=tracking_number]", tracking)
    desk.click("#ship-dialog button.primary")


def test_two_parcels_shipped_on_the_desktop_and_confirmed_on_the_phone(browser, live, shop, tee, staff):
    # given a customer's paid, confirmed order of 2 T-shirts and 1 cap
    cap = make_product(live[1], shop, name="棒球帽", stock=20, price=3900)
    device = Device(live[0], shop.slug, "王小满", "13900004444")
    r = staff.post(
        "/api/v1/orders",
        json={
            "items": [
                {"variant_id": tee.variant_id, "quantity": 2},
                {"variant_id": cap.variant_id, "quantity": 1},
            ],
            "customer_id": device.customer_id,
            "address": ADDRESS,
        },
    )
    assert r.status_code == 201, r.text
    order = r.json()
    staff.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "wechat", "amount": order["total"]})
    assert staff.post(f"/api/v1/orders/{order['id']}/confirm").status_code == 200
    shirts = next(i for i in order["items"] if i["variant_id"] == tee.variant_id)
    caps = next(i for i in order["items"] if i["variant_id"] == cap.variant_id)

    # when staff ship one T-shirt in a first parcel from the order page
    desk = open_console(browser, live, shop, viewport=DESKTOP)
    desk.goto(f"{live[0]}/orders/{order['id']}")
    ship_from_dialog(desk, "SF1111111111", {shirts["id"]: 1, caps["id"]: 0})

    # then the page lists the parcel and says the order is partly shipped, still confirmed
    desk.wait_for_selector("#order-parcels:has-text('部分发货')")
    assert "纯棉T恤 × 1" in desk.inner_text("#order-parcels")
    assert desk.get_attribute("#order-detail", "data-status") == "confirmed"

    # and on a phone the console's order page and its ship dialog fit the screen
    pocket = open_console(browser, live, shop, viewport=PHONE)
    pocket.goto(f"{live[0]}/orders/{order['id']}")
    pocket.click("button[data-open=ship-dialog]")
    pocket.wait_for_selector("#ship-dialog .parcel-pick")
    width = pocket.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the order page scrolls sideways on a phone ({width}px)"
    keep_screenshot(pocket, "parcels-ship-dialog", PHONE)
    pocket.context.close()

    # when they ship the rest, the dialog proposing exactly what is left
    desk.click("button[data-open=ship-dialog]")
    assert desk.input_value(f"#ship-dialog input[name=ship_{shirts['id']}]") == "1"
    assert desk.input_value(f"#ship-dialog input[name=ship_{caps['id']}]") == "1"
    desk.click("#ship-dialog button[data-close]")
    ship_from_dialog(desk, "SF2222222222")

    # then the order is shipped, in two parcels
    desk.wait_for_selector("#order-detail[data-status=shipped]")
    assert desk.locator("#order-parcels li.parcel").count() == 2
    keep_screenshot(desk, "parcels-shipped", DESKTOP)

    # when the customer opens the order on their phone
    phone = customer_phone(browser, live, device)
    phone.goto(f"{live[0]}/s/{shop.slug}/orders/{order['id']}")

    # then both parcels are listed with their numbers, and the page fits the phone
    phone.wait_for_selector("#parcels li.parcel >> nth=1")
    text = phone.inner_text("#parcels")
    assert "SF1111111111" in text and "SF2222222222" in text and "包裹 2" in text
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the order page scrolls sideways ({width}px)"
    keep_screenshot(phone, "parcels-customer", PHONE)

    # when they confirm the first parcel
    phone.click("#parcels li.parcel >> nth=0 >> button.parcel-receipt")
    phone.wait_for_selector("#parcels li.parcel[data-delivered=yes]")

    # then the staff's page shows it signed for by the customer, without a reload
    desk.wait_for_selector("#order-parcels:has-text('客户已确认收货')", timeout=15_000)

    # when they confirm the second, the order is completed on both sides
    phone.click("#parcels li.parcel[data-delivered=no] button.parcel-receipt")
    phone.wait_for_selector("h1.status[data-status=completed]")
    desk.wait_for_selector("#order-detail[data-status=completed]", timeout=15_000)
