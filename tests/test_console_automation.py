"""The console's 自动化 page: presets, the rule editor, switching, the preview and the run log."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.orders import make_order
from tests.support.team import MEMBER_PASSWORD, make_member
from tests.test_console import HTMX


def rules(shop) -> list[dict]:
    return shop.api.get("/api/v1/automation/rules").json()["items"]


def test_the_owner_switches_on_a_preset_and_off_again(console, shop):
    page = console.get("/automation")
    assert page.status_code == 200 and "付款后自动确认" in page.text and 'href="/automation"' in page.text

    r = console.post("/automation/presets/paid_confirm", data={})
    assert r.status_code == 303
    [rule] = rules(shop)
    assert rule["preset_key"] == "paid_confirm" and rule["enabled"] is True

    assert console.post(f"/automation/rules/{rule['id']}/switch", data={"enabled": "0"}).status_code == 303
    assert rules(shop)[0]["enabled"] is False


def test_the_editor_makes_a_rule_from_the_filled_groups(console, shop, tee):
    r = console.post(
        "/automation/rules",
        data={"name": "大单加急", "trigger": "order_created", "match": "all", "amount_min": "100",
              "product_id": str(tee.product_id), "channel": ["manual", "chat"], "tag": "加急",
              "note": "优先发货", "delay_minutes": ""},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    [rule] = rules(shop)
    assert rule["name"] == "大单加急" and rule["trigger"] == "order_created"
    assert rule["conditions"]["items"] == [
        {"kind": "product", "product_ids": [tee.product_id], "skus": []},
        {"kind": "amount", "min": 10000, "max": None},
        {"kind": "channel", "channels": ["manual", "chat"]},
    ]
    assert rule["actions"] == [{"kind": "tag", "tag": "加急"}, {"kind": "note", "text": "优先发货"}]
    assert "大单加急" in console.get("/automation").text


def test_a_rule_without_an_action_is_refused_in_words(console, shop):
    r = console.post("/automation/rules", data={"name": "空规则", "trigger": "order_paid"}, headers=HTMX)
    assert r.status_code == 422 and r.headers["HX-Retarget"] == "#toast" and "操作" in r.text
    assert rules(shop) == []


def test_the_preview_lists_recent_orders(console, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    r = console.post(
        "/automation/preview", data={"name": "x", "trigger": "order_created", "tag": "x"}, headers=HTMX
    )
    assert r.status_code == 200 and order["number"] in r.text
    assert rules(shop) == []


def test_deleting_a_rule_keeps_it_out_of_the_page(console, shop):
    console.post("/automation/presets/shipped_tracking", data={})
    [rule] = rules(shop)
    assert console.post(f"/automation/rules/{rule['id']}/delete").status_code == 303
    assert rules(shop) == []


def test_an_agent_has_neither_the_link_nor_the_page(runtime, app, shop):
    agent = make_member(runtime, shop, role="agent")
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    assert (
        client.post("/login", data={"username": agent.username, "password": MEMBER_PASSWORD}).status_code
        == 303
    )
    assert 'href="/automation"' not in client.get("/orders").text
    assert client.get("/automation").status_code == 403
    assert client.post("/automation/presets/paid_confirm").status_code == 403
