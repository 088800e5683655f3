"""Batch actions: each order succeeds or fails on its own, and the answer lists every one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shangliao.auth import service as auth_service
from tests.support.catalog import make_product
from tests.support.orders import act, make_order

BATCH = "/api/v1/orders/batch"
SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}


@pytest.fixture
def product(runtime, shop):
    return make_product(runtime, shop, stock=100)


def order_of(shop, order_id: int) -> dict:
    r = shop.api.get(f"/api/v1/orders/{order_id}")
    assert r.status_code == 200, r.text
    return r.json()


def batch(shop, order_ids: list[int], action: str, headers: dict | None = None, **params) -> dict:
    r = shop.api.post(
        BATCH, json={"order_ids": order_ids, "action": action, "params": params}, headers=headers
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_one_refusal_leaves_the_other_orders_confirmed(runtime, shop, product):
    # given three pending orders and one already shipped
    first, second, third = (make_order(shop, [(product.variant_id, 1)]) for _ in range(3))
    shipped = act(shop, act(shop, make_order(shop, [(product.variant_id, 1)]), "confirm"), "ship", **SHIP)

    # when confirming all four in one batch
    answer = batch(
        shop,
        [first["id"], shipped["id"], second["id"], third["id"]],
        "confirm",
        headers={"Accept-Language": "en"},
    )

    # then the shipped order reports its own refusal while the others are confirmed
    assert (answer["succeeded"], answer["failed"]) == (3, 1)
    results = {r["id"]: r for r in answer["results"]}
    assert [r["id"] for r in answer["results"]] == [first["id"], shipped["id"], second["id"], third["id"]]
    refusal = results[shipped["id"]]
    assert refusal["ok"] is False
    assert refusal["error"]["code"] == "order.invalid_transition"
    assert refusal["error"]["status"] == 409
    assert refusal["error"]["message"] == "An order that is Shipped cannot be confirmed."
    for order in (first, second, third):
        assert results[order["id"]] == {
            "id": order["id"],
            "ok": True,
            "status": "confirmed",
            "version": order["version"] + 1,
            "archived": False,
        }
        assert order_of(shop, order["id"])["status"] == "confirmed"
    assert order_of(shop, shipped["id"])["status"] == "shipped"


def test_error_messages_follow_the_callers_language(runtime, shop, product):
    cancelled = act(shop, make_order(shop, [(product.variant_id, 1)]), "cancel", reason="out_of_stock")

    english = batch(shop, [cancelled["id"]], "confirm", headers={"Accept-Language": "en"})
    chinese = batch(shop, [cancelled["id"]], "confirm", headers={"Accept-Language": "zh-CN"})

    assert english["results"][0]["error"]["code"] == chinese["results"][0]["error"]["code"]
    assert english["results"][0]["error"]["message"].startswith("An order that is")
    assert chinese["results"][0]["error"]["message"] != english["results"][0]["error"]["message"]


def test_batch_cancel_needs_a_reason_and_changes_nothing_without_one(runtime, shop, product):
    order = make_order(shop, [(product.variant_id, 1)])

    refused = shop.api.post(BATCH, json={"order_ids": [order["id"]], "action": "cancel"})

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "order.missing_fields"
    assert order_of(shop, order["id"])["status"] == "pending"
    # and with a reason every order is cancelled, its stock released
    answer = batch(shop, [order["id"]], "cancel", reason="changed_mind")
    assert answer["results"][0]["status"] == "cancelled"
    assert order_of(shop, order["id"])["cancel_reason"] == "changed_mind"


def test_another_shops_order_is_not_found_for_that_item_only(runtime, shop, other_shop, product):
    mine = make_order(shop, [(product.variant_id, 1)])
    theirs_product = make_product(runtime, other_shop, stock=5)
    theirs = make_order(other_shop, [(theirs_product.variant_id, 1)])

    answer = batch(shop, [theirs["id"], mine["id"]], "confirm")

    assert answer["results"][0]["ok"] is False
    assert answer["results"][0]["error"]["code"] == "order.not_found"
    assert answer["results"][0]["error"]["status"] == 404
    assert answer["results"][1]["ok"] is True
    assert order_of(other_shop, theirs["id"])["status"] == "pending"


def test_repeated_ids_count_once_and_batches_are_bounded(runtime, shop, product):
    order = make_order(shop, [(product.variant_id, 1)])

    answer = batch(shop, [order["id"], order["id"]], "confirm")

    assert [r["id"] for r in answer["results"]] == [order["id"]]
    too_many = shop.api.post(BATCH, json={"order_ids": list(range(1, 202)), "action": "confirm"})
    assert too_many.status_code == 422
    empty = shop.api.post(BATCH, json={"order_ids": [], "action": "confirm"})
    assert empty.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"action": "explode"},
        {"action": "confirm", "params": {"reason": "why not"}},  # confirm takes no reason
        {"action": "assign", "params": {}},  # who to?
        {"action": "tag", "params": {}},
        {"action": "confirm", "colour": "red"},
        {"action": "ship", "params": {"carrier_code": "NOPE", "tracking_number": "SF1234567890"}},
    ],
)
def test_a_malformed_batch_is_refused_whole(runtime, shop, product, body):
    order = make_order(shop, [(product.variant_id, 1)])

    r = shop.api.post(BATCH, json={"order_ids": [order["id"]], **body})

    assert r.status_code == 422, r.text
    assert order_of(shop, order["id"])["version"] == order["version"]


def test_batch_ship_prepare_and_complete(runtime, shop, product):
    orders = [act(shop, make_order(shop, [(product.variant_id, 1)]), "confirm") for _ in range(2)]
    order_ids = [o["id"] for o in orders]

    assert {r["status"] for r in batch(shop, order_ids, "prepare")["results"]} == {"preparing"}
    assert {r["status"] for r in batch(shop, order_ids, "ship", **SHIP)["results"]} == {"shipped"}
    assert {r["status"] for r in batch(shop, order_ids, "complete")["results"]} == {"completed"}
    assert order_of(shop, order_ids[0])["tracking_number"] == "SF1234567890"


def test_batch_assign_tag_and_archive(runtime, shop, product):
    done = act(shop, make_order(shop, [(product.variant_id, 1)]), "cancel", reason="duplicate")
    open_order = make_order(shop, [(product.variant_id, 1)], tags=["旧"])
    both = [done["id"], open_order["id"]]

    assigned = batch(shop, both, "assign", assignee_id=shop.owner_id)
    tagged = batch(shop, [open_order["id"]], "tag", add=["加急", "送礼"], remove=["旧"])
    archived = batch(shop, both, "archive")

    assert all(r["ok"] for r in assigned["results"])
    assert order_of(shop, open_order["id"])["assignee_id"] == shop.owner_id
    assert tagged["succeeded"] == 1 and order_of(shop, open_order["id"])["tags"] == ["加急", "送礼"]
    assert archived["results"][0] == {
        "id": done["id"],
        "ok": True,
        "status": "cancelled",
        "version": archived["results"][0]["version"],
        "archived": True,
    }
    assert archived["results"][1]["error"]["code"] == "order.not_archivable"
    unassigned = batch(shop, [open_order["id"]], "assign", assignee_id=None)
    assert unassigned["succeeded"] == 1 and order_of(shop, open_order["id"])["assignee_id"] is None
    nobody = batch(shop, [open_order["id"]], "assign", assignee_id=2**40)
    assert nobody["results"][0]["error"]["code"] == "staff.not_found"


def test_each_item_needs_the_permission_of_its_action(runtime, app, shop, product):
    # given an API token that may read and fulfil orders but not cancel them
    with runtime.db.write() as session:
        raw, _ = auth_service.do_create_token(
            session, shop.actor, name="packer", scopes=["orders.read", "orders.fulfil"], days=None
        )
    packer = TestClient(app, headers={"Authorization": f"Bearer {raw}"}, raise_server_exceptions=False)
    order = make_order(shop, [(product.variant_id, 1)])

    cancel = packer.post(
        BATCH, json={"order_ids": [order["id"]], "action": "cancel", "params": {"reason": "x"}}
    )
    confirm = packer.post(BATCH, json={"order_ids": [order["id"]], "action": "confirm"})

    # the action it lacks is refused as a whole, before any order is touched
    assert cancel.status_code == 403
    assert cancel.json()["error"]["code"] == "auth.forbidden"
    assert confirm.json()["results"][0]["status"] == "confirmed"


def test_batch_needs_a_signed_in_caller(anon):
    r = anon.post(BATCH, json={"order_ids": [1], "action": "confirm"})
    assert r.status_code == 401
