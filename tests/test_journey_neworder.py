"""The new order page's product picker and running total, and 修改商品 adding and removing lines."""

from __future__ import annotations

import re

import pytest

from tests.support.catalog import make_product
from tests.support.orders import ADDRESS, act, make_order, variant_stock
from tests.test_console import HTMX

HANGZHOU = {"province_code": "330000", "city_code": "330100", "district_code": "330106"}
NEW_ADDRESS = {"receiver": "李雷", "phone": "13900001234", **HANGZHOU, "detail": "文三路100号"}


@pytest.fixture
def tee(runtime, shop):
    """A T-shirt in three variants: 红色/L, 蓝色/L, 红色/XL."""
    return make_product(
        runtime,
        shop,
        name="纯棉T恤",
        options=["颜色", "尺码"],
        variants=[
            {"spec": {"颜色": "红色", "尺码": "L"}, "price": 5900},
            {"spec": {"颜色": "蓝色", "尺码": "L"}, "price": 5900},
            {"spec": {"颜色": "红色", "尺码": "XL"}, "price": 6900},
        ],
        stock=10,
    )


@pytest.fixture
def mug(runtime, shop):
    return make_product(runtime, shop, name="马克杯", stock=10, price=2500)


def picked(console, q: str) -> list[int]:
    """The variant ids the picker lists for ``q``, in the order shown."""
    html = console.post("/orders/new/products", data={"pq": q}, headers=HTMX).text
    return [int(v) for v in re.findall(r'data-add-line data-variant="(\d+)"', html)]


def totals(console, data: dict) -> dict[str, str]:
    html = console.post("/orders/new/quote", data=data, headers=HTMX).text
    return dict(re.findall(r'data-amount="(\w+)">([^<]*)<', html)) or {"refusal": html}


def test_an_exact_sku_is_listed_first(console, runtime, shop):
    # given an older product whose SKU is exactly what is typed, and a newer one whose SKU only
    # contains it (newest products come first otherwise)
    exact = make_product(runtime, shop, name="旧款帆布包", variants=[{"sku": "BAG-100"}])
    longer = make_product(runtime, shop, name="新款帆布包", variants=[{"sku": "BAG-1001"}])
    # when the SKU is typed, in any case
    # then the exact variant is first, the other still listed
    assert picked(console, "bag-100") == [exact.variant_id, longer.variant_id]
    assert picked(console, "BAG-1001") == [longer.variant_id]


def test_option_values_find_the_variants(console, tee, mug):
    red_l, _blue_l, red_xl = tee.variant_ids
    # when a colour is typed, only that colour's variants are listed
    assert picked(console, "红色") == [red_l, red_xl]
    # words combine: product and option, two options
    assert picked(console, "T恤 XL") == [red_xl]
    assert picked(console, "红色 L") == [red_l, red_xl]  # "L" is in "XL" too
    assert picked(console, "蓝色 XL") == []
    # an option's name is not a value: it finds nothing on its own
    assert picked(console, "尺码") == []
    # a product's name still lists all of its variants
    assert sorted(picked(console, "纯棉")) == sorted(tee.variant_ids)


def test_option_values_find_only_variants_on_sale(console, runtime, shop):
    product = make_product(
        runtime,
        shop,
        name="围巾",
        options=["颜色"],
        variants=[{"spec": {"颜色": "红色"}}, {"spec": {"颜色": "酒红色"}, "active": False}],
    )
    assert picked(console, "红色") == [product.variant_ids[0]]
    assert picked(console, "酒红") == []


def test_the_running_total_is_what_the_order_charges(console, shop, tee, mug):
    # given two lines, a shipping fee and a discount, as the form posts them
    lines = {"variant_id": [tee.variant_ids[2], mug.variant_id], "quantity": ["2", "3"]}
    form = {**lines, "shipping_fee": "8", "discount": "5.5"}
    # when the page asks for the total
    shown = totals(console, form)
    # then it reads items, shipping, discount and the total to pay
    assert shown == {
        "items_total": "¥213.00",
        "shipping_fee": "¥8.00",
        "discount": "-¥5.50",
        "total": "¥215.50",
    }
    # and placing the order charges exactly that
    r = console.post("/orders/new", data={**form, **NEW_ADDRESS}, headers=HTMX)
    order_id = int(r.headers["HX-Redirect"].rsplit("/", 1)[1])
    order = shop.api.get(f"/api/v1/orders/{order_id}").json()
    assert (order["items_total"], order["total"]) == (21300, 21550)


def test_the_running_total_explains_a_refusal(console, tee, other_shop, runtime):
    one = {"variant_id": tee.variant_id, "quantity": "1"}
    assert "添加商品后" in totals(console, {})["refusal"]
    assert "优惠" in totals(console, {**one, "discount": "100"})["refusal"]
    assert "金额以元为单位" in totals(console, {**one, "shipping_fee": "八块"})["refusal"]
    theirs = make_product(runtime, other_shop, name="别家商品")
    refusal = totals(console, {"variant_id": theirs.variant_id, "quantity": "1"})["refusal"]
    assert "不存在" in refusal and "别家商品" not in refusal


def items_of(shop, order_id: int) -> list[tuple[int, int, int]]:
    order = shop.api.get(f"/api/v1/orders/{order_id}").json()
    return [(i["variant_id"], i["quantity"], i["unit_price"]) for i in order["items"]]


