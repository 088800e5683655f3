"""部分发货 where orders are listed: the order API, the list API and the console's list rows show a
confirmed or preparing order with some parcels gone as partly shipped (``Order.parcels_shipped``
and the status, so a page still costs the same statements), and the batch preview no longer
offers to cancel one (the batch itself would refuse it)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.support.access import SHIP
from tests.support.catalog import make_product
from tests.support.orders import act, make_order

LIST = "/api/v1/orders"
SECOND = {"carrier_code": "ZTO", "tracking_number": "ZT9876543210"}


@pytest.fixture
def orders(runtime, shop):
    """Three confirmed orders of 2 shirts each: one with a parcel of 1 shirt gone, one untouched,
    one shipped whole."""
    shirt = make_product(runtime, shop, name="衬衫", stock=20)
    made = [act(shop, make_order(shop, [(shirt.variant_id, 2)]), "confirm") for _ in range(3)]
    partly, untouched, whole = made
    line = partly["items"][0]
    r = shop.api.post(
        f"/api/v1/orders/{partly['id']}/parcels",
        json={**SHIP, "items": [{"order_item_id": line["id"], "quantity": 1}]},
    )
    assert r.status_code == 201, r.text
    assert shop.api.post(f"/api/v1/orders/{whole['id']}/parcels", json=SECOND).status_code == 201
    return partly, untouched, whole


def listed(shop) -> dict[int, dict]:
    r = shop.api.get(LIST, params={"limit": 50})
    assert r.status_code == 200, r.text
    return {o["id"]: o for o in r.json()["items"]}


def test_the_order_and_the_list_say_partly_shipped(shop, orders):
    # given a confirmed order with one parcel of two sent, one untouched, one shipped whole
    partly, untouched, whole = orders
    # when the shop reads each order and the list
    one = {o["id"]: shop.api.get(f"{LIST}/{o['id']}").json() for o in orders}
    page = listed(shop)
    # then only the order still waiting for its second parcel is partly shipped, in both
    for read in (one, page):
        assert read[partly["id"]]["partly_shipped"] is True
        assert read[untouched["id"]]["partly_shipped"] is False
        assert read[whole["id"]]["partly_shipped"] is False and read[whole["id"]]["status"] == "shipped"
    # ... and the order no longer offers to be cancelled, as the API would refuse it
    assert "cancel" not in one[partly["id"]]["allowed_actions"]
    assert "cancel" in one[untouched["id"]]["allowed_actions"]
    # when the rest leaves, or an order moves to preparing first
    assert shop.api.post(f"{LIST}/{partly['id']}/parcels", json=SECOND).status_code == 201
    # then it is shipped, no longer partly
    after = shop.api.get(f"{LIST}/{partly['id']}").json()
    assert (after["status"], after["partly_shipped"]) == ("shipped", False)


def test_a_preparing_order_with_a_parcel_gone_is_partly_shipped(runtime, shop):
    # given a confirmed order of 2 shirts and 1 cap, the shirts sent
    shirt = make_product(runtime, shop, name="衬衫", stock=5)
    cap = make_product(runtime, shop, name="帽子", stock=5)
    order = act(shop, make_order(shop, [(shirt.variant_id, 2), (cap.variant_id, 1)]), "confirm")
    line = next(i for i in order["items"] if i["variant_id"] == shirt.variant_id)
    body = {**SHIP, "items": [{"order_item_id": line["id"], "quantity": 2}]}
    assert shop.api.post(f"{LIST}/{order['id']}/parcels", json=body).status_code == 201
    # when it moves to preparing
    prepared = act(shop, shop.api.get(f"{LIST}/{order['id']}").json(), "prepare")
    # then it is still partly shipped
    assert (prepared["status"], prepared["partly_shipped"]) == ("preparing", True)


def test_a_page_costs_the_same_statements_with_a_partly_shipped_order(runtime, shop, orders):
    # given a list holding a partly shipped order among others
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def statements_for(limit: int) -> int:
        statements.clear()
        event.listen(runtime.db.reader, "before_cursor_execute", count)
        try:
            r = shop.api.get(LIST, params={"limit": limit})
            assert len(r.json()["items"]) == limit
        finally:
            event.remove(runtime.db.reader, "before_cursor_execute", count)
        return len(statements)

    # when a page of one and a page of all three are read
    # then both cost the same statements: the flag comes with the order's own row
    assert statements_for(1) == statements_for(3)


def test_the_console_list_row_shows_partly_shipped(console, shop, orders):
    # given the three orders
    partly, untouched, _whole = orders
    # when the owner opens the list on its confirmed orders
    r = console.get("/orders?tab=confirmed")
    assert r.status_code == 200, r.text
    html = r.text
    # then the partly shipped one carries the badge, the untouched one does not
    row = html.split(f'id="order-row-{partly["id"]}"', 1)[1].split("</tr>", 1)[0]
    other = html.split(f'id="order-row-{untouched["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert "status-partly-shipped" in row and "部分发货" in row
    assert "status-partly-shipped" not in other


def test_the_batch_preview_does_not_offer_to_cancel_a_partly_shipped_order(shop, orders):
    # given a partly shipped order and an untouched one
    partly, untouched, _whole = orders
    body = {
        "order_ids": [partly["id"], untouched["id"]],
        "action": "cancel",
        "params": {"reason": "out_of_stock"},
    }
    # when the shop previews a batch cancel of both
    preview = shop.api.post(f"{LIST}/batch/preview", json=body)
    # then the preview skips the partly shipped one with the reason the batch gives
    assert preview.status_code == 200, preview.text
    out = preview.json()
    assert (out["will_change"], out["will_skip"]) == (1, 1)
    assert out["results"][0]["error"]["code"] == "order.partly_shipped"
    # ... and the batch does exactly what the preview said
    ran = shop.api.post(f"{LIST}/batch", json=body).json()
    assert [r["ok"] for r in ran["results"]] == [r["ok"] for r in out["results"]]
    assert shop.api.get(f"{LIST}/{partly['id']}").json()["status"] == "confirmed"
