"""One-click rules (presets), the delayed trigger and the preview (issue 14), on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shangliao.jobs import periodic
from shangliao.jobs.worker import Worker
from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.support.orders import act, make_order
from tests.support.writer import writer_transactions

SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}
T0 = datetime(2032, 1, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def worker(runtime, monkeypatch):
    monkeypatch.setattr(periodic, "TASKS", {})
    return Worker(runtime, poll_seconds=30)


@pytest.fixture
def bag(runtime, shop):
    return make_product(runtime, shop, name="帆布包", stock=30, price=3000)


def switch_on(shop, key: str, **body) -> dict:
    r = shop.api.post(f"/api/v1/automation/presets/{key}", json=body or None)
    assert r.status_code == 200, r.text
    return r.json()


def now(shop, order: dict) -> dict:
    return shop.api.get(f"/api/v1/orders/{order['id']}").json()


def staff_messages(shop, order: dict) -> list[dict]:
    conversation_id = now(shop, order)["conversation_id"]
    if conversation_id is None:
        return []
    messages = shop.api.get(f"/api/v1/conversations/{conversation_id}/messages").json()
    return [m for m in messages if m["sender_type"] == "staff"]


def test_presets_are_listed_and_switched_on_once_each(shop):
    listed = shop.api.get("/api/v1/automation/presets").json()["items"]
    assert [p["key"] for p in listed] == [
        "paid_confirm",
        "product_tag_note",
        "shipped_tracking",
        "unpaid_reminder",
    ]
    assert all(p["rule"] is None for p in listed) and listed[0]["name"] == "付款后自动确认"

    first = switch_on(shop, "paid_confirm")
    again = switch_on(shop, "paid_confirm")

    assert first["id"] == again["id"] and first["name"] == "付款后自动确认"
    assert len(shop.api.get("/api/v1/automation/rules").json()["items"]) == 1
    assert shop.api.post("/api/v1/automation/presets/launch_rockets").status_code == 404


def test_paid_confirm_waits_for_the_whole_amount(shop, bag, worker):
    switch_on(shop, "paid_confirm")
    order = make_order(shop, [(bag.variant_id, 2)])
    half = order["total"] // 2
    shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "wechat", "amount": half})
    worker.run_once()
    assert now(shop, order)["status"] == "pending"

    shop.api.post(
        f"/api/v1/orders/{order['id']}/payments", json={"method": "wechat", "amount": order["total"] - half}
    )
    worker.run_once()
    assert now(shop, order)["status"] == "confirmed"


def test_product_tag_note_marks_orders_of_that_product(runtime, shop, bag, worker):
    other = make_product(runtime, shop, name="马克杯", stock=5, price=2000)
    switch_on(shop, "product_tag_note", product_ids=[bag.product_id], tag="易碎", note="加气泡膜")
    with_bag = make_order(shop, [(bag.variant_id, 1), (other.variant_id, 1)])
    without = make_order(shop, [(other.variant_id, 1)])
    worker.run_once()
    assert now(shop, with_bag)["tags"] == ["易碎"] and now(shop, without)["tags"] == []
    notes = shop.api.get(f"/api/v1/orders/{with_bag['id']}/notes").json()
    assert [n["body"] for n in notes] == ["加气泡膜"]
    r = shop.api.post("/api/v1/automation/presets/product_tag_note", json={"product_ids": [], "tag": "易碎"})
    assert r.status_code == 422


def test_shipped_tracking_sends_the_courier_and_number(runtime, shop, bag, worker):
    switch_on(shop, "shipped_tracking")
    customer_id, address_id = make_customer(runtime, shop, name="李四", phone="13700002222")
    order = make_order(
        shop, [(bag.variant_id, 1)], customer_id=customer_id, address=None, address_id=address_id
    )
    act(shop, act(shop, order, "confirm"), "ship", **SHIP)
    worker.run_once()
    [card] = staff_messages(shop, order)
    assert card["kind"] == "order_card" and "SF1234567890" in card["body"]


def test_unpaid_reminder_comes_two_hours_later_only_if_still_unpaid(runtime, shop, bag, worker, frozen):
    switch_on(shop, "unpaid_reminder")
    customer_id, address_id = make_customer(runtime, shop, name="王五", phone="13700003333")
    frozen(T0)
    unpaid = make_order(
        shop, [(bag.variant_id, 1)], customer_id=customer_id, address=None, address_id=address_id
    )
    paid = make_order(
        shop, [(bag.variant_id, 1)], customer_id=customer_id, address=None, address_id=address_id
    )
    worker.run_once()
    shop.api.post(f"/api/v1/orders/{paid['id']}/payments", json={"method": "wechat", "amount": paid["total"]})

    frozen(T0 + timedelta(minutes=119))
    worker.run_once()
    assert staff_messages(shop, unpaid) == []

    frozen(T0 + timedelta(minutes=121))
    worker.run_once()
    worker.run_once()

    reminders = [m for m in staff_messages(shop, unpaid) if "还没有收到您的付款" in m["body"]]
    assert len(reminders) == 1 and unpaid["number"] in reminders[0]["body"]
    runs = shop.api.get("/api/v1/automation/runs").json()["items"]
    assert sorted(r["outcome"] for r in runs) == ["done", "not_matched"]


def test_the_unpaid_reminder_needs_its_quick_reply(shop):
    fk = next(t for t in shop.api.get("/api/v1/reply-templates").json()["items"] if t["shortcode"] == "fk")
    assert shop.api.delete(f"/api/v1/reply-templates/{fk['id']}").status_code == 204
    r = shop.api.post("/api/v1/automation/presets/unpaid_reminder")
    assert r.status_code == 409 and r.json()["error"]["code"] == "rule.preset_reply_missing"


def test_the_preview_shows_recent_matches_and_writes_nothing(runtime, shop, bag):
    other = make_product(runtime, shop, name="马克杯", stock=30, price=2000)
    orders = [make_order(shop, [(bag.variant_id, 1)]) for _ in range(7)]
    make_order(shop, [(other.variant_id, 1)])
    body = {
        "name": "预览",
        "trigger": "order_created",
        "conditions": {"items": [{"kind": "product", "product_ids": [bag.product_id]}]},
        "actions": [{"kind": "tag", "tag": "x"}],
    }

    with writer_transactions(runtime) as begun:
        r = shop.api.post("/api/v1/automation/rules/preview", json=body)

    assert r.status_code == 200, r.text
    assert [i["order_id"] for i in r.json()["items"]] == [o["id"] for o in reversed(orders)][:5]
    assert begun == []
