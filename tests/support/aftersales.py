"""After-sales journeys for tests: a customer's device buys through a product link, the shop takes
the money and ships, and both sides act on requests through the same HTTP routes as the pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from shangliao.inventory.models import StockMovement
from tests.support.catalog import ProductIds, make_product
from tests.support.chat import guest_client
from tests.support.orders import ADDRESS, act, variant_stock
from tests.support.shops import ShopFixture

SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}
RETURN = {"carrier_code": "ZTO", "tracking_number": "ZT7788990011"}


def shipped_order(staff, tee, device, quantity: int = 1) -> dict:
    """On a live server (``staff``: its HTTP API, tests/support/browser.py): the customer of
    ``device`` (tests/support/chat.py) bought ``quantity`` of ``tee``, paid by WeChat in full, and
    the shop shipped it."""
    r = staff.post(
        "/api/v1/orders",
        json={
            "items": [{"variant_id": tee.variant_id, "quantity": quantity}],
            "customer_id": device.customer_id,
            "address": ADDRESS,
        },
    )
    assert r.status_code == 201, r.text
    order = r.json()
    paid = staff.post(
        f"/api/v1/orders/{order['id']}/payments", json={"method": "wechat", "amount": order["total"]}
    )
    assert paid.status_code == 201, paid.text
    assert staff.post(f"/api/v1/orders/{order['id']}/confirm").status_code == 200
    assert staff.post(f"/api/v1/orders/{order['id']}/ship", json=SHIP).status_code == 200
    return order


@dataclass
class Bought:
    """A customer's paid order (``lines`` as the order answered them) and the product it holds."""

    shop: ShopFixture
    guest: TestClient
    product: ProductIds
    order: dict

    @property
    def lines(self) -> list[dict]:
        return self.order["items"]

    def stock(self, variant_index: int = 0) -> dict:
        return variant_stock(self.shop, self.product.product_id, self.product.variant_ids[variant_index])

    # --- the customer's side ---
    def ask(self, **body: Any):
        return self.guest.post(f"/s/{self.shop.slug}/api/orders/{self.order['id']}/aftersales", json=body)

    def asked(self, **body: Any) -> dict:
        r = self.ask(**body)
        assert r.status_code == 201, r.text
        return r.json()

    def guest_step(self, aftersale: dict, step: str, **body: Any):
        return self.guest.post(f"/s/{self.shop.slug}/api/aftersales/{aftersale['id']}/{step}", json=body)

    # --- the shop's side ---
    def staff_step(self, aftersale: dict, step: str, client: TestClient | None = None, **body: Any):
        return (client or self.shop.api).post(f"/api/v1/aftersales/{aftersale['id']}/{step}", json=body)

    def done(self, aftersale: dict, step: str, **body: Any) -> dict:
        r = self.staff_step(aftersale, step, **body)
        assert r.status_code == 200, r.text
        return r.json()

    def order_now(self) -> dict:
        r = self.shop.api.get(f"/api/v1/orders/{self.order['id']}")
        assert r.status_code == 200, r.text
        return r.json()


def buy(
    runtime,
    app,
    shop: ShopFixture,
    *,
    quantity: int = 2,
    extra: int = 0,
    pay: bool = True,
    ship: bool = True,
    phone: str = "13900001111",
) -> Bought:
    """A product of two variants (10 each, ¥50): the customer orders ``quantity`` of the first
    (and ``extra`` of the second as a second line) from its link, the shop records the whole
    payment and ships it."""
    product = make_product(runtime, shop, name="卫衣", options=["尺码"], stock=10, price=5000)
    guest = guest_client(app, shop, "小美", phone)
    token = shop.api.get(f"/api/v1/products/{product.product_id}").json()["share_token"]
    body = {"token": token, "variant_id": product.variant_ids[0], "quantity": quantity, "address": ADDRESS}
    r = guest.post(f"/s/{shop.slug}/api/orders", json=body)
    assert r.status_code == 201, r.text
    order_id = r.json()["order"]["id"]
    if extra:
        r = shop.api.put(
            f"/api/v1/orders/{order_id}/items",
            json={
                "items": [
                    {"variant_id": product.variant_ids[0], "quantity": quantity},
                    {"variant_id": product.variant_ids[1], "quantity": extra},
                ]
            },
        )
        assert r.status_code == 200, r.text
    order = shop.api.get(f"/api/v1/orders/{order_id}").json()
    if pay:
        r = shop.api.post(
            f"/api/v1/orders/{order_id}/payments", json={"method": "wechat", "amount": order["total"]}
        )
        assert r.status_code == 201, r.text
    if ship:
        act(shop, order, "confirm")
        act(shop, order, "ship", **SHIP)
    order = shop.api.get(f"/api/v1/orders/{order_id}").json()
    return Bought(shop, guest, product, order)


def ledger(runtime, shop: ShopFixture, kind: str) -> list[tuple[int, int]]:
    """``(variant_id, on_hand_delta)`` of the shop's stock movements of ``kind``."""
    with runtime.db.read() as session:
        rows = session.execute(
            select(StockMovement.variant_id, StockMovement.on_hand_delta).where(
                StockMovement.shop_id == shop.id, StockMovement.kind == kind
            )
        )
        return [tuple(r) for r in rows]
