"""The console's Webhooks page: add one (its secret shown once), see its deliveries, send a test,
redeliver, a new secret, switch off, delete; refusals in words; hidden without the permission."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from shangliao.jobs import consumers
from shangliao.webhooks import deliver
from tests.support.live import serve
from tests.support.orders import make_order
from tests.support.team import MEMBER_PASSWORD, make_member
from tests.test_console import HTMX
from tests.test_webhooks import Receiver


@pytest.fixture
def receiver(runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "webhook_allow_private", True)
    got = Receiver()
    with serve(got.app) as url:
        got.url = url
        yield got


def hooks(shop) -> list[dict]:
    return shop.api.get("/api/v1/webhooks").json()["items"]


def secret_on(page: str) -> str:
    return re.search(r'<code class="secret"[^>]*>(whsec_[^<]+)</code>', page).group(1)


def test_the_owner_adds_a_webhook_and_watches_it_work(console, shop, tee, receiver, runtime):
    hub = console.get("/settings")
    assert 'href="/settings/webhooks"' in hub.text
    r = console.post(
        "/settings/webhooks", data={"description": "仓库ERP", "url": f"{receiver.url}/erp", "topic": ["order", "stock"]}
    )  # fmt: skip
    assert r.status_code == 200 and r.headers["Cache-Control"] == "private, no-store"
    secret = secret_on(r.text)
    [hook] = hooks(shop)
    assert (hook["description"], hook["topics"]) == ("仓库ERP", ["order", "stock"])
    assert secret not in console.get("/settings/webhooks").text  # shown once

    make_order(shop, [(tee.variant_id, 1)])
    consumers.run_all(runtime)
    deliver.send_due(runtime)
    page = console.get("/settings/webhooks").text
    assert "order.created" in page and "HTTP 200" in page

    assert console.post(f"/settings/webhooks/{hook['id']}/ping").status_code == 303
    deliver.send_due(runtime)
    assert [b["type"] for b in receiver.bodies()] == ["order.created", "ping"]

    delivery = re.search(r'data-delivery="(\d+)"', console.get("/settings/webhooks").text).group(1)
    assert console.post(f"/settings/webhooks/deliveries/{delivery}/redeliver").status_code == 303
    deliver.send_due(runtime)
    assert len(receiver.requests) == 3

    rotated = console.post(f"/settings/webhooks/{hook['id']}/rotate")
    assert secret_on(rotated.text) != secret

    r = console.post(
        f"/settings/webhooks/{hook['id']}",
        data={"url": hook["url"], "topic": ["payment"], "description": "仓库ERP", "version": str(hook["version"])},
    )  # fmt: skip
    assert r.status_code == 303
    assert hooks(shop)[0]["enabled"] is False and hooks(shop)[0]["topics"] == ["payment"]
    stale = console.post(
        f"/settings/webhooks/{hook['id']}",
        data={"url": hook["url"], "topic": "order", "enabled": "1", "version": str(hook["version"])},
        headers=HTMX,
    )  # a form drawn before that change is refused, not applied over it
    assert stale.status_code == 409 and hooks(shop)[0]["topics"] == ["payment"]
    page = console.get("/settings/webhooks").text
    assert "Send a test" not in page and "发送测试" not in page  # off: nothing to send to

    assert console.post(f"/settings/webhooks/{hook['id']}/delete").status_code == 303
    assert hooks(shop) == []


def test_a_private_address_is_refused_in_words(console, shop):
    r = console.post(
        "/settings/webhooks", data={"url": "https://127.0.0.1/x", "topic": "order"}, headers=HTMX
    )
    assert r.status_code == 422 and "私有" in r.text
    # the form swaps in the page's <main> (hx-select): the toast must be selected instead
    assert (r.headers["HX-Retarget"], r.headers["HX-Reselect"]) == ("#toast", ".toast")
    r = console.post("/settings/webhooks", data={"url": "https://example.com/x"}, headers=HTMX)
    assert r.status_code == 422
    assert hooks(shop) == []


def test_without_the_permission_there_is_no_link_and_no_page(app, runtime, shop):
    member = make_member(runtime, shop, permissions=["settings.manage"])
    console = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    assert (
        console.post("/login", data={"username": member.username, "password": MEMBER_PASSWORD}).status_code
        == 303
    )
    assert 'href="/settings/webhooks"' not in console.get("/settings").text
    assert console.get("/settings/webhooks").status_code == 403
    assert console.post("/settings/webhooks", data={"url": "https://example.com"}).status_code == 403
