"""A limited member's tab counts: kept per assignee by the triggers that keep the shop's, always
equal to a recount, and read from a few count rows whatever the number of orders."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import update

from shangliao.auth.actor import Actor
from shangliao.auth.permissions import SCOPE_ASSIGNED
from shangliao.orders import counts
from shangliao.orders.models import OrderAssigneeCount
from tests.support.catalog import make_product
from tests.support.orders import ADDRESS, act, make_order
from tests.support.sql import statements_sent
from tests.support.team import make_member
from tests.test_order_counts import PARAMS

PERMISSIONS = ["orders.read", "orders.write"]


@pytest.fixture
def product(runtime, shop):
    return make_product(runtime, shop, stock=10_000)


def _member(runtime, shop, sees_unassigned: bool):
    return make_member(
        runtime, shop, permissions=PERMISSIONS, data_scope=SCOPE_ASSIGNED, sees_unassigned=sees_unassigned
    )


def both_ways(runtime, shop_id: int) -> tuple[dict, dict]:
    with runtime.db.read() as session:
        return (
            counts.maintained(session, shop_id, by_assignee=True),
            counts.counted(session, shop_id, by_assignee=True),
        )


def tabs_of(counted: dict[tuple, int], *keys: int) -> dict[str, int]:
    """The tabs a member holding ``keys`` (their id, and 0 for the unassigned) should see."""
    tabs = dict.fromkeys(counts.TAB_KEYS, 0)
    for (key, status, archived), n in counted.items():
        if key in keys:
            tabs["archived" if archived else status] += n
    return tabs


def _place(member, product) -> dict:
    r = member.post(
        "/api/v1/orders",
        json={"items": [{"variant_id": product.variant_id, "quantity": 1}], "address": ADDRESS},
    )
    assert r.status_code == 201, r.text
    return r.json()


def _assign(shop, order: dict, staff_id: int | None) -> dict:
    r = shop.api.put(f"/api/v1/orders/{order['id']}/assignee", json={"assignee_id": staff_id})
    assert r.status_code == 200, r.text
    return r.json()


def test_per_assignee_counts_follow_creates_moves_reassignments_and_archives(runtime, shop, product):
    # given: two limited members (one also sees the unassigned), and orders made, moved through
    # their lifecycle, cancelled, reassigned (to nobody too), archived and restored at random
    mine_only = _member(runtime, shop, sees_unassigned=False)
    with_pool = _member(runtime, shop, sees_unassigned=True)
    people = [mine_only.staff_id, with_pool.staff_id, None]
    rng = random.Random(20261207)
    orders = [make_order(shop, [(product.variant_id, 1)], draft=rng.random() < 0.2) for _ in range(10)]
    orders.append(_place(mine_only, product))  # theirs from the start (orders/create.py)
    for _ in range(60):
        i = rng.randrange(len(orders))
        order = orders[i]
        roll = rng.random()
        if order["archived"]:
            orders[i] = act(shop, order, "restore")
        elif roll < 0.3:
            orders[i] = _assign(shop, order, rng.choice(people))
        elif order["status"] in ("completed", "cancelled"):
            orders[i] = act(shop, order, "archive")
        elif order["allowed_actions"] and roll < 0.9:
            action = rng.choice(list(order["allowed_actions"]))
            orders[i] = act(shop, order, action, **PARAMS.get(action, {}))
        elif "cancel" in order["allowed_actions"]:
            orders[i] = act(shop, order, "cancel", **PARAMS["cancel"])
        else:
            orders.append(make_order(shop, [(product.variant_id, 1)]))

    # when: the counts are read, by a recount and by each member
    maintained, counted = both_ways(runtime, shop.id)

    # then: the kept counts equal COUNT(*) GROUP BY assignee, status, archived, and each member's
    # tabs add up theirs (and the unassigned for the one who sees them)
    assert maintained == counted
    assert sum(counted.values()) == len(orders)
    assert mine_only.get("/api/v1/orders/counts").json() == tabs_of(counted, mine_only.staff_id)
    assert with_pool.get("/api/v1/orders/counts").json() == tabs_of(counted, with_pool.staff_id, 0)


def test_a_limited_members_counts_read_count_rows_not_orders(runtime, shop, product):
    # given: a limited member with an order
    member = _member(runtime, shop, sees_unassigned=True)
    _place(member, product)
    make_order(shop, [(product.variant_id, 1)])

    # when: their tabs are counted
    with statements_sent(runtime.db.reader) as sent, runtime.db.read() as session:
        actor = Actor(
            shop.id,
            member.staff_id,
            "custom",
            frozenset(PERMISSIONS),
            "token",
            data_scope=SCOPE_ASSIGNED,
            sees_unassigned=True,
        )
        tabs = counts.tab_counts(session.connection(), actor)

    # then: theirs and the unassigned one, from one query of the count rows, none of orders
    queries = [s for s in sent if s.lstrip().upper().startswith("SELECT")]
    assert tabs["pending"] == 2
    assert len(queries) == 1 and "FROM order_assignee_counts" in queries[0]
    assert not any("FROM orders" in s or "JOIN orders" in s for s in sent)


def test_recount_repairs_per_assignee_counts_that_drifted(runtime, shop, product):
    # given: per-assignee counts someone broke by hand
    member = _member(runtime, shop, sees_unassigned=False)
    _place(member, product)
    make_order(shop, [(product.variant_id, 1)])
    with runtime.db.write() as session:
        session.execute(update(OrderAssigneeCount).where(OrderAssigneeCount.shop_id == shop.id).values(n=99))

    # when: the shop is recounted
    with runtime.db.write() as session:
        counts.recount(session, shop.id)

    # then: they match the orders again
    maintained, counted = both_ways(runtime, shop.id)
    assert maintained == counted == {(member.staff_id, "pending", False): 1, (0, "pending", False): 1}
