"""The rules engine (issue 14): triggers, conditions and actions run by a real worker over the event
log, as the shop's automation, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shangliao.automation import actions as acts
from shangliao.jobs.worker import Worker
from shangliao.notifications.models import Notification
from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.support.orders import ADDRESS, act, make_order
from tests.support.team import make_member

SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}


@pytest.fixture
def worker(runtime, monkeypatch):
    from shangliao.jobs import periodic

    monkeypatch.setattr(periodic, "TASKS", {})  # the rules only (the timer has its own tests)
    return Worker(runtime, poll_seconds=30)


@pytest.fixture
def bag(runtime, shop):
    return make_product(runtime, shop, name="帆布包", stock=30, price=3000)


@pytest.fixture
def mug(runtime, shop):
    return make_product(runtime, shop, name="马克杯", stock=30, price=2000)


def rule(shop, trigger: str, actions: list[dict], *, params: dict | None = None, conditions: dict | None = None,
         name: str = "测试规则", client=None) -> dict:  # fmt: skip
    body = {"name": name, "trigger": trigger, "actions": actions}
    if params:
        body["trigger_params"] = params
    if conditions:
        body["conditions"] = conditions
    r = (client or shop.api).post("/api/v1/automation/rules", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def pay_in_full(shop, order: dict) -> None:
    r = shop.api.post(
        f"/api/v1/orders/{order['id']}/payments", json={"method": "wechat", "amount": order["total"]}
    )
    assert r.status_code == 201, r.text


def now(shop, order: dict) -> dict:
    return shop.api.get(f"/api/v1/orders/{order['id']}").json()


def runs(shop, rule_id: int) -> list[dict]:
    return shop.api.get("/api/v1/automation/runs", params={"rule_id": rule_id}).json()["items"]


def test_paid_then_confirm_acts_as_the_shops_automation(shop, bag, worker, console):
    confirm = rule(shop, "order_paid", [{"kind": "status", "action": "confirm"}], name="付款后自动确认")
    order = make_order(shop, [(bag.variant_id, 1)])
    pay_in_full(shop, order)

    worker.run_once()

    assert now(shop, order)["status"] == "confirmed"
    steps = shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()
    assert steps[-1]["actor_type"] == "automation" and steps[-1]["data"]["automation"] == "付款后自动确认"
    assert "自动化：付款后自动确认" in console.get(f"/orders/{order['id']}").text
    [run] = runs(shop, confirm["id"])
    assert (run["matched"], run["outcome"], run["order_id"]) == (True, "done", order["id"])
    assert run["actions"] == [{"kind": "status", "outcome": "done"}]

    worker.run_once()  # nothing twice
    assert len(runs(shop, confirm["id"])) == 1


def test_a_rule_acts_on_what_happens_after_it_is_switched_on(shop, bag, worker):
    before = make_order(shop, [(bag.variant_id, 1)])
    pay_in_full(shop, before)
    tag = rule(shop, "order_paid", [{"kind": "tag", "tag": "已付"}])
    shop.api.patch(f"/api/v1/automation/rules/{tag['id']}", json={"enabled": False})
    off = make_order(shop, [(bag.variant_id, 1)])
    pay_in_full(shop, off)
    worker.run_once()
    shop.api.patch(f"/api/v1/automation/rules/{tag['id']}", json={"enabled": True})
    after = make_order(shop, [(bag.variant_id, 1)])
    pay_in_full(shop, after)

    worker.run_once()

    assert [now(shop, o)["tags"] for o in (before, off, after)] == [[], [], ["已付"]]


@pytest.mark.parametrize(
    ("trigger", "params", "step"),
    [
        ("order_created", None, "placed"),
        ("order_status", {"status": "confirmed"}, "confirmed"),
        ("order_shipped", None, "shipped"),
        ("order_cancelled", None, "cancelled"),
        ("order_status", {"status": "shipped"}, "shipped"),
    ],
)
def test_each_order_trigger_fires_on_its_own_event_only(shop, bag, worker, trigger, params, step):
    made = rule(shop, trigger, [{"kind": "note", "text": f"规则：{step}"}], params=params)
    order = make_order(shop, [(bag.variant_id, 1)])
    worker.run_once()
    if step in ("confirmed", "shipped"):
        order = act(shop, order, "confirm")
        worker.run_once()
    if step == "shipped":
        act(shop, order, "ship", **SHIP)
    if step == "cancelled":
        act(shop, order, "cancel", reason="changed_mind")
    worker.run_once()

    notes = shop.api.get(f"/api/v1/orders/{order['id']}/notes").json()
    assert [n["body"] for n in notes] == [f"规则：{step}"]
    assert [r["outcome"] for r in runs(shop, made["id"])] == ["done"]


def test_a_customer_message_with_a_keyword_triggers_a_reply(runtime, app, shop, bag, worker):
    from tests.support.chat import guest_client, guest_says

    guest = guest_client(app, shop, "小美", "13900003333")
    template = shop.api.post(
        "/api/v1/reply-templates",
        json={"shortcode": "dz", "title": "地址", "body": "{客户名}您好，发货地址在杭州。"},
    ).json()
    made = rule(
        shop,
        "message_received",
        [{"kind": "reply", "template_id": template["id"]}],
        params={"keywords": ["发货地"]},
    )
    for text in ("在吗", "你们发货地是哪里？"):
        guest_says(shop, guest, text)

    worker.run_once()
    worker.run_once()

    messages = shop.api.get(f"/api/v1/conversations/{guest.conversation_id}/messages").json()
    replies = [m for m in messages if m["sender_type"] == "staff"]
    assert [m["body"] for m in replies] == ["小美您好，发货地址在杭州。"]
    assert [r["outcome"] for r in runs(shop, made["id"])] == ["done"]


@pytest.mark.parametrize("match", ["all", "any"])
def test_conditions_all_or_any(runtime, shop, bag, mug, worker, match):
    vip, _ = make_customer(runtime, shop, name="王VIP", phone="13700001111")
    assert shop.api.patch(f"/api/v1/customers/{vip}", json={"tags": ["VIP"]}).status_code == 200
    conditions = {
        "match": match,
        "items": [
            {"kind": "product", "product_ids": [bag.product_id]},
            {"kind": "amount", "min": 5000},
            {"kind": "customer_tag", "tags": ["VIP"]},
            {"kind": "region", "provinces": ["浙江"]},
            {"kind": "channel", "channels": ["manual"]},
        ],
    }
    made = rule(shop, "order_created", [{"kind": "tag", "tag": "命中"}], conditions=conditions)
    every = make_order(shop, [(bag.variant_id, 2)], customer_id=vip)  # all five hold
    some = make_order(shop, [(bag.variant_id, 1)])  # product, region, channel; not amount or tag
    none = make_order(shop, [(mug.variant_id, 1)], address={**ADDRESS, "province": "广东省", "city": "深圳市",
                      "district": "南山区"}, channel="chat")  # fmt: skip

    worker.run_once()

    hit = [now(shop, o)["tags"] == ["命中"] for o in (every, some, none)]
    assert hit == ([True, False, False] if match == "all" else [True, True, False])
    assert sorted(r["matched"] for r in runs(shop, made["id"])) == sorted(hit)


def test_time_of_day_is_the_shops_own(shop, bag, worker, frozen):
    night = {"items": [{"kind": "time_of_day", "start": "22:00", "end": "08:00"}]}
    made = rule(shop, "order_created", [{"kind": "tag", "tag": "夜单"}], conditions=night)
    frozen(datetime(2031, 5, 5, 15, 30, tzinfo=UTC))  # 23:30 in Shanghai
    late = make_order(shop, [(bag.variant_id, 1)])
    frozen(datetime(2031, 5, 6, 4, 0, tzinfo=UTC))  # 12:00 in Shanghai
    noon = make_order(shop, [(bag.variant_id, 1)])
    worker.run_once()
    assert (now(shop, late)["tags"], now(shop, noon)["tags"]) == (["夜单"], [])
    assert len(runs(shop, made["id"])) == 2


def test_assign_and_notify_members(runtime, shop, bag, worker):
    agent = make_member(runtime, shop, role="agent")
    rule(shop, "order_created", [{"kind": "assign", "assignee_id": agent.staff_id},
                                 {"kind": "notify", "staff_ids": [shop.owner_id]}], name="大单提醒")  # fmt: skip
    order = make_order(shop, [(bag.variant_id, 1)])
    worker.run_once()
    assert now(shop, order)["assignee_id"] == agent.staff_id
    with runtime.db.read() as session:
        kinds = session.scalars(
            select(Notification.data).where(
                Notification.staff_id == shop.owner_id, Notification.kind == "automation"
            )
        ).all()
    assert kinds == [{"rule": "大单提醒", "number": order["number"]}]


def test_a_refused_action_is_logged_with_its_code_and_the_managers_told(runtime, shop, bag, worker):
    made = rule(
        shop, "order_created", [{"kind": "status", "action": "prepare"}, {"kind": "tag", "tag": "新单"}]
    )
    order = make_order(shop, [(bag.variant_id, 1)])  # pending: preparing comes after confirming
    worker.run_once()

    [run] = runs(shop, made["id"])
    assert run["outcome"] == "partial"
    assert run["actions"] == [
        {"kind": "status", "outcome": "refused", "code": "order.invalid_transition"},
        {"kind": "tag", "outcome": "done"},
    ]
    assert now(shop, order)["status"] == "pending" and now(shop, order)["tags"] == ["新单"]
    with runtime.db.read() as session:
        told = session.scalars(
            select(Notification.target_id).where(
                Notification.shop_id == shop.id, Notification.kind == "automation_failed"
            )
        ).all()
    assert told == [made["id"]]


def test_rules_triggered_by_rules_stop_at_the_depth_limit(shop, bag, worker):
    rule(shop, "order_paid", [{"kind": "status", "action": "confirm"}])
    rule(shop, "order_status", [{"kind": "status", "action": "prepare"}], params={"status": "confirmed"})
    rule(shop, "order_status", [{"kind": "status", "action": "cancel", "reason": "out_of_stock"}],
         params={"status": "preparing"})  # fmt: skip
    fourth = rule(shop, "order_cancelled", [{"kind": "note", "text": "第四层"}])
    order = make_order(shop, [(bag.variant_id, 1)])
    pay_in_full(shop, order)

    for _ in range(4):
        worker.run_once()

    assert now(shop, order)["status"] == "cancelled"
    assert [r["outcome"] for r in runs(shop, fourth["id"])] == ["depth_limit"]
    assert shop.api.get(f"/api/v1/orders/{order['id']}/notes").json() == []


def test_a_failing_action_is_retried_then_logged(runtime, shop, bag, worker, monkeypatch, frozen):
    made = rule(shop, "order_created", [{"kind": "tag", "tag": "重试"}])
    real = acts.apply
    calls = []

    def flaky(ctx, index, action):
        calls.append(index)
        if len(calls) == 1:
            raise ConnectionError("the database went away")
        real(ctx, index, action)

    monkeypatch.setattr(acts, "apply", flaky)
    frozen(datetime(2031, 6, 1, 8, 0, tzinfo=UTC))
    order = make_order(shop, [(bag.variant_id, 1)])
    worker.run_once()
    [run] = runs(shop, made["id"])
    assert run["outcome"] == "retrying" and now(shop, order)["tags"] == []

    frozen(datetime(2031, 6, 1, 8, 5, tzinfo=UTC))
    worker.run_once()

    [run] = runs(shop, made["id"])
    assert run["outcome"] == "done" and now(shop, order)["tags"] == ["重试"]


def test_who_may_make_which_rules(runtime, shop):
    agent = make_member(runtime, shop, role="agent")
    body = {"name": "x", "trigger": "order_paid", "actions": [{"kind": "tag", "tag": "a"}]}
    assert agent.post("/api/v1/automation/rules", json=body).status_code == 403
    limited = make_member(runtime, shop, permissions={"automation.manage", "orders.read", "orders.write"})
    assert limited.post("/api/v1/automation/rules", json=body).status_code == 201
    cancel = {**body, "actions": [{"kind": "status", "action": "cancel", "reason": "not_paid"}]}
    r = limited.post("/api/v1/automation/rules", json=cancel)
    assert r.status_code == 403  # it cannot hand automation a step it may not take itself


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "trigger": "order_status", "actions": [{"kind": "tag", "tag": "a"}]},
        {"name": "x", "trigger": "order_paid", "actions": []},
        {"name": "x", "trigger": "order_paid", "actions": [{"kind": "launch"}]},
        {"name": "x", "trigger": "when_bored", "actions": [{"kind": "tag", "tag": "a"}]},
        {"name": " ", "trigger": "order_paid", "actions": [{"kind": "tag", "tag": "a"}]},
        {"name": "x", "trigger": "order_paid", "actions": [{"kind": "assign"}]},
        {"name": "x", "trigger": "order_paid", "conditions": {"items": [{"kind": "time_of_day", "start": "25:00",
         "end": "08:00"}]}, "actions": [{"kind": "tag", "tag": "a"}]},
    ],
)  # fmt: skip
def test_a_bad_rule_is_refused_and_nothing_is_saved(shop, body):
    r = shop.api.post("/api/v1/automation/rules", json=body)
    assert r.status_code == 422, r.text
    assert shop.api.get("/api/v1/automation/rules").json()["items"] == []


def test_a_deleted_rule_stops_and_keeps_its_log(shop, bag, worker):
    made = rule(shop, "order_created", [{"kind": "tag", "tag": "a"}])
    make_order(shop, [(bag.variant_id, 1)])
    worker.run_once()
    assert shop.api.delete(f"/api/v1/automation/rules/{made['id']}").status_code == 204
    later = make_order(shop, [(bag.variant_id, 1)])
    worker.run_once()
    assert now(shop, later)["tags"] == [] and len(runs(shop, made["id"])) == 1
    assert shop.api.get(f"/api/v1/automation/rules/{made['id']}").status_code == 404


def test_clock_jumps_do_not_matter_to_rules(shop, bag, worker, frozen):
    frozen(datetime(2031, 7, 1, tzinfo=UTC))
    rule(shop, "order_created", [{"kind": "tag", "tag": "a"}])
    order = make_order(shop, [(bag.variant_id, 1)])
    frozen(datetime(2031, 7, 1, tzinfo=UTC) + timedelta(days=30))
    worker.run_once()
    assert now(shop, order)["tags"] == ["a"]
