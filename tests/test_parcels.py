"""Split shipments: parcels of some items each, stock deducted per parcel, the order shipped with
the last one, signed for per parcel by staff or the customer, completion after delivery."""

from __future__ import annotations

import pytest

from tests.support.access import SHIP
from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.support.orders import act, make_order, variant_stock
from tests.support.team import make_member

SF2 = {"carrier_code": "ZTO", "tracking_number": "ZT9876543210"}


@pytest.fixture
def two_lines(runtime, shop):
    """A confirmed order of 3 shirts and 2 caps (10 of each in stock)."""
    shirt = make_product(runtime, shop, name="衬衫", stock=10)
    cap = make_product(runtime, shop, name="帽子", stock=10)
    order = make_order(shop, [(shirt.variant_id, 3), (cap.variant_id, 2)])
    order = act(shop, order, "confirm")
    return order, shirt, cap


def line_of(order: dict, product) -> dict:
    return next(i for i in order["items"] if i["variant_id"] == product.variant_id)


def ship(shop, order: dict, items: list[tuple[dict, int]] | None = None, courier: dict = SHIP, **extra):
    body = {**courier, **extra}
    if items is not None:
        body["items"] = [{"order_item_id": line["id"], "quantity": q} for line, q in items]
    return shop.api.post(f"/api/v1/orders/{order['id']}/parcels", json=body)


def stock_of(shop, product) -> tuple[int, int]:
    v = variant_stock(shop, product.product_id, product.variant_id)
    return v["on_hand"], v["reserved"]


def test_an_order_ships_in_two_parcels_each_deducting_its_own_items(shop, two_lines):
    # given a confirmed order holding 3 shirts and 2 caps
    order, shirt, cap = two_lines
    shirts = line_of(order, shirt)
    assert stock_of(shop, shirt) == (10, 3) and stock_of(shop, cap) == (10, 2)

    # when the first parcel takes 2 shirts
    r = ship(shop, order, [(shirts, 2)])

    # then only those leave the warehouse, and the order waits, partly shipped
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["order"]["status"] == "confirmed" and first["partly_shipped"] is True
    assert stock_of(shop, shirt) == (8, 1) and stock_of(shop, cap) == (10, 2)
    assert first["order"]["tracking_number"] == SHIP["tracking_number"]
    lines = {ln["order_item_id"]: ln for ln in first["lines"]}
    assert lines[shirts["id"]]["remaining"] == 1 and lines[cap_id(order, cap)]["remaining"] == 2

    # when the second parcel takes the rest (items omitted)
    r = ship(shop, order, courier=SF2)

    # then the order is shipped, every item deducted, and the first parcel's number stays on it
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["order"]["status"] == "shipped" and second["partly_shipped"] is False
    assert stock_of(shop, shirt) == (7, 0) and stock_of(shop, cap) == (8, 0)
    assert second["order"]["tracking_number"] == SHIP["tracking_number"]
    assert [(p["seq"], p["tracking_number"]) for p in second["parcels"]] == [
        (1, SHIP["tracking_number"]),
        (2, SF2["tracking_number"]),
    ]
    assert sorted((i["name"], i["quantity"]) for i in second["parcels"][1]["items"]) == [
        ("帽子", 2),
        ("衬衫", 1),
    ]
    # and each parcel is a step of the timeline, the last one the status change
    kinds = [e["kind"] for e in shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()]
    assert kinds.count("parcel_shipped") == 1 and kinds[-1] == "status"


def cap_id(order: dict, cap) -> int:
    return line_of(order, cap)["id"]


def test_a_parcel_over_what_remains_is_refused_and_changes_nothing(shop, two_lines):
    # given 2 of the 3 shirts shipped
    order, shirt, _cap = two_lines
    shirts = line_of(order, shirt)
    assert ship(shop, order, [(shirts, 2)]).status_code == 201

    # when a parcel names 2 more shirts
    r = ship(shop, order, [(shirts, 2)], courier=SF2)

    # then it is refused with what is left, and stock did not move
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "parcel.exceeds_remaining"
    assert r.json()["error"]["details"]["remaining"] == 1
    assert stock_of(shop, shirt) == (8, 1)
    assert len(shop.api.get(f"/api/v1/orders/{order['id']}/parcels").json()["parcels"]) == 1


