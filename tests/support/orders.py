"""Orders for tests, placed through the API so every test exercises the real path."""

from __future__ import annotations

from typing import Any

from tests.support.shops import ShopFixture

ADDRESS = {
    "receiver": "张三",
    "phone": "13812345678",
    "province": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "detail": "文三路100号",
}
# A real owner's address in a municipality (上海市 is province and city), saved by staff.
OWNER_ADDRESS = {
    "receiver": "李真",
    "phone": "13600005555",
    "province": "上海市",
    "city": "上海市",
    "district": "徐汇区",
    "detail": "漕溪北路88号",
}


def make_order(
    shop: ShopFixture, lines: list[tuple[int, int]], *, address: dict | None = ADDRESS, **fields: Any
) -> dict:
    """Place an order of ``(variant_id, quantity)`` lines; fails the test if it is refused."""
    body: dict[str, Any] = {"items": [{"variant_id": v, "quantity": q} for v, q in lines], **fields}
    if address is not None and "address_id" not in fields:
        body.setdefault("address", address)
    r = shop.api.post("/api/v1/orders", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def act(shop: ShopFixture, order: dict, action: str, **params: Any) -> dict:
    r = shop.api.post(f"/api/v1/orders/{order['id']}/{action}", json=params)
    assert r.status_code == 200, r.text
    return r.json()


def variant_stock(shop: ShopFixture, product_id: int, variant_id: int) -> dict:
    r = shop.api.get(f"/api/v1/products/{product_id}")
    assert r.status_code == 200, r.text
    return next(v for v in r.json()["variants"] if v["id"] == variant_id)
