"""The durable event log (rule 8 of docs/architecture.md) and publication after commit (rule 2 of docs/architecture.md)."""

from __future__ import annotations

from sqlalchemy import select

from shangliao.events import log
from shangliao.events.models import EventLogEntry
from tests.support.catalog import make_product
from tests.support.orders import ADDRESS, act, make_order


def _seqs(runtime, shop_id):
    with runtime.db.read() as s:
        return list(
            s.scalars(
                select(EventLogEntry.seq).where(EventLogEntry.shop_id == shop_id).order_by(EventLogEntry.seq)
            )
        )


def test_events_are_published_only_after_commit(runtime, shop):
    seen = []
    unsubscribe = runtime.bus.subscribe(lambda row: seen.append(row) if row["shop_id"] == shop.id else None)
    try:
        tee = make_product(runtime, shop, stock=1)
        before = len(seen)
        refused = shop.api.post(
            "/api/v1/orders",
            json={"items": [{"variant_id": tee.variant_id, "quantity": 2}], "address": ADDRESS},
        )
        assert refused.status_code == 409
        assert len(seen) == before  # nothing announced for the rolled-back attempt
        order = make_order(shop, [(tee.variant_id, 1)])
    finally:
        unsubscribe()
    created = [r for r in seen if r["type"] == "order.created"]
    assert [r["entity_id"] for r in created] == [order["id"]]
    assert created[0]["data"] == {"number": order["number"], "status": "pending", "total": order["total"]}


def test_sequence_is_gapless_per_shop_and_carries_no_pii(runtime, shop, other_shop):
    tee = make_product(runtime, shop, stock=5, threshold=3)
    make_product(runtime, other_shop)
    order = make_order(shop, [(tee.variant_id, 2)])  # 5 → 3 available: low stock fires
    act(shop, order, "cancel", reason="duplicate")
    shop.api.post(
        "/api/v1/orders", json={"items": [{"variant_id": tee.variant_id, "quantity": 99}], "address": ADDRESS}
    )
    seqs = _seqs(runtime, shop.id)
    assert seqs == list(range(1, len(seqs) + 1))
    with runtime.db.read() as s:
        rows = log.since(s, shop.id, 0)
        assert "stock.low" in [r.type for r in rows]
        # The order's personal data, whole or in part; not a digit run like "138" an id may contain.
        personal = [ADDRESS["receiver"], ADDRESS["phone"], ADDRESS["phone"][-8:], ADDRESS["detail"]]
        assert [r.type for r in rows if any(p in str(r.data) for p in personal)] == []
        assert [r.seq for r in log.since(s, shop.id, seqs[-2])] == [seqs[-1]]
