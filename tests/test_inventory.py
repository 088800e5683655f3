"""Manual stock adjustments, the movement ledger and low-stock alerts over the API."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import func, select

from shangliao.catalog.models import Variant
from shangliao.events.models import EventLogEntry
from shangliao.inventory import stock
from shangliao.inventory.models import StockMovement
from tests.support.catalog import make_product

API = "/api/v1"


def adjust(shop, variant_id: int, delta: int, reason: str = "盘点", **headers):
    return shop.api.post(
        f"{API}/variants/{variant_id}/stock-adjustments",
        json={"delta": delta, "reason": reason},
        headers=headers,
    )


def stock_and_ledger(rt, variant_id: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """``(on_hand, reserved, backorder)`` of the variant and the same three summed over its ledger."""
    m = StockMovement.__table__
    with rt.db.read() as s:
        v = s.execute(
            select(Variant.on_hand, Variant.reserved, Variant.backorder).where(Variant.id == variant_id)
        ).one()
        sums = s.execute(
            select(
                func.coalesce(func.sum(m.c.on_hand_delta), 0),
                func.coalesce(func.sum(m.c.reserved_delta), 0),
                func.coalesce(func.sum(m.c.backorder_delta), 0),
            ).where(m.c.variant_id == variant_id)
        ).one()
    return tuple(v), tuple(sums)


def events_of(rt, shop_id: int, type_: str) -> list[SimpleNamespace]:
    log = EventLogEntry.__table__
    with rt.db.read() as s:
        rows = s.execute(
            select(log).where(log.c.shop_id == shop_id, log.c.type == type_).order_by(log.c.seq)
        ).mappings()
        return [SimpleNamespace(**row) for row in rows]


def reserve(rt, shop, variant_id: int, qty: int) -> None:
    """What placing an order does to stock (the orders domain drives this in real life)."""
    with rt.db.write() as s:
        stock.apply(s, shop.id, [stock.Move(variant_id, "reserve", reserved=qty)], reason="test order")


def test_adjustments_move_stock_and_the_ledger_sums_to_it(shop, runtime):
    ids = make_product(runtime, shop, stock=10)
    r = adjust(shop, ids.variant_id, 5, "到货")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["stock"] == {
        "variant_id": ids.variant_id, "product_id": ids.product_id, "sku": ids.sku,
        "on_hand": 15, "reserved": 0, "available": 15, "backorder": 0, "low_stock": False,
    }  # fmt: skip
    assert (body["movement"]["kind"], body["movement"]["on_hand_delta"], body["movement"]["reason"]) == (
        "adjust", 5, "到货",
    )  # fmt: skip
    assert body["movement"]["actor_id"] == shop.owner_id

    reserve(runtime, shop, ids.variant_id, 4)
    assert adjust(shop, ids.variant_id, -3, "破损").status_code == 201
    held, summed = stock_and_ledger(runtime, ids.variant_id)
    assert held == (12, 4, 0)
    assert summed == held

    events = events_of(runtime, shop.id, "stock.adjusted")
    assert [(e.entity_id, e.data["delta"], e.data["on_hand"], e.data["available"]) for e in events] == [
        (ids.variant_id, 5, 15, 15),
        (ids.variant_id, -3, 12, 8),
    ]


def test_adjusting_below_what_is_available_is_refused_and_changes_nothing(shop, runtime):
    ids = make_product(runtime, shop, stock=6)
    reserve(runtime, shop, ids.variant_id, 4)
    before = stock_and_ledger(runtime, ids.variant_id)
    r = adjust(shop, ids.variant_id, -3, **{"Accept-Language": "en"})
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "stock.insufficient"
    assert err["details"]["sku"] == ids.sku and err["details"]["available"] == 2
    assert err["message"] == f"Not enough stock for {ids.sku}: 2 available, 3 needed."
    assert stock_and_ledger(runtime, ids.variant_id) == before
    assert events_of(runtime, shop.id, "stock.adjusted") == []
    # Exactly what is available may go.
    assert adjust(shop, ids.variant_id, -2).json()["stock"]["available"] == 0


def test_bad_adjustments_are_refused(shop, runtime):
    ids = make_product(runtime, shop)
    url = f"{API}/variants/{ids.variant_id}/stock-adjustments"
    for body in (
        {"delta": 0, "reason": "x"},
        {"delta": 1},
        {"delta": 1, "reason": ""},
        {"delta": 1, "reason": "x" * 201},
        {"delta": 1.5, "reason": "x"},
        {"delta": 1, "reason": "x", "order_id": 3},
    ):
        r = shop.api.post(url, json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "request.invalid"), body
    assert stock_and_ledger(runtime, ids.variant_id)[0] == (10, 0, 0)


def test_low_stock_event_fires_once_when_available_reaches_the_threshold(shop, runtime):
    ids = make_product(runtime, shop, stock=5, threshold=3)
    assert adjust(shop, ids.variant_id, -1).json()["stock"]["low_stock"] is False
    assert events_of(runtime, shop.id, "stock.low") == []

    assert adjust(shop, ids.variant_id, -1).json()["stock"]["low_stock"] is True  # available 3 == threshold
    low = events_of(runtime, shop.id, "stock.low")
    assert [(e.entity_id, e.data) for e in low] == [
        (ids.variant_id, {"product_id": ids.product_id, "available": 3, "threshold": 3})
    ]
    # Already low: going lower does not alert again; restocking and dropping again does.
    adjust(shop, ids.variant_id, -1)
    assert len(events_of(runtime, shop.id, "stock.low")) == 1
    adjust(shop, ids.variant_id, 10)
    adjust(shop, ids.variant_id, -10)
    assert len(events_of(runtime, shop.id, "stock.low")) == 2
    # The alert lands in the same transaction as the adjustment, right after it.
    adjusted = events_of(runtime, shop.id, "stock.adjusted")
    assert low[0].seq == adjusted[1].seq + 1


def test_low_stock_list_shows_variants_at_or_below_their_threshold(shop, runtime):
    low = make_product(runtime, shop, name="草帽", options=["颜色"], stock=2, threshold=2)
    make_product(runtime, shop, name="帆布包", stock=3, threshold=2)
    make_product(runtime, shop, name="不提醒", stock=0, threshold=0)
    make_product(runtime, shop, name="已下架", stock=0, threshold=5, active=False)
    r = shop.api.get(f"{API}/inventory/low-stock")
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["variant_id"] for i in items] == low.variant_ids
    assert items[0] == {
        "variant_id": low.variant_id, "product_id": low.product_id, "product_name": "草帽", "sku": low.sku,
        "spec": {"颜色": "颜色1"}, "on_hand": 2, "reserved": 0, "available": 2, "threshold": 2,
    }  # fmt: skip
    first = shop.api.get(f"{API}/inventory/low-stock", params={"limit": 1}).json()
    second = shop.api.get(
        f"{API}/inventory/low-stock", params={"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    assert [first["items"][0]["variant_id"], second["items"][0]["variant_id"]] == low.variant_ids
    assert second["next_cursor"] is None


def test_movements_are_listed_newest_first_page_by_page(shop, runtime):
    ids = make_product(runtime, shop, stock=1)
    for delta in (1, 2, 3):
        adjust(shop, ids.variant_id, delta, f"+{delta}")
    url = f"{API}/variants/{ids.variant_id}/movements"
    first = shop.api.get(url, params={"limit": 3}).json()
    assert [m["reason"] for m in first["items"]] == ["+3", "+2", "+1"]
    rest = shop.api.get(url, params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [(m["reason"], m["on_hand_delta"]) for m in rest["items"]] == [("initial stock", 1)]
    assert rest["next_cursor"] is None
    assert shop.api.get(url, params={"limit": 0}).status_code == 422


def test_adjusting_needs_the_inventory_permission(shop, runtime):
    ids = make_product(runtime, shop)
    token = shop.api.post(f"{API}/auth/tokens", json={"name": "viewer", "scopes": ["catalog.read"]}).json()[
        "token"
    ]
    hdr = {"Authorization": f"Bearer {token}"}
    assert shop.api.get(f"{API}/variants/{ids.variant_id}/movements", headers=hdr).status_code == 200
    before = stock_and_ledger(runtime, ids.variant_id)
    r = shop.api.post(
        f"{API}/variants/{ids.variant_id}/stock-adjustments", json={"delta": 1, "reason": "x"}, headers=hdr
    )
    # refused, naming the permission it lacks (integrators match on details), and nothing moved
    assert r.status_code == 403
    assert (r.json()["error"]["code"], r.json()["error"]["details"]) == (
        "auth.forbidden",
        {"permission": "inventory.adjust"},
    )
    assert stock_and_ledger(runtime, ids.variant_id) == before


def test_another_shops_variant_cannot_be_adjusted(shop, other_shop, runtime):
    theirs = make_product(runtime, other_shop, stock=4)
    r = adjust(shop, theirs.variant_id, -4)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "variant.not_found")
    assert stock_and_ledger(runtime, theirs.variant_id)[0] == (4, 0, 0)
    assert shop.api.get(f"{API}/inventory/low-stock").json()["items"] == []
