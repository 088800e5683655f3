"""Creating an order by hand in the console: customer, address, products, refusals."""

from __future__ import annotations

import re

import pytest

from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.test_console import HTMX

HANGZHOU = {"province_code": "330000", "city_code": "330100", "district_code": "330106"}


@pytest.fixture
def tee(runtime, shop):
    return make_product(runtime, shop, name="纯棉T恤", stock=5, price=5900)


def placed(response) -> int:
    """The id of the order a successful form created (HTMX is sent to its page)."""
    assert response.status_code == 204, response.text
    return int(response.headers["HX-Redirect"].rsplit("/", 1)[1])


def test_an_order_for_a_new_address_typed_with_the_region_pickers(console, shop, tee):
    r = console.post(
        "/orders/new",
        data={
            "receiver": "李雷",
            "phone": "13900001234",
            **HANGZHOU,
            "detail": "文三路100号",
            "variant_id": [str(tee.variant_id)],
            "quantity": ["2"],
            "shipping_fee": "10",
            "discount": "5.5",
            "remark": "周末送",
        },
        headers=HTMX,
    )
    order_id = placed(r)
    order = shop.api.get(f"/api/v1/orders/{order_id}").json()
    assert order["status"] == "pending" and order["channel"] == "manual"
    assert order["address"] == {
        "receiver": "李雷",
        "phone": "13900001234",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路100号",
    }
    assert order["total"] == 2 * 5900 + 1000 - 550 and order["remark"] == "周末送"


def test_an_order_for_a_returning_customer_uses_their_address(console, shop, runtime, tee):
    customer_id, address_id = make_customer(runtime, shop, name="韩梅梅", phone="13700007777")
    found = console.post("/orders/new/customers", data={"cq": "7777"}, headers=HTMX).text
    assert "韩梅梅" in found and f"/orders/new/customers/{customer_id}" in found
    panel = console.get(f"/orders/new/customers/{customer_id}", headers=HTMX).text
    # the saved address is picked by id, shown masked (customers/masking.py)
    assert f'value="{address_id}"' in panel and "137****7777" in panel and "科技园南路" not in panel
    r = console.post(
        "/orders/new",
        data={
            "customer_id": customer_id,
            "address_id": address_id,
            "variant_id": tee.variant_id,
            "quantity": 1,
        },
        headers=HTMX,
    )
    order = shop.api.get(f"/api/v1/orders/{placed(r)}").json()
    assert order["customer_id"] == customer_id and order["address"]["city"] == "深圳市"


def test_products_are_found_with_their_stock(console, tee):
    html = console.post("/orders/new/products", data={"pq": "T恤"}, headers=HTMX).text
    assert f'data-variant="{tee.variant_id}"' in html and "库存 5" in html


def test_refusals_change_nothing(console, shop, tee):
    before = shop.api.get("/api/v1/orders", params={"status": "pending"}).json()["items"]
    cases = [
        ({"receiver": "李雷", "phone": "13900001234", **HANGZHOU, "detail": "x"}, "请至少添加一件商品"),
        ({"receiver": "李雷", "phone": "123", **HANGZHOU, "detail": "x", "variant_id": tee.variant_id,
          "quantity": 1}, "不是有效的中国大陆手机号"),
        ({"receiver": "李雷", "phone": "13900001234", **HANGZHOU, "detail": "x", "variant_id": tee.variant_id,
          "quantity": 6}, "库存不足"),
        ({"receiver": "李雷", "phone": "13900001234", **HANGZHOU, "detail": "x", "variant_id": tee.variant_id,
          "quantity": 1, "discount": "一百"}, "金额以元为单位"),
    ]  # fmt: skip
    for data, message in cases:
        r = console.post("/orders/new", data=data, headers=HTMX)
        assert r.status_code in (409, 422) and message in r.text, (data, r.text)
        assert r.headers["HX-Retarget"] == "#toast"
    assert shop.api.get("/api/v1/orders", params={"status": "pending"}).json()["items"] == before


def test_a_blocked_customer_cannot_order(console, shop, runtime, tee):
    customer_id, address_id = make_customer(runtime, shop, name="黑名单", phone="13600006666")
    assert shop.api.patch(f"/api/v1/customers/{customer_id}", json={"blocked": True}).status_code == 200
    found = console.post("/orders/new/customers", data={"cq": "黑名单"}, headers=HTMX).text
    assert re.search(r"disabled>黑名单<", found)
    r = console.post(
        "/orders/new",
        data={
            "customer_id": customer_id,
            "address_id": address_id,
            "variant_id": tee.variant_id,
            "quantity": 1,
        },
        headers=HTMX,
    )
    assert r.status_code in (403, 409, 422) and "HX-Redirect" not in r.headers
