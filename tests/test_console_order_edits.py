"""Changing an order in the console: address until shipping, items until confirming, 改价 until paid."""

from __future__ import annotations

import pytest

from tests.support.catalog import make_product
from tests.support.orders import act, make_order, variant_stock
from tests.test_console import HTMX

NEW_ADDRESS = {
    "receiver": "王五",
    "phone": "13700001111",
    "province_code": "110000",
    "city_code": "110100",
    "district_code": "110105",
    "detail": "建国路88号",
}


@pytest.fixture
def tee(runtime, shop):
    return make_product(runtime, shop, name="纯棉T恤", stock=20, price=5900)


def test_the_detail_page_offers_only_the_edits_still_allowed(console, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    page = console.get(f"/orders/{order['id']}").text
    for dialog in ("address-dialog", "items-dialog", "price-dialog"):
        assert f'data-open="{dialog}"' in page
    act(shop, order, "confirm")
    page = console.get(f"/orders/{order['id']}").text
    assert 'data-open="address-dialog"' in page and 'data-open="items-dialog"' not in page
    # The address form comes filled in, regions picked by their codes.
    assert 'value="330106" selected' in page


def test_address_change_is_recorded_and_refused_after_shipping(console, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    r = console.post(f"/orders/{order['id']}/edit/address", data={**NEW_ADDRESS, "version": 1}, headers=HTMX)
    # (the street masked on the page until 显示; the API token below reads it whole)
    assert r.status_code == 200 and "北京市" in r.text and "朝阳区" in r.text and "建国路88号" not in r.text
    events = shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()
    changed = [e for e in events if e["kind"] == "address_changed"]
    assert changed and changed[0]["data"]["new"]["receiver"] == "王五"
    current = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    act(shop, current, "confirm")
    act(shop, current, "ship", carrier_code="SF", tracking_number="SF1234567890")
    r = console.post(f"/orders/{order['id']}/edit/address", data=NEW_ADDRESS, headers=HTMX)
    assert r.status_code == 409 and "已发货" in r.text


def test_items_change_moves_the_reservation(console, shop, tee):
    order = make_order(shop, [(tee.variant_id, 2)])
    item_id = order["items"][0]["id"]
    r = console.post(f"/orders/{order['id']}/edit/items", data={f"qty_{item_id}": "5"}, headers=HTMX)
    assert r.status_code == 200
    assert variant_stock(shop, tee.product_id, tee.variant_id)["reserved"] == 5
    after = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    assert after["items_total"] == 5 * 5900
    item_id = after["items"][0]["id"]  # replacing the items gives them new ids
    r = console.post(f"/orders/{order['id']}/edit/items", data={f"qty_{item_id}": "0"}, headers=HTMX)
    assert r.status_code == 422 and "请至少添加一件商品" in r.text
    r = console.post(f"/orders/{order['id']}/edit/items", data={f"qty_{item_id}": "99"}, headers=HTMX)
    assert r.status_code == 409 and variant_stock(shop, tee.product_id, tee.variant_id)["reserved"] == 5


def test_price_change_before_payment_only(console, shop, tee):
    order = make_order(shop, [(tee.variant_id, 2)])
    item_id = order["items"][0]["id"]
    r = console.post(
        f"/orders/{order['id']}/edit/price",
        data={f"price_{item_id}": "49.90", "shipping_fee": "8", "discount": "", "reason": "老客户优惠"},
        headers=HTMX,
    )
    assert r.status_code == 200
    after = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    assert after["items"][0]["unit_price"] == 4990 and after["total"] == 2 * 4990 + 800
    shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "cash", "amount": 100})
    r = console.post(f"/orders/{order['id']}/edit/price", data={"discount": "1"}, headers=HTMX)
    assert r.status_code == 409 and "付款" in r.text


def test_assign_and_tag_one_order(console, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    r = console.post(f"/orders/{order['id']}/assign", data={"assignee_id": shop.owner_id}, headers=HTMX)
    assert r.status_code == 200 and f'value="{shop.owner_id}" selected' in r.text
    r = console.post(f"/orders/{order['id']}/tags", data={"add": "加急"}, headers=HTMX)
    assert r.status_code == 200 and "加急" in r.text
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["tags"] == ["加急"]
    console.post(f"/orders/{order['id']}/tags", data={"remove": "加急"}, headers=HTMX)
    after = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    assert after["tags"] == [] and after["assignee_id"] == shop.owner_id
    assert console.post(f"/orders/{order['id']}/tags", data={"add": " "}, headers=HTMX).status_code == 422


def test_digits_that_are_not_ascii_are_refused_not_a_crash(console, shop, tee):
    # given a pending order of two shirts
    order = make_order(shop, [(tee.variant_id, 2)])
    item_id = order["items"][0]["id"]
    crafted = [
        ({"variant_id": "²", "quantity": "1"}, "商品"),
        ({"variant_id": tee.variant_id, "quantity": "²"}, "整数"),
        ({f"qty_{item_id}": "³"}, "整数"),
    ]
    for data in ("/edit/items", "/edit/items/quote"):
        for form, message in crafted:
            # when a crafted form posts digits Python reads as digits but int() does not
            r = console.post(f"/orders/{order['id']}/{data.lstrip('/')}", data=form, headers=HTMX)
            # then the edit is refused in words (in place of the total, for the running total)
            assert r.status_code in (200, 422) and message in r.text, (data, form, r.status_code, r.text)
    # and a 改价 field or a version in such digits is not ours: ignored, not a crash
    r = console.post(
        f"/orders/{order['id']}/edit/price",
        data={"price_²": "1", "version": "¹", "shipping_fee": "5"},
        headers=HTMX,
    )
    assert r.status_code == 200, r.text
    after = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    # and the lines are as they were
    assert [(i["variant_id"], i["quantity"], i["unit_price"]) for i in after["items"]] == [
        (tee.variant_id, 2, 5900)
    ]
    assert after["shipping_fee"] == 500