def test_change_items_adds_and_removes_lines(console, shop, tee, mug):
    red_l, _blue_l, red_xl = tee.variant_ids
    # given a pending order of two red L shirts at a negotiated price, and one mug
    order = shop.api.post(
        "/api/v1/orders",
        json={
            "items": [
                {"variant_id": red_l, "quantity": 2, "unit_price": 5000},
                {"variant_id": mug.variant_id, "quantity": 1},
            ],
            "address": ADDRESS,
        },
    )
    assert order.status_code == 201, order.text
    order = order.json()
    _shirt_item, mug_item = order["items"]
    edit = {f"qty_{mug_item['id']}": "0", "variant_id": red_xl, "quantity": "1", "version": order["version"]}
    # the dialog's running total prices the edit before it is saved: the shirts keep their price
    shown = console.post(f"/orders/{order['id']}/edit/items/quote", data=edit, headers=HTMX).text
    assert re.search(r'data-amount="total">¥169.00<', shown), shown
    # when 修改商品 removes the mug and adds one red XL
    r = console.post(f"/orders/{order['id']}/edit/items", data=edit, headers=HTMX)
    # then the order has the shirt at its negotiated price and the XL at the catalog price
    assert r.status_code == 200, r.text
    assert items_of(shop, order["id"]) == [(red_l, 2, 5000), (red_xl, 1, 6900)]
    after = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    assert after["total"] == 2 * 5000 + 6900
    # the reservations follow
    assert variant_stock(shop, mug.product_id, mug.variant_id)["reserved"] == 0
    assert variant_stock(shop, tee.product_id, red_xl)["reserved"] == 1
    # and the timeline says what changed
    changed = [
        e
        for e in shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()
        if e["kind"] == "items_changed"
    ]
    assert [(i["sku"], i["quantity"]) for i in changed[-1]["data"]["new"]] == [
        (tee.skus[0], 2),
        (tee.skus[2], 1),
    ]
    assert mug_item["sku"] in [i["sku"] for i in changed[-1]["data"]["old"]]
    # when 修改商品 adds shirts the order has at a 改价 price, and another XL at the catalog one
    more = {"variant_id": [red_l, red_xl], "quantity": ["3", "1"]}
    shown = console.post(f"/orders/{order['id']}/edit/items/quote", data=more, headers=HTMX).text
    r = console.post(f"/orders/{order['id']}/edit/items", data=more, headers=HTMX)
    # then the added shirts take the catalog price, as the dialog says, on a line of their own;
    # the XL joins its line, which is at the catalog price already
    assert r.status_code == 200, r.text
    assert items_of(shop, order["id"]) == [(red_l, 2, 5000), (red_xl, 2, 6900), (red_l, 3, 5900)]
    assert re.search(r'data-amount="total">¥415.00<', shown), shown
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["total"] == 2 * 5000 + 2 * 6900 + 3 * 5900
    assert variant_stock(shop, tee.product_id, red_l)["reserved"] == 5


def test_added_lines_follow_the_edit_rules(console, runtime, shop, other_shop, tee, mug):
    red_l = tee.variant_ids[0]
    order = make_order(shop, [(red_l, 1)])
    url = f"/orders/{order['id']}/edit/items"
    before = items_of(shop, order["id"])
    theirs = make_product(runtime, other_shop, name="别家商品")
    withdrawn = make_product(runtime, shop, name="停售商品", active=False)
    refusals = [
        ({"variant_id": theirs.variant_id, "quantity": "1"}, 404, "不存在"),
        ({"variant_id": withdrawn.variant_id, "quantity": "1"}, 409, "已下架"),
        ({"variant_id": mug.variant_id, "quantity": "11"}, 409, "库存不足"),
        ({"variant_id": mug.variant_id, "quantity": "两"}, 422, "整数"),
    ]
    for data, status, message in refusals:
        r = console.post(url, data=data, headers=HTMX)
        assert r.status_code == status and message in r.text, (data, r.status_code, r.text)
    # nothing changed: the lines, the reservations
    assert items_of(shop, order["id"]) == before
    assert variant_stock(shop, mug.product_id, mug.variant_id)["reserved"] == 0
    # once confirmed, items no longer change, added or not
    act(shop, order, "confirm")
    r = console.post(url, data={"variant_id": mug.variant_id, "quantity": "1"}, headers=HTMX)
    assert r.status_code == 409 and "确认" in r.text
    assert items_of(shop, order["id"]) == before
    assert 'data-open="items-dialog"' not in console.get(f"/orders/{order['id']}").text


def test_the_edit_total_is_only_for_the_shops_own_orders(console, shop, other_shop, runtime, tee):
    mine = make_order(shop, [(tee.variant_id, 1)])
    theirs = make_order(other_shop, [(make_product(runtime, other_shop).variant_id, 1)])
    one_more = {"variant_id": tee.variant_id, "quantity": "1"}
    # one more of a product the order has: its line, 2 × ¥59
    r = console.post(f"/orders/{mine['id']}/edit/items/quote", data=one_more, headers=HTMX)
    assert r.status_code == 200 and re.search(r'data-amount="total">¥118.00<', r.text), r.text
    r = console.post(f"/orders/{theirs['id']}/edit/items/quote", data=one_more, headers=HTMX)
    assert r.status_code == 404


def test_products_are_found_by_an_option_value(shop, tee, mug):
    # the chat composer's product picker lists products through the products API
    found = shop.api.get("/api/v1/products", params={"q": "红色", "active": "true"}).json()["items"]
    assert [p["id"] for p in found] == [tee.product_id]
    assert shop.api.get("/api/v1/products", params={"q": "绿色"}).json()["items"] == []
