"""A credential means what it says: a token never holds more than its maker, an order's details
need `orders.read` wherever they show, and a caller without a step's permission is refused before
any write transaction opens (rules 5 and 16 of docs/architecture.md)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.support.orders import make_order
from tests.support.writer import writer_transactions


def _client(app, shop, scopes: list[str] | None, *, maker: TestClient | None = None) -> TestClient:
    r = (maker or shop.api).post("/api/v1/auth/tokens", json={"name": "scoped", "scopes": scopes})
    assert r.status_code == 201, r.text
    return TestClient(
        app, headers={"Authorization": f"Bearer {r.json()['token']}"}, raise_server_exceptions=False
    )


def test_a_token_made_without_scopes_by_a_scoped_token_holds_only_its_makers(app, shop):
    # given a token that may only manage the shop's settings and tokens
    manager = _client(app, shop, ["team.manage"])

    # when it makes a token without naming scopes
    minted = manager.post("/api/v1/auth/tokens", json={"name": "child"})
    child = TestClient(app, headers={"Authorization": f"Bearer {minted.json()['token']}"})

    # then the new token holds what its maker holds, and no more
    assert minted.status_code == 201 and minted.json()["scopes"] == ["team.manage"]
    assert child.get("/api/v1/auth/me").json()["permissions"] == ["team.manage"]
    assert child.get("/api/v1/orders").status_code == 403


def test_a_token_made_by_the_owner_without_scopes_follows_the_role(app, shop):
    minted = shop.api.post("/api/v1/auth/tokens", json={"name": "erp"})
    assert minted.status_code == 201 and minted.json()["scopes"] is None


@pytest.fixture
def conversation_with_order(runtime, shop) -> dict:
    product = make_product(runtime, shop)
    customer_id, _ = make_customer(runtime, shop, name="李四", phone="13900001111")
    order = make_order(shop, [(product.variant_id, 1)], customer_id=customer_id)
    conversation = shop.api.post(f"/api/v1/customers/{customer_id}/conversation").json()
    return {"conversation_id": conversation["id"], "order": order}


def test_previewing_an_orders_values_needs_orders_read(app, shop, conversation_with_order):
    # given an agent who may read chats but not orders
    agent = _client(app, shop, ["chat.read", "chat.write"])
    url = f"/api/v1/conversations/{conversation_with_order['conversation_id']}/reply-preview"
    order = conversation_with_order["order"]

    # when they preview an order's number, named or as the customer's current order
    named = agent.post(url, json={"body": "{客户名} {订单号}", "order_id": order["id"]})
    current = agent.post(url, json={"body": "{客户名} {订单号}"})

    # then the named order is refused as the order itself is, and the current one is not filled in
    assert agent.get(f"/api/v1/orders/{order['id']}").status_code == 403
    assert named.status_code == 403 and named.json()["error"]["code"] == "auth.forbidden"
    assert current.status_code == 200, current.text
    assert current.json()["text"] == "李四 {订单号}" and current.json()["order_id"] is None
    assert order["number"] not in current.text
    # and someone who may read orders still gets them
    full = shop.api.post(url, json={"body": "{订单号}", "order_id": order["id"]})
    assert full.json()["text"] == order["number"]


@pytest.fixture
def pending_order(runtime, shop) -> dict:
    product = make_product(runtime, shop)
    return make_order(shop, [(product.variant_id, 1)])


def test_a_read_only_caller_is_refused_a_console_step_before_the_writer(runtime, app, shop, pending_order):
    reader = _client(app, shop, ["orders.read"])

    with writer_transactions(runtime) as begun:
        r = reader.post(
            f"/orders/{pending_order['id']}/do/confirm",
            data={"version": pending_order["version"]},
            follow_redirects=False,
        )

    assert r.status_code == 403
    assert begun == []
    assert shop.api.get(f"/api/v1/orders/{pending_order['id']}").json()["status"] == "pending"


@pytest.mark.parametrize("route", ["/api/v1/orders/batch", "/orders/bulk"])
def test_a_read_only_caller_is_refused_a_batch_before_the_writer(runtime, app, shop, pending_order, route):
    reader = _client(app, shop, ["orders.read"])
    ids = [pending_order["id"]]

    with writer_transactions(runtime) as begun:
        if route.startswith("/api/"):
            r = reader.post(route, json={"order_ids": ids, "action": "confirm"})
        else:
            r = reader.post(route, data={"ids": [str(i) for i in ids], "action": "confirm"})

    assert r.status_code == 403, r.text
    assert begun == []
    assert shop.api.get(f"/api/v1/orders/{pending_order['id']}").json()["status"] == "pending"


def test_access_rules_of_action_routes_name_each_actions_permission(app):
    from shangliao.orders.state import TRANSITION_PERMISSIONS
    from shangliao.web.routes import iter_routes

    rules = {r.path: r.rules[0] for r in iter_routes(app)}
    step = dict(rules["/orders/{order_id}/do/{action}"].by_action)
    batch = dict(rules["/api/v1/orders/batch"].by_action)
    assert step == TRANSITION_PERMISSIONS
    assert {a: batch[a] for a in ("confirm", "cancel")} == {
        "confirm": "orders.fulfil",
        "cancel": "orders.cancel",
    }
    bulk = dict(rules["/orders/bulk"].by_action)
    # The console's bulk bar also prints packing slips, which the API does at its own route.
    assert bulk.pop("print") == "orders.fulfil"
    assert bulk == batch
