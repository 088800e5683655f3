"""Console forms read ids and numbers as ASCII digits only: ``"²".isdigit()`` is true, yet
``int("²")`` raises, so a crafted form got a 500 instead of the answer any other non-number gets."""

from __future__ import annotations

from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.support.orders import make_order
from tests.test_console import HTMX
from tests.test_journey_neworder import NEW_ADDRESS


def test_an_order_form_with_superscript_ids_is_answered_like_any_non_number(console, runtime, shop):
    tee = make_product(runtime, shop, name="纯棉T恤", stock=9, price=5900)
    customer_id, _ = make_customer(runtime, shop, name="李四", phone="13900001111")
    order = make_order(shop, [(tee.variant_id, 1)], assignee_id=shop.owner_id)
    # when the order is given to "²", a member no form offers
    r = console.post(f"/orders/{order['id']}/assign", data={"assignee_id": "²"}, headers=HTMX)
    # then it is read as nobody, as any other non-number is
    assert r.status_code == 200, r.text
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["assignee_id"] is None
    # when a new order names its customer and address "¹"
    line = {"variant_id": tee.variant_id, "quantity": "1"}
    r = console.post(
        "/orders/new", data={**line, **NEW_ADDRESS, "customer_id": "¹", "address_id": "¹"}, headers=HTMX
    )
    # then it is placed for no customer, at the address typed
    assert r.status_code == 204 and "HX-Redirect" in r.headers, r.text
    placed = shop.api.get(f"/api/v1/orders/{r.headers['HX-Redirect'].rsplit('/', 1)[1]}").json()
    assert placed["customer_id"] is None and placed["address"]["receiver"] == NEW_ADDRESS["receiver"]
    # when a merge picks the customer "²"
    r = console.get(f"/customers/{customer_id}/merge/preview?other_id=%C2%B2", headers=HTMX)
    # then it asks for a customer to be picked, and merges nothing
    assert r.status_code == 422 and "请先选择" in r.text, r.text
    r = console.post(f"/customers/{customer_id}/merge", data={"other_id": "²"}, headers=HTMX)
    assert r.status_code == 422, r.text


def test_the_order_list_reads_superscript_ids_like_any_non_number(console, runtime, shop):
    tee = make_product(runtime, shop, name="纯棉T恤", stock=9, price=5900)
    order = make_order(shop, [(tee.variant_id, 1)])
    # when the list is filtered by the member "²", and a bulk action names "²" among its orders
    listed = console.post("/orders", data={"tab": "all", "assignee": "²"}, headers=HTMX)
    bulk = console.post(
        "/orders/bulk",
        data={"action": "assign", "ids": ["²", str(order["id"])], "assignee_id": "²"},
        headers=HTMX,
    )
    # then the filter is ignored, the "²" ticked is skipped, and the order is assigned to nobody
    assert listed.status_code == 200, listed.text
    assert bulk.status_code == 200, bulk.text
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["assignee_id"] is None
