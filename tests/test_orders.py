"""The order lifecycle over HTTP: every transition, guard and refusal, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from shangliao.events.models import EventLogEntry
from shangliao.inventory.models import StockMovement
from shangliao.orders.models import Order
from shangliao.orders.state import TRANSITIONS, Status
from tests.support.catalog import make_product
from tests.support.orders import ADDRESS, act, make_order, variant_stock

SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}


@pytest.fixture
def tee(runtime, shop):
    return make_product(runtime, shop, name="纯棉T恤", stock=10, price=5900)


def test_new_order_is_pending_with_snapshot_totals_and_number(shop, tee):
    order = make_order(shop, [(tee.variant_id, 2)], shipping_fee=1000, discount=500, remark="尽快发货")
    assert order["status"] == "pending"
    assert order["items_total"] == 11800 and order["total"] == 11800 + 1000 - 500
    assert order["items"][0]["name"] == "纯棉T恤" and order["items"][0]["unit_price"] == 5900
    assert order["number"].isdigit() and 11 <= len(order["number"]) <= 32
    assert order["address"]["receiver"] == "张三"
    assert order["payment_status"] == "unpaid"
    assert set(order["allowed_actions"]) == {"confirm", "cancel"}


def test_numbers_follow_the_daily_sequence(shop, tee):
    first = make_order(shop, [(tee.variant_id, 1)])["number"]
    second = make_order(shop, [(tee.variant_id, 1)])["number"]
    assert second[:6] == first[:6] and int(second[6:]) == int(first[6:]) + 1


def test_full_lifecycle_moves_stock_and_records_every_step(runtime, shop, tee):
    order = make_order(shop, [(tee.variant_id, 3)])
    assert variant_stock(shop, tee.product_id, tee.variant_id)["reserved"] == 3
    for action, params in [("confirm", {}), ("prepare", {}), ("ship", SHIP), ("complete", {})]:
        order = act(shop, order, action, **params)
    assert order["status"] == "completed"
    assert order["tracking_url"].endswith("nu=SF1234567890")
    stock = variant_stock(shop, tee.product_id, tee.variant_id)
    assert (stock["on_hand"], stock["reserved"], stock["available"]) == (7, 0, 7)
    steps = shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()
    assert [(s["from_status"], s["to_status"]) for s in steps] == [
        (None, "pending"),
        ("pending", "confirmed"),
        ("confirmed", "preparing"),
        ("preparing", "shipped"),
        (None, None),  # its one parcel signed for first: completion comes after delivery
        ("shipped", "completed"),
    ]
    with runtime.db.read() as s:
        types = list(
            s.scalars(
                select(EventLogEntry.type)
                .where(EventLogEntry.shop_id == shop.id)
                .where(EventLogEntry.entity_type == "order")
                .order_by(EventLogEntry.seq)
            )
        )
    assert types == [
        "order.created",
        "order.confirmed",
        "order.preparing",
        "order.shipped",
        "order.parcel_delivered",
        "order.completed",
    ]


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
def test_every_transition_refused_from_states_it_does_not_leave(shop, tee, action):
    """Walk an order to each state and try ``action`` where the table does not allow it."""
    path = [("confirm", {}), ("prepare", {}), ("ship", SHIP), ("complete", {})]
    order = make_order(shop, [(tee.variant_id, 1)])
    states = [order]
    for step, params in path:
        order = act(shop, order, step, **params)
        states.append(order)
    cancelled = act(shop, make_order(shop, [(tee.variant_id, 1)]), "cancel", reason="duplicate")
    draft = make_order(shop, [(tee.variant_id, 1)], draft=True)
    params = {"cancel": {"reason": "x"}, "ship": SHIP}.get(action, {})
    for current in [*states[-1:], cancelled, draft]:
        if Status(current["status"]) in TRANSITIONS[action].sources:
            continue
        r = shop.api.post(f"/api/v1/orders/{current['id']}/{action}", json=params)
        assert r.status_code == 409, (action, current["status"], r.text)
        assert r.json()["error"]["code"] == "order.invalid_transition"


def test_ship_needs_carrier_and_valid_tracking(shop, tee):
    order = act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm")
    r = shop.api.post(f"/api/v1/orders/{order['id']}/ship", json={"carrier_code": "SF"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "order.missing_fields"
    r = shop.api.post(
        f"/api/v1/orders/{order['id']}/ship", json={"carrier_code": "XX", "tracking_number": "1234567"}
    )
    assert r.json()["error"]["code"] == "order.unknown_carrier"
    r = shop.api.post(
        f"/api/v1/orders/{order['id']}/ship", json={"carrier_code": "SF", "tracking_number": "<script>"}
    )
    assert r.json()["error"]["code"] == "order.bad_tracking_number"
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["status"] == "confirmed"


def test_cancel_needs_a_reason_and_releases_stock(shop, tee):
    order = make_order(shop, [(tee.variant_id, 4)])
    r = shop.api.post(f"/api/v1/orders/{order['id']}/cancel", json={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "order.missing_fields"
    assert variant_stock(shop, tee.product_id, tee.variant_id)["reserved"] == 4
    cancelled = act(shop, order, "cancel", reason="changed_mind")
    assert cancelled["cancel_reason"] == "changed_mind"
    assert variant_stock(shop, tee.product_id, tee.variant_id)["reserved"] == 0


def test_insufficient_stock_names_the_sku_and_changes_nothing(runtime, shop, tee):
    r = shop.api.post(
        "/api/v1/orders", json={"items": [{"variant_id": tee.variant_id, "quantity": 11}], "address": ADDRESS}
    )
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "stock.insufficient" and err["details"]["sku"] == tee.sku
    assert err["details"]["available"] == 10 and tee.sku in err["message"]
    with runtime.db.read() as s:
        moves = s.scalar(select(func.count()).where(StockMovement.variant_id == tee.variant_id))
        orders = s.scalar(select(func.count()).where(Order.shop_id == shop.id))
    assert (moves, orders) == (1, 0)  # the initial stock only, no order


def test_presale_orders_backorder_instead_of_reserving(runtime, shop):
    pre = make_product(runtime, shop, name="预售新茶", stock=0, presale=True)
    order = make_order(shop, [(pre.variant_id, 5)])
    stock = variant_stock(shop, pre.product_id, pre.variant_id)
    assert (stock["reserved"], stock["backorder"]) == (0, 5)
    assert order["items"][0]["backorder"] == 5
    order = act(shop, order, "confirm")
    r = shop.api.post(f"/api/v1/orders/{order['id']}/ship", json=SHIP)
    assert r.status_code == 409 and r.json()["error"]["code"] == "stock.insufficient"
    shop.api.post(f"/api/v1/variants/{pre.variant_id}/stock-adjustments", json={"delta": 5, "reason": "到货"})
    act(shop, order, "ship", **SHIP)
    stock = variant_stock(shop, pre.product_id, pre.variant_id)
    assert (stock["on_hand"], stock["backorder"]) == (0, 0)


def test_draft_reserves_nothing_until_submitted(shop, tee):
    draft = make_order(shop, [(tee.variant_id, 2)], draft=True)
    assert draft["status"] == "draft" and draft["allowed_actions"] == ["submit", "cancel"]
    assert variant_stock(shop, tee.product_id, tee.variant_id)["reserved"] == 0
    submitted = act(shop, draft, "submit")
    assert submitted["status"] == "pending" and submitted["submitted_at"]
    assert variant_stock(shop, tee.product_id, tee.variant_id)["reserved"] == 2


def test_a_draft_without_address_cannot_be_submitted(shop, tee):
    draft = make_order(shop, [(tee.variant_id, 1)], draft=True, address=None)
    r = shop.api.post(f"/api/v1/orders/{draft['id']}/submit", json={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "order.address_required"
    r = shop.api.post("/api/v1/orders", json={"items": [{"variant_id": tee.variant_id, "quantity": 1}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "order.address_required"


def test_bad_input_is_refused_with_clear_codes(shop, tee, other_shop, runtime):
    foreign = make_product(runtime, other_shop)
    cases = [
        ({"items": [], "address": ADDRESS}, 422, "request.invalid"),
        (
            {"items": [{"variant_id": tee.variant_id, "quantity": "two"}], "address": ADDRESS},
            422,
            "request.invalid",
        ),
        (
            {"items": [{"variant_id": tee.variant_id, "quantity": 1}], "address": ADDRESS, "vip": True},
            422,
            "request.invalid",
        ),
        (
            {"items": [{"variant_id": foreign.variant_id, "quantity": 1}], "address": ADDRESS},
            404,
            "order.unknown_variant",
        ),
        (
            {"items": [{"variant_id": tee.variant_id, "quantity": 1}], "address": ADDRESS, "discount": 10**6},
            422,
            "order.discount_too_large",
        ),
        (
            {
                "items": [{"variant_id": tee.variant_id, "quantity": 1}],
                "address": {**ADDRESS, "phone": "123"},
            },
            422,
            "phone.invalid",
        ),
    ]
    for body, status, code in cases:
        r = shop.api.post("/api/v1/orders", json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), body
    assert variant_stock(shop, tee.product_id, tee.variant_id)["reserved"] == 0


def test_idempotent_create_returns_the_first_order(shop, tee):
    body = {"items": [{"variant_id": tee.variant_id, "quantity": 1}], "address": ADDRESS}
    first = shop.api.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "abc-123"})
    again = shop.api.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "abc-123"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert variant_stock(shop, tee.product_id, tee.variant_id)["reserved"] == 1
    other = shop.api.post(
        "/api/v1/orders", json={**body, "remark": "x"}, headers={"Idempotency-Key": "abc-123"}
    )
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency.key_reused"


def test_stale_version_is_refused(shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    act(shop, order, "confirm")
    r = shop.api.post(f"/api/v1/orders/{order['id']}/prepare", json={"version": order["version"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "order.version_conflict"
    r = shop.api.post(f"/api/v1/orders/{order['id']}/prepare", headers={"If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["version"] == 3


def test_address_edit_recorded_encrypted_and_refused_after_shipping(runtime, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    new = {**ADDRESS, "receiver": "李四", "detail": "文二路200号"}
    r = shop.api.put(f"/api/v1/orders/{order['id']}/address", json={"address": new})
    assert r.status_code == 200 and r.json()["address"]["receiver"] == "李四"
    steps = shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()
    change = next(s for s in steps if s["kind"] == "address_changed")
    assert change["data"]["old"]["receiver"] == "张三" and change["data"]["new"]["detail"] == "文二路200号"
    from shangliao.orders.models import OrderEvent

    with runtime.db.read() as s:
        raw = s.scalar(
            select(OrderEvent.data).where(
                OrderEvent.order_id == order["id"], OrderEvent.kind == "address_changed"
            )
        )
    assert "李四" not in str(raw) and "文二路" not in str(raw)
    order = act(shop, act(shop, order, "confirm"), "ship", **SHIP)
    r = shop.api.put(f"/api/v1/orders/{order['id']}/address", json={"address": new})
    assert r.status_code == 409 and r.json()["error"]["code"] == "order.address_locked"


def test_items_edit_moves_reservations_and_is_refused_after_confirming(runtime, shop, tee):
    mug = make_product(runtime, shop, name="马克杯", stock=5, price=3000)
    order = make_order(shop, [(tee.variant_id, 2)])
    r = shop.api.put(
        f"/api/v1/orders/{order['id']}/items", json={"items": [{"variant_id": mug.variant_id, "quantity": 3}]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 9000
    assert variant_stock(shop, tee.product_id, tee.variant_id)["reserved"] == 0
    assert variant_stock(shop, mug.product_id, mug.variant_id)["reserved"] == 3
    act(shop, order, "confirm")
    r = shop.api.put(
        f"/api/v1/orders/{order['id']}/items", json={"items": [{"variant_id": mug.variant_id, "quantity": 1}]}
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "order.items_locked"


def test_price_change_before_payment_only(shop, tee):
    order = make_order(shop, [(tee.variant_id, 2)], shipping_fee=800)
    item_id = order["items"][0]["id"]
    r = shop.api.patch(
        f"/api/v1/orders/{order['id']}/price",
        json={"item_prices": {str(item_id): 5000}, "shipping_fee": 0, "reason": "老客户优惠"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 10000
    steps = shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()
    change = next(s for s in steps if s["kind"] == "price_changed")
    assert change["data"]["old"]["total"] == 12600 and change["data"]["new"]["total"] == 10000
    r = shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "wechat", "amount": 4000})
    assert r.status_code == 201 and r.json()["payment_status"] == "partially_paid"
    r = shop.api.patch(f"/api/v1/orders/{order['id']}/price", json={"discount": 100})
    assert r.status_code == 409 and r.json()["error"]["code"] == "order.price_locked"


def test_mark_paid_derives_status_and_refuses_overpayment(shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    r = shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "alipay", "amount": 6000})
    assert r.status_code == 409 and r.json()["error"]["code"] == "payment.exceeds_outstanding"
    r = shop.api.post(
        f"/api/v1/orders/{order['id']}/payments",
        json={"method": "bank_transfer", "amount": 5900, "reference": "工行 8812"},
    )
    assert r.status_code == 201
    assert r.json()["payment_status"] == "paid" and r.json()["paid_at"]
    r = shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "paypal", "amount": 1})
    assert r.status_code == 422


def test_internal_notes_tags_and_assignment(shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    r = shop.api.post(f"/api/v1/orders/{order['id']}/notes", json={"body": "急需发货，需特殊包装"})
    assert r.status_code == 201
    notes = shop.api.get(f"/api/v1/orders/{order['id']}/notes").json()
    assert [n["body"] for n in notes] == ["急需发货，需特殊包装"] and notes[0]["author_id"] == shop.owner_id
    r = shop.api.post(f"/api/v1/orders/{order['id']}/tags", json={"add": ["加急", "老客户"]})
    assert sorted(r.json()["tags"]) == ["加急", "老客户"]
    r = shop.api.put(f"/api/v1/orders/{order['id']}/assignee", json={"assignee_id": shop.owner_id})
    assert r.json()["assignee_id"] == shop.owner_id
    kinds = [s["kind"] for s in shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()]
    assert kinds == ["created", "note", "tagged", "assigned"]


def test_archive_only_final_orders(shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    r = shop.api.post(f"/api/v1/orders/{order['id']}/archive")
    assert r.status_code == 409 and r.json()["error"]["code"] == "order.not_archivable"
    act(shop, order, "cancel", reason="duplicate")
    r = shop.api.post(f"/api/v1/orders/{order['id']}/archive")
    assert r.status_code == 200 and r.json()["archived"] is True
    r = shop.api.post(f"/api/v1/orders/{order['id']}/notes", json={"body": "still visible"})
    assert r.status_code == 201


def test_customer_stats_follow_orders(runtime, shop, tee):
    from tests.support.customers import make_customer

    customer_id, _ = make_customer(runtime, shop)
    order = make_order(shop, [(tee.variant_id, 1)], customer_id=customer_id, address=None)
    assert order["customer_name"] == "张三" and order["address"]["detail"]
    shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "cash", "amount": 5900})
    customer = shop.api.get(f"/api/v1/customers/{customer_id}").json()
    assert customer["order_count"] == 1 and customer["total_spent"] == 5900
    assert customer["first_order_at"] and customer["last_order_at"]


def test_a_short_line_is_blamed_not_the_line_that_fit(runtime, shop):
    fits = make_product(runtime, shop, name="够的", stock=3)
    short = make_product(runtime, shop, name="不够的", stock=0)
    r = shop.api.post(
        "/api/v1/orders",
        json={
            "address": ADDRESS,
            "items": [
                {"variant_id": fits.variant_id, "quantity": 3},
                {"variant_id": short.variant_id, "quantity": 1},
            ],
        },
    )
    assert r.status_code == 409
    assert r.json()["error"]["details"]["sku"] == short.sku
    assert variant_stock(shop, fits.product_id, fits.variant_id)["reserved"] == 0


def test_order_address_snapshot_is_encrypted_in_the_database(runtime, shop):
    tee = make_product(runtime, shop)
    order = make_order(shop, [(tee.variant_id, 1)])
    with runtime.db.read() as s:
        row = s.execute(select(Order.address_enc, Order.phone_hash).where(Order.id == order["id"])).one()
    assert b"13812345678" not in row.address_enc and "文三路".encode() not in row.address_enc
    assert b"13812345678" not in row.phone_hash


def test_blocked_customer_cannot_order_and_drafts_count_when_submitted(runtime, shop, tee):
    from tests.support.customers import make_customer

    customer_id, _ = make_customer(runtime, shop, phone="13912345678")
    draft = make_order(shop, [(tee.variant_id, 1)], customer_id=customer_id, address=None, draft=True)
    assert shop.api.get(f"/api/v1/customers/{customer_id}").json()["order_count"] == 0
    act(shop, draft, "submit")
    assert shop.api.get(f"/api/v1/customers/{customer_id}").json()["order_count"] == 1
    shop.api.patch(f"/api/v1/customers/{customer_id}", json={"blocked": True})
    r = shop.api.post(
        "/api/v1/orders",
        json={"customer_id": customer_id, "items": [{"variant_id": tee.variant_id, "quantity": 1}]},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "customer.blocked"
    assert variant_stock(shop, tee.product_id, tee.variant_id)["reserved"] == 1


def test_out_of_range_ids_are_a_422_not_a_crash(shop):
    huge = 2**70
    assert shop.api.get(f"/api/v1/orders/{huge}").status_code == 422
    r = shop.api.post(
        "/api/v1/orders", json={"items": [{"variant_id": huge, "quantity": 1}], "address": ADDRESS}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "request.invalid"


def test_negative_item_price_is_refused(shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    item_id = order["items"][0]["id"]
    r = shop.api.patch(f"/api/v1/orders/{order['id']}/price", json={"item_prices": {str(item_id): -1}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "request.invalid"


# --- input a database cannot take -----------------------------------------------------------------


def test_an_order_worth_more_than_the_amount_columns_hold_is_refused(shop, runtime):
    # given a variant at the highest price (each price and quantity is bounded, their product not)
    dear = make_product(runtime, shop, stock=20000, price=100_000_000)
    # when an order would be worth ¥999,900,000 (PostgreSQL's 32-bit column refused it: a 500)
    r = shop.api.post(
        "/api/v1/orders",
        json={"items": [{"variant_id": dear.variant_id, "quantity": 9999}], "address": ADDRESS},
    )
    # then it is a clear refusal naming the limit, and no stock was reserved
    assert r.status_code == 422 and r.json()["error"]["code"] == "order.amount_too_large"
    assert variant_stock(shop, dear.product_id, dear.variant_id)["reserved"] == 0
    # and growing an existing order past it is refused the same way
    order = make_order(shop, [(dear.variant_id, 1)])
    r = shop.api.put(
        f"/api/v1/orders/{order['id']}/items",
        json={"items": [{"variant_id": dear.variant_id, "quantity": 9999}]},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "order.amount_too_large"


def test_an_item_keeps_the_longest_spec_the_catalog_allows(shop, runtime):
    # given a variant with 5 options of 40 characters each (212 characters once joined)
    options = ["a", "b", "c", "d", "e"]
    long = make_product(runtime, shop, options=options, variants=[{"spec": {o: o * 40 for o in options}}])
    # when it is ordered (the 120-character snapshot column refused it on PostgreSQL: a 500)
    order = make_order(shop, [(long.variant_id, 1)])
    # then the item keeps the whole spec
    assert order["items"][0]["spec"] == " / ".join(o * 40 for o in options)


def test_an_items_spec_follows_the_products_option_order_on_every_database(shop, runtime):
    # given options whose names PostgreSQL's JSONB would store the other way round (shortest key first)
    shirt = make_product(
        runtime, shop, options=["颜色分类", "码"], variants=[{"spec": {"颜色分类": "红色", "码": "M"}}]
    )
    # when it is ordered
    order = make_order(shop, [(shirt.variant_id, 1)])
    # then the spec reads in the product's option order, and the catalog says the same
    assert order["items"][0]["spec"] == "红色 / M"
    product = shop.api.get(f"/api/v1/products/{shirt.product_id}").json()
    assert product["variants"][0]["spec_label"] == "红色 / M"


@pytest.mark.parametrize(
    "paid_at",
    ["2026-01-05T14:30:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", 1767600000],
)
def test_a_payment_time_without_a_zone_or_out_of_range_is_refused(shop, tee, paid_at):
    order = make_order(shop, [(tee.variant_id, 1)])
    r = shop.api.post(
        f"/api/v1/orders/{order['id']}/payments", json={"method": "cash", "amount": 100, "paid_at": paid_at}
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["errors"][0]["loc"] == ["body", "paid_at"]
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["paid_amount"] == 0


def test_placing_an_order_sends_a_pinned_number_of_statements(runtime, shop, tee):
    """The hot path's statement count is part of its contract (docs/benchmarks.md lists them).

    Given a warm path (the caller known to the credential cache, so no lookup at all), when one
    three-line order is placed, then the writer sees the variant read, the counter bump, the order,
    its search terms, the stock update and its ledger, the items, the timeline, the members'
    notifications of the new order (their events numbered by the same bump, their audience cached:
    notifications/audience.py) and the event log: ten statements (the tab counts follow by
    trigger), plus BEGIN IMMEDIATE on SQLite (PostgreSQL's driver begins implicitly; COMMIT is a
    driver call on both).
    """
    other = make_product(runtime, shop, name="帆布包", stock=10)
    third = make_product(runtime, shop, name="保温杯", stock=10)
    body = {
        "items": [{"variant_id": p.variant_id, "quantity": 1} for p in (tee, other, third)],
        "address": ADDRESS,
    }
    assert shop.api.post("/api/v1/orders", json=body).status_code == 201  # warm the caches
    sent: list[str] = []

    def count(_conn, _cursor, statement, *_):
        sent.append(statement)

    engines = {runtime.db.writer, runtime.db.reader}  # one and the same on PostgreSQL
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        assert shop.api.post("/api/v1/orders", json=body).status_code == 201
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
    assert len(sent) == (11 if runtime.db.is_sqlite else 10), sent
