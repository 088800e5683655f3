"""The customer's side of parcels: their order's parcels on the shop page, 确认收货 per parcel (the
last one completes the order), the whole-order receipt signing for every parcel, and nobody
else's parcels."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.access import SHIP
from tests.support.catalog import make_product
from tests.support.orders import ADDRESS, act

NEW_VISITOR = {"name": "小红", "phone": "13700001234"}
ZTO = {"carrier_code": "ZTO", "tracking_number": "ZT9876543210"}


@pytest.fixture
def client(app) -> TestClient:
    """A customer's phone: no staff credential, keeps its cookies."""
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def split(runtime, client, shop):
    """The customer's order of 2 shirts, confirmed and shipped by the shop in two parcels."""
    tee = make_product(runtime, shop, name="纯棉T恤", stock=5)
    token = shop.api.get(f"/api/v1/products/{tee.product_id}").json()["share_token"]
    body = {"token": token, "variant_id": tee.variant_id, "quantity": 2, "address": ADDRESS, **NEW_VISITOR}
    r = client.post(f"/s/{shop.slug}/api/orders", json=body)
    assert r.status_code == 201, r.text
    placed = act(shop, r.json()["order"], "confirm")
    line = {"order_item_id": placed["items"][0]["id"], "quantity": 1}
    for courier in (SHIP, ZTO):
        shipped = shop.api.post(f"/api/v1/orders/{placed['id']}/parcels", json={**courier, "items": [line]})
        assert shipped.status_code == 201, shipped.text
    return placed, shipped.json()["parcels"]


def test_the_customer_sees_their_parcels_with_tracking(client, shop, split):
    # given an order shipped in two parcels
    placed, _parcels = split

    # when the customer's phone reads its parcels
    r = client.get(f"/s/{shop.slug}/api/orders/{placed['id']}/parcels")

    # then both are there, with courier names, tracking links and items, nothing of the staff's
    assert r.status_code == 200, r.text
    parcels = r.json()["parcels"]
    assert [(p["seq"], p["carrier_zh"], p["tracking_number"]) for p in parcels] == [
        (1, "顺丰速运", SHIP["tracking_number"]),
        (2, "中通快递", ZTO["tracking_number"]),
    ]
    assert parcels[0]["tracking_url"].endswith(SHIP["tracking_number"])
    assert parcels[0]["items"][0]["name"] == "纯棉T恤" and r.json()["open"] is True


def test_the_customer_confirms_each_parcel_and_the_last_completes_the_order(client, shop, split):
    # given an order shipped in two parcels
    placed, parcels = split
    url = f"/s/{shop.slug}/api/orders/{placed['id']}/parcels"

    # when the customer confirms the first parcel
    first = client.post(f"{url}/{parcels[0]['id']}/receipt")

    # then it is theirs, signed for, and the order waits for the other
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "shipped"
    assert [p["delivered_by"] for p in first.json()["parcels"]] == ["customer", None]

    # when they confirm the second
    second = client.post(f"{url}/{parcels[1]['id']}/receipt")

    # then the order is completed, delivered when the last one was signed for
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "completed"
    staff_view = shop.api.get(f"/api/v1/orders/{placed['id']}").json()
    assert staff_view["status"] == "completed"
    timeline = shop.api.get(f"/api/v1/orders/{placed['id']}/timeline").json()
    assert [(e["kind"], e["actor_type"]) for e in timeline[-3:]] == [
        ("parcel_delivered", "customer"),
        ("parcel_delivered", "customer"),
        ("status", "customer"),
    ]


def test_the_whole_order_receipt_signs_for_every_parcel(client, shop, split):
    # given an order shipped in two parcels, one signed for by staff
    placed, parcels = split
    shop.api.post(f"/api/v1/orders/{placed['id']}/parcels/{parcels[0]['id']}/delivered")

    # when the customer confirms receipt of the order
    done = client.post(f"/s/{shop.slug}/api/orders/{placed['id']}/receipt")

    # then the other parcel is signed for by them and the order is completed
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    view = shop.api.get(f"/api/v1/orders/{placed['id']}/parcels").json()["parcels"]
    assert [p["delivered_by"] for p in view] == ["staff", "customer"]


def test_a_parcel_cannot_be_confirmed_twice_nor_by_someone_else(app, client, shop, split):
    placed, parcels = split
    url = f"/s/{shop.slug}/api/orders/{placed['id']}/parcels"
    stranger = TestClient(app, raise_server_exceptions=False)
    r = stranger.post(f"/s/{shop.slug}/api/visitor", json={"name": "小明", "phone": "13700005678"})
    assert r.status_code == 200, r.text

    # a stranger's device sees neither the parcels nor may sign for them
    assert stranger.get(url).status_code == 404
    assert stranger.post(f"{url}/{parcels[0]['id']}/receipt").status_code == 404

    # the customer's second confirmation of one parcel is refused
    assert client.post(f"{url}/{parcels[0]['id']}/receipt").status_code == 200
    again = client.post(f"{url}/{parcels[0]['id']}/receipt")
    assert again.status_code == 409 and again.json()["error"]["code"] == "parcel.already_delivered"


def test_a_partly_shipped_order_shows_its_parcel_to_the_customer(runtime, client, shop):
    # given an order of 2 with only 1 shipped
    tee = make_product(runtime, shop, name="帆布包", stock=5)
    token = shop.api.get(f"/api/v1/products/{tee.product_id}").json()["share_token"]
    body = {"token": token, "variant_id": tee.variant_id, "quantity": 2, "address": ADDRESS, **NEW_VISITOR}
    placed = act(shop, client.post(f"/s/{shop.slug}/api/orders", json=body).json()["order"], "confirm")
    line = {"order_item_id": placed["items"][0]["id"], "quantity": 1}
    shop.api.post(f"/api/v1/orders/{placed['id']}/parcels", json={**SHIP, "items": [line]})

    # when the customer signs for that parcel
    url = f"/s/{shop.slug}/api/orders/{placed['id']}/parcels"
    parcel = client.get(url).json()["parcels"][0]
    r = client.post(f"{url}/{parcel['id']}/receipt")

    # then it is signed for, and the order still waits for the rest of its goods
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed" and r.json()["parcels"][0]["delivered_by"] == "customer"