def test_another_orders_line_is_refused(runtime, shop, two_lines):
    # given another order of the same shop
    order, shirt, _cap = two_lines
    other = act(shop, make_order(shop, [(shirt.variant_id, 1)]), "confirm")

    # when a parcel of this order names the other order's line
    r = ship(shop, order, [(other["items"][0], 1)])

    # then it is refused, nothing shipped
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "parcel.unknown_item"
    assert stock_of(shop, shirt) == (10, 4)


def test_a_parcel_needs_a_known_courier_and_a_confirmed_order(shop, two_lines, runtime):
    order, shirt, _cap = two_lines
    r = ship(shop, order, courier={"carrier_code": "NOPE", "tracking_number": "AB1234567"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "order.unknown_carrier"
    pending = make_order(shop, [(shirt.variant_id, 1)])
    r = ship(shop, pending)
    assert r.status_code == 409 and r.json()["error"]["code"] == "order.invalid_transition"


def test_the_one_call_ship_still_ships_everything_as_one_parcel(shop, two_lines):
    # given a confirmed order
    order, shirt, cap = two_lines

    # when it is shipped the old way, one courier and number for the whole order
    shipped = act(shop, order, "ship", **SHIP)

    # then it is shipped in one parcel of every item, stock deducted
    assert shipped["status"] == "shipped"
    assert stock_of(shop, shirt) == (7, 0) and stock_of(shop, cap) == (8, 0)
    parcels = shop.api.get(f"/api/v1/orders/{order['id']}/parcels").json()["parcels"]
    assert len(parcels) == 1 and sum(i["quantity"] for i in parcels[0]["items"]) == 5


def test_a_partly_shipped_order_cannot_be_cancelled(shop, two_lines):
    # given one shirt shipped
    order, shirt, _cap = two_lines
    assert ship(shop, order, [(line_of(order, shirt), 1)]).status_code == 201

    # when staff cancel the order
    r = shop.api.post(f"/api/v1/orders/{order['id']}/cancel", json={"reason": "duplicate"})

    # then it is refused and the held stock stays held
    assert r.status_code == 409 and r.json()["error"]["code"] == "order.partly_shipped"
    assert stock_of(shop, shirt) == (9, 2)


def test_staff_sign_for_each_parcel(shop, two_lines):
    # given an order shipped in two parcels
    order, shirt, _cap = two_lines
    ship(shop, order, [(line_of(order, shirt), 3)])
    parcels = ship(shop, order, courier=SF2).json()["parcels"]
    url = f"/api/v1/orders/{order['id']}/parcels"

    # when staff sign for the first parcel
    r = shop.api.post(f"{url}/{parcels[0]['id']}/delivered")

    # then it is delivered by staff, the order not yet
    assert r.status_code == 200, r.text
    assert r.json()["parcels"][0]["delivered_by"] == "staff"
    assert r.json()["parcels"][1]["delivered_at"] is None
    assert r.json()["order"]["status"] == "shipped"

    # when the same parcel is signed for again, it is refused
    again = shop.api.post(f"{url}/{parcels[0]['id']}/delivered")
    assert again.status_code == 409 and again.json()["error"]["code"] == "parcel.already_delivered"

    # when the last parcel is signed for, then the order is still shipped until completed
    last = shop.api.post(f"{url}/{parcels[1]['id']}/delivered").json()
    assert last["order"]["status"] == "shipped"
    assert last["parcels"][1]["delivered_at"] is not None


def test_completing_by_hand_signs_for_the_parcels_left_first(shop, two_lines):
    # given an order shipped in two parcels, one signed for
    order, shirt, _cap = two_lines
    ship(shop, order, [(line_of(order, shirt), 3)])
    parcels = ship(shop, order, courier=SF2).json()["parcels"]
    shop.api.post(f"/api/v1/orders/{order['id']}/parcels/{parcels[0]['id']}/delivered")

    # when staff mark the order completed
    done = act(shop, order, "complete")

    # then the other parcel was signed for by staff first, on the timeline before completion
    assert done["status"] == "completed"
    view = shop.api.get(f"/api/v1/orders/{order['id']}/parcels").json()
    assert all(p["delivered_by"] == "staff" for p in view["parcels"])
    kinds = [e["kind"] for e in shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()]
    assert kinds[-3:] == ["parcel_delivered", "parcel_delivered", "status"]


def test_a_parcel_of_another_order_is_not_found(shop, two_lines):
    order, shirt, _cap = two_lines
    other = act(shop, make_order(shop, [(shirt.variant_id, 1)]), "confirm")
    parcel = ship(shop, other).json()["parcels"][0]
    r = shop.api.post(f"/api/v1/orders/{order['id']}/parcels/{parcel['id']}/delivered")
    assert r.status_code == 404 and r.json()["error"]["code"] == "parcel.not_found"


def test_presale_lines_ship_out_of_their_backlog(runtime, shop):
    # given a presale product with 4 on order, and its goods arrived
    pre = make_product(runtime, shop, name="预售款", presale=True, stock=0)
    order = act(shop, make_order(shop, [(pre.variant_id, 4)]), "confirm")
    r = shop.api.post(
        f"/api/v1/variants/{pre.variant_id}/stock-adjustments", json={"delta": 4, "reason": "到货"}
    )
    assert r.status_code in (200, 201), r.text

    # when 1 then 3 are shipped
    assert ship(shop, order, [(order["items"][0], 1)]).status_code == 201
    v = variant_stock(shop, pre.product_id, pre.variant_id)
    assert (v["on_hand"], v["backorder"]) == (3, 3)
    assert ship(shop, order, courier=SF2).json()["order"]["status"] == "shipped"

    # then the backlog is cleared and the goods left
    v = variant_stock(shop, pre.product_id, pre.variant_id)
    assert (v["on_hand"], v["reserved"], v["backorder"]) == (0, 0, 0)


def test_batch_ship_ships_each_order_whole(shop, two_lines):
    # given two confirmed orders, one partly shipped already
    order, shirt, cap = two_lines
    ship(shop, order, [(line_of(order, shirt), 1)])
    other = act(shop, make_order(shop, [(cap.variant_id, 1)]), "confirm")

    # when both are shipped in one batch
    r = shop.api.post(
        "/api/v1/orders/batch",
        json={"order_ids": [order["id"], other["id"]], "action": "ship", "params": SF2},
    )

    # then each ships what it has left in one parcel
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == ["shipped", "shipped"]
    assert stock_of(shop, shirt) == (7, 0) and stock_of(shop, cap) == (7, 0)
    assert len(shop.api.get(f"/api/v1/orders/{order['id']}/parcels").json()["parcels"]) == 2


def test_a_member_without_fulfil_cannot_ship_a_parcel(runtime, shop, two_lines):
    order, _shirt, _cap = two_lines
    client = make_member(runtime, shop, permissions=["orders.read"])
    assert client.get(f"/api/v1/orders/{order['id']}/parcels").status_code == 200
    assert client.post(f"/api/v1/orders/{order['id']}/parcels", json=SHIP).status_code == 403


def test_the_tracking_card_of_a_split_order_names_every_parcel(runtime, shop):
    # given a customer's order shipped in two parcels
    shirt = make_product(runtime, shop, name="衬衫", stock=10)
    customer_id, _ = make_customer(runtime, shop, name="李四", phone="13900001111")
    order = act(shop, make_order(shop, [(shirt.variant_id, 2)], customer_id=customer_id), "confirm")
    ship(shop, order, [(order["items"][0], 1)])
    ship(shop, order, courier=SF2)

    # when staff send the tracking checkpoint to the customer
    r = shop.api.post(f"/api/v1/orders/{order['id']}/checkpoints/tracking")

    # then the card's lines give each parcel's courier and number
    assert r.status_code == 201, r.text
    shown = r.json()["data"]["shown"]
    assert any(SHIP["tracking_number"] in line and "1" in line for line in shown)
    assert any(SF2["tracking_number"] in line for line in shown)
    assert [p["tracking_number"] for p in r.json()["data"]["parcels"]] == [
        SHIP["tracking_number"],
        SF2["tracking_number"],
    ]
