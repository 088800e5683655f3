"""The shop's own workflow (流程自定义) and tag palette: what each setting changes in the API's
``allowed_actions``, the refusals, the console's buttons and the batch, and that no setting ever
strands an order. On both databases."""

from __future__ import annotations

import itertools
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shangliao.audit.models import AuditEntry
from shangliao.orders.state import FINAL, Status, allowed_actions
from shangliao.orders.workflow import Workflow
from tests.support.orders import ADDRESS, act, make_order
from tests.support.team import MEMBER_PASSWORD, make_member
from tests.test_console import HTMX
from tests.test_console_new_order import HANGZHOU, placed

SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}


def set_workflow(shop, **fields) -> dict:
    r = shop.api.put("/api/v1/workflow", json=fields)
    assert r.status_code == 200, r.text
    return r.json()


def order_of(shop, order: dict) -> dict:
    return shop.api.get(f"/api/v1/orders/{order['id']}").json()


# --- the setting itself ---------------------------------------------------------------------------


def test_a_shop_starts_with_the_plain_workflow_and_can_change_it(runtime, shop):
    assert shop.api.get("/api/v1/workflow").json() == Workflow().model_dump()

    saved = set_workflow(shop, skip_preparing=True, expire_unpaid_hours=24, manual_required=["remark"])

    assert shop.api.get("/api/v1/workflow").json() == saved
    assert saved["skip_preparing"] is True and saved["auto_archive_days"] is None
    with runtime.db.read() as session:
        audit = session.scalars(
            select(AuditEntry.data).where(AuditEntry.shop_id == shop.id).order_by(AuditEntry.id.desc())
        ).first()
    assert audit == {
        "setting": "workflow",
        "changed": ["expire_unpaid_hours", "manual_required", "skip_preparing"],
    }


@pytest.mark.parametrize(
    "body",
    [
        {"expire_unpaid_hours": 0},
        {"expire_unpaid_hours": 721},
        {"auto_complete_days": 61},
        {"auto_archive_days": "ten"},
        {"manual_required": ["phone"]},
        {"skip_preparing": "sometimes"},
        {"surprise": True},
    ],
)
def test_a_bad_workflow_is_refused_and_changes_nothing(shop, body):
    before = shop.api.get("/api/v1/workflow").json()
    r = shop.api.put("/api/v1/workflow", json=body)
    assert r.status_code == 422, r.text
    assert shop.api.get("/api/v1/workflow").json() == before


def test_only_who_manages_settings_changes_the_workflow(runtime, shop):
    agent = make_member(runtime, shop, role="agent")
    assert agent.get("/api/v1/workflow").status_code == 200
    assert agent.put("/api/v1/workflow", json={"skip_preparing": True}).status_code == 403
    assert agent.put("/api/v1/order-tags", json={"items": []}).status_code == 403
    assert shop.api.get("/api/v1/workflow").json()["skip_preparing"] is False


# --- steps it closes ------------------------------------------------------------------------------


def test_payment_first_keeps_an_unpaid_order_from_being_confirmed(shop, tee):
    set_workflow(shop, require_payment_to_confirm=True)
    order = make_order(shop, [(tee.variant_id, 1)])
    assert order["allowed_actions"] == ["cancel"]

    r = shop.api.post(f"/api/v1/orders/{order['id']}/confirm", json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "order.payment_required"
    assert order_of(shop, order)["status"] == "pending"

    half = shop.api.post(
        f"/api/v1/orders/{order['id']}/payments", json={"method": "wechat", "amount": order["total"] // 2}
    )
    assert half.status_code == 201 and "confirm" not in half.json()["allowed_actions"]
    rest = order["total"] - order["total"] // 2
    paid = shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "wechat", "amount": rest})
    assert paid.status_code == 201 and set(paid.json()["allowed_actions"]) == {"confirm", "cancel"}
    assert act(shop, order, "confirm")["status"] == "confirmed"


def test_skipping_preparing_ships_confirmed_orders_and_strands_none(shop, tee):
    already = act(shop, act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm"), "prepare")
    set_workflow(shop, skip_preparing=True)
    order = act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm")
    assert set(order["allowed_actions"]) == {"ship", "cancel"}

    r = shop.api.post(f"/api/v1/orders/{order['id']}/prepare", json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "order.step_off"
    # an order already preparing when the step was switched off still ships
    assert set(order_of(shop, already)["allowed_actions"]) == {"ship", "cancel"}
    assert act(shop, already, "ship", **SHIP)["status"] == "shipped"
    assert act(shop, order, "ship", **SHIP)["status"] == "shipped"


@pytest.mark.parametrize("paid", [False, True])
@pytest.mark.parametrize("skip,payment_first", list(itertools.product([False, True], repeat=2)))
def test_every_workflow_leaves_every_open_status_a_way_on(skip, payment_first, paid):
    flow = Workflow(skip_preparing=skip, require_payment_to_confirm=payment_first)
    for status in Status:
        if status in FINAL:
            continue
        assert allowed_actions(status, flow, paid_in_full=paid), (status, flow)
        # and nothing a workflow closes is a way out of where the order is now
        assert set(allowed_actions(status)) - set(allowed_actions(status, flow, paid_in_full=paid)) <= {
            "confirm",
            "prepare",
        }


def test_the_console_offers_only_the_steps_the_workflow_keeps(console, shop, tee):
    pending = make_order(shop, [(tee.variant_id, 1)])
    confirmed = act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm")
    assert f"/orders/{confirmed['id']}/do/prepare" in console.get(f"/orders/{confirmed['id']}").text
    assert 'value="prepare"' in console.get("/orders").text

    set_workflow(shop, skip_preparing=True, require_payment_to_confirm=True)

    assert f"/orders/{confirmed['id']}/do/prepare" not in console.get(f"/orders/{confirmed['id']}").text
    assert 'value="prepare"' not in console.get("/orders").text
    page = console.get(f"/orders/{pending['id']}").text
    assert f"/orders/{pending['id']}/do/confirm" not in page and 'data-open="cancel-dialog"' in page
    assert "data-waits-for-payment" in page and "请先登记全额收款" in page  # says why, in words
    # pressed anyway (an old page), the refusal is shown and nothing changes
    version = str(order_of(shop, confirmed)["version"])
    r = console.post(f"/orders/{confirmed['id']}/do/prepare", data={"version": version}, headers=HTMX)
    assert r.status_code == 409 and r.headers["HX-Retarget"] == "#toast"
    assert order_of(shop, confirmed)["status"] == "confirmed"


def test_the_batch_and_its_preview_follow_the_workflow(shop, tee):
    orders = [act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm") for _ in range(2)]
    set_workflow(shop, skip_preparing=True)
    body = {"order_ids": [o["id"] for o in orders], "action": "prepare"}

    preview = shop.api.post("/api/v1/orders/batch/preview", json=body).json()
    assert preview["will_change"] == 0
    assert {r["error"]["code"] for r in preview["results"]} == {"order.step_off"}
    done = shop.api.post("/api/v1/orders/batch", json=body).json()
    assert done["succeeded"] == 0 and [order_of(shop, o)["status"] for o in orders] == ["confirmed"] * 2


def test_a_change_of_workflow_shows_at_once(shop, tee):
    order = act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm")
    assert "prepare" in order_of(shop, order)["allowed_actions"]  # the setting is now cached
    set_workflow(shop, skip_preparing=True)
    assert "prepare" not in order_of(shop, order)["allowed_actions"]
    set_workflow(shop, skip_preparing=False)
    assert "prepare" in order_of(shop, order)["allowed_actions"]


# --- what a manual order must carry ---------------------------------------------------------------


def test_a_manual_order_lacking_what_the_shop_requires_is_refused(shop, tee):
    set_workflow(shop, manual_required=["remark", "tags"])
    before = shop.api.get("/api/v1/orders").json()["items"]

    r = shop.api.post(
        "/api/v1/orders",
        json={"items": [{"variant_id": tee.variant_id, "quantity": 1}], "address": ADDRESS, "remark": "加急"},
    )

    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "order.required_fields" and error["details"]["fields"] == ["tags"]
    assert shop.api.get("/api/v1/orders").json()["items"] == before
    ok = make_order(shop, [(tee.variant_id, 1)], remark="加急", tags=["VIP"])
    assert ok["status"] == "pending"
    # orders from chat and from the shop page are not entered by hand
    assert make_order(shop, [(tee.variant_id, 1)], channel="chat")["status"] == "pending"


def test_a_manual_draft_is_checked_when_made_and_never_stranded(shop, tee):
    earlier = make_order(shop, [(tee.variant_id, 1)], draft=True)
    set_workflow(shop, manual_required=["remark"])

    r = shop.api.post(
        "/api/v1/orders",
        json={"items": [{"variant_id": tee.variant_id, "quantity": 1}], "address": ADDRESS, "draft": True},
    )

    assert r.status_code == 422 and r.json()["error"]["details"]["fields"] == ["remark"]
    # a draft made before the requirement is still submitted (its remark cannot be edited in)
    assert act(shop, earlier, "submit")["status"] == "pending"


def test_the_new_order_page_marks_and_takes_what_the_shop_requires(console, shop, tee):
    set_workflow(shop, manual_required=["remark", "tags", "assignee_id"])
    shop.api.put("/api/v1/order-tags", json={"items": [{"name": "加急", "color": "red"}]})

    page = console.get("/orders/new").text
    assert re.search(r'<textarea name="remark"[^>]*required', page)
    assert re.search(r'<select name="assignee_id" required', page)
    assert 'name="tag" value="加急"' in page and "tag-red" in page
    fields = {"receiver": "李雷", "phone": "13900001234", **HANGZHOU, "detail": "文三路1号",
              "variant_id": tee.variant_id, "quantity": 1}  # fmt: skip
    r = console.post("/orders/new", data={**fields, "remark": "下午送"}, headers=HTMX)
    assert r.status_code == 422 and "标签" in r.text and "负责人" in r.text

    r = console.post(
        "/orders/new",
        data={
            **fields,
            "remark": "下午送",
            "tag": "加急",
            "other_tags": "老客户，礼盒",
            "assignee_id": shop.owner_id,
        },
        headers=HTMX,
    )

    order = shop.api.get(f"/api/v1/orders/{placed(r)}").json()
    assert (
        sorted(order["tags"]) == sorted(["加急", "老客户", "礼盒"]) and order["assignee_id"] == shop.owner_id
    )


# --- the tag palette ------------------------------------------------------------------------------


def test_the_palette_colours_tags_and_leaves_orders_alone(console, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)], tags=["VIP", "加急"])
    palette = {"items": [{"name": "加急", "color": "red"}, {"name": "VIP", "color": "purple"}]}
    assert shop.api.put("/api/v1/order-tags", json=palette).json() == palette
    assert shop.api.get("/api/v1/order-tags").json() == palette

    assert '<span class="tag tag-red">加急' in console.get(f"/orders/{order['id']}").text
    assert '<span class="tag tag-purple">VIP</span>' in console.get("/orders").text

    shop.api.put("/api/v1/order-tags", json={"items": [{"name": "VIP", "color": "purple"}]})
    assert sorted(order_of(shop, order)["tags"]) == ["VIP", "加急"]  # the order keeps its tag
    assert '<span class="tag tag-grey">加急' in console.get(f"/orders/{order['id']}").text


@pytest.mark.parametrize(
    "items",
    [
        [{"name": "VIP", "color": "red"}, {"name": "VIP", "color": "blue"}],
        [{"name": "VIP", "color": "#ff0000"}],
        [{"name": "  ", "color": "red"}],
        [{"name": "x" * 33, "color": "red"}],
        [{"name": f"t{i}", "color": "red"} for i in range(51)],
    ],
)
def test_a_bad_palette_is_refused_and_changes_nothing(shop, items):
    shop.api.put("/api/v1/order-tags", json={"items": [{"name": "老客户", "color": "green"}]})
    r = shop.api.put("/api/v1/order-tags", json={"items": items})
    assert r.status_code == 422, r.text
    assert shop.api.get("/api/v1/order-tags").json()["items"] == [{"name": "老客户", "color": "green"}]


def test_the_settings_page_saves_the_workflow_and_the_palette(runtime, console, shop):
    page = console.get("/settings/workflow")
    assert page.status_code == 200 and 'name="skip_preparing"' in page.text
    assert "/settings/workflow" in console.get("/settings").text

    r = console.post(
        "/settings/workflow",
        data={"skip_preparing": "1", "auto_complete_days": "10", "expire_unpaid_hours": "",
              "manual_required": ["remark"]},
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/settings/workflow?saved=1"
    flow = shop.api.get("/api/v1/workflow").json()
    assert (flow["skip_preparing"], flow["auto_complete_days"], flow["expire_unpaid_hours"]) == (
        True,
        10,
        None,
    )
    assert flow["manual_required"] == ["remark"] and flow["require_payment_to_confirm"] is False

    r = console.post(
        "/settings/workflow/tags",
        data={"tag_name": ["加急", "", " VIP "], "tag_color": ["red", "blue", "purple"]},
    )
    assert r.status_code == 303
    assert shop.api.get("/api/v1/order-tags").json()["items"] == [
        {"name": "加急", "color": "red"},
        {"name": "VIP", "color": "purple"},
    ]
    shown = console.get("/settings/workflow").text
    assert 'value="加急"' in shown
    assert re.search(r'name="skip_preparing" value="1" checked', shown)
    assert not re.search(r'name="require_payment_to_confirm" value="1" checked', shown)


def test_the_settings_page_refuses_a_bad_period_in_words(console, shop):
    r = console.post("/settings/workflow", data={"auto_archive_days": "9999"}, headers=HTMX)
    assert r.status_code == 422 and "自动归档" in r.text
    r = console.post("/settings/workflow", data={"auto_archive_days": "十天"}, headers=HTMX)
    assert r.status_code == 422
    assert shop.api.get("/api/v1/workflow").json()["auto_archive_days"] is None


def test_an_agent_has_no_workflow_page(runtime, app, shop):
    agent = make_member(runtime, shop, role="agent")
    assert agent.get("/api/v1/order-tags").status_code == 200
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    assert (
        client.post("/login", data={"username": agent.username, "password": MEMBER_PASSWORD}).status_code
        == 303
    )
    assert client.get("/settings/workflow").status_code == 403
    assert "/settings/workflow" not in client.get("/orders").text
