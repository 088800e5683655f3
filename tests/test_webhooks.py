"""Outbound webhooks (issue 14): events queued exactly once by the consumer, sent signed by the
worker to a real local receiver, retried on the documented schedule, switched off when dead, and
never sent to private addresses unless the operator allows them. On both databases."""

from __future__ import annotations

import itertools
import re
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shangliao.audit.models import AuditEntry
from shangliao.core import clock
from shangliao.jobs import consumers
from shangliao.notifications.models import Notification
from shangliao.webhooks import deliver, ssrf
from shangliao.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from shangliao.webhooks.payload import topic_of
from tests.support.live import serve
from tests.support.orders import make_order
from tests.support.team import make_member

DOCS = Path(__file__).resolve().parents[1] / "docs" / "webhooks.md"
START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def documented_verify():
    """The verification snippet exactly as docs/webhooks.md gives it to integrators."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    [snippet] = [b for b in blocks if "def verify(" in b]
    scope: dict = {}
    exec(snippet, scope)
    return scope["verify"]


class Receiver:
    """A webhook receiver on a real socket: records each request; answers what ``answer`` says."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answer: int = 200
        self.location: str | None = None
        self.lock = threading.Lock()
        self.app = Starlette(routes=[Route("/{path:path}", self.receive, methods=["POST", "GET"])])

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.requests.append({"path": request.url.path, "headers": dict(request.headers), "body": body})
        if self.location:
            return Response(status_code=302, headers={"Location": self.location})
        return JSONResponse({"ok": self.answer < 300}, status_code=self.answer)

    def bodies(self, path: str | None = None) -> list[dict]:
        import json

        return [json.loads(r["body"]) for r in self.requests if path is None or r["path"] == path]


@pytest.fixture
def receiver():
    got = Receiver()
    with serve(got.app) as url:
        got.url = url
        yield got


@pytest.fixture
def private_ok(runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "webhook_allow_private", True)


def subscribe(shop, url: str, topics=("order",), **fields) -> dict:
    r = shop.api.post("/api/v1/webhooks", json={"url": url, "topics": list(topics), **fields})
    assert r.status_code == 201, r.text
    return r.json()


def pass_once(runtime) -> int:
    """What the worker does for webhooks: the consumer queues, then a batch is sent."""
    consumers.run_all(runtime)
    return deliver.send_due(runtime)


def deliveries(shop, webhook_id: int) -> list[dict]:
    r = shop.api.get(f"/api/v1/webhooks/{webhook_id}/deliveries")
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_an_order_event_reaches_the_receiver_signed_as_documented(shop, tee, receiver, private_ok, runtime):
    hook = subscribe(shop, f"{receiver.url}/hooks/orders", description="ERP")
    assert hook["secret"].startswith("whsec_") and "secret" not in shop.api.get("/api/v1/webhooks").text
    order = make_order(shop, [(tee.variant_id, 1)])

    assert receiver.requests == []  # the request that made the order sent nothing
    assert pass_once(runtime) == 1

    [request] = receiver.requests
    verify = documented_verify()
    headers = request["headers"]
    assert verify(hook["secret"], headers["x-shangliao-signature"], request["body"])
    assert not verify("whsec_other", headers["x-shangliao-signature"], request["body"])
    assert not verify(hook["secret"], headers["x-shangliao-signature"], request["body"] + b" ")
    [body] = receiver.bodies()
    assert body["type"] == "order.created" == headers["x-shangliao-event"]
    assert body["id"] == headers["x-shangliao-event-id"] and body["id"].startswith("evt_")
    assert (body["api_version"], body["shop"]["slug"], body["entity"]) == (
        1, shop.slug, {"type": "order", "id": order["id"]},
    )  # fmt: skip
    assert body["data"]["number"] == order["number"] and body["delivery"]["attempt"] == 1
    assert "13800" not in request["body"].decode() and "张三" not in request["body"].decode()  # no PII

    [delivery] = deliveries(shop, hook["id"])
    assert (delivery["status"], delivery["last_status"], delivery["attempts"]) == ("succeeded", 200, 1)
    detail = shop.api.get(f"/api/v1/webhooks/deliveries/{delivery['id']}").json()
    assert [a["status"] for a in detail["attempts_log"]] == [200]

    assert pass_once(runtime) == 0 and len(receiver.requests) == 1  # nothing twice


def test_the_consumer_queues_each_event_once_per_webhook_and_topic(shop, tee, receiver, private_ok, runtime):
    orders = subscribe(shop, f"{receiver.url}/orders", topics=["order"])
    payments = subscribe(shop, f"{receiver.url}/payments", topics=["payment", "stock"])
    order = make_order(shop, [(tee.variant_id, 1)])
    shop.api.post(
        f"/api/v1/orders/{order['id']}/payments", json={"method": "wechat", "amount": order["total"]}
    )

    consumers.run_all(runtime)
    with runtime.db.write() as session:  # a crash re-delivers an event: its key keeps it single
        from shangliao.events.log import since
        from shangliao.webhooks.consumer import handle

        for event in since(session, shop.id, 0):
            handle(session, event, runtime)
    while deliver.send_due(runtime):
        pass

    assert [b["type"] for b in receiver.bodies("/orders")] == ["order.created"]
    assert [b["type"] for b in receiver.bodies("/payments")] == ["order.paid"]
    assert len(deliveries(shop, orders["id"])) == 1 and len(deliveries(shop, payments["id"])) == 1


@pytest.mark.parametrize(
    ("event_type", "topic"),
    [
        ("order.created", "order"),
        ("order.shipped", "order"),
        ("order.paid", "payment"),
        ("order.refunded", "payment"),
        ("order.proof_uploaded", "payment"),
        ("order.aftersale", "aftersales"),
        ("message.created", "message"),
        ("message.recalled", "message"),
        ("stock.low", "stock"),
        ("conversation.read", None),
        ("customer.updated", None),
    ],
)
def test_topics(event_type, topic):
    assert topic_of(event_type) == topic


def until_settled(runtime, frozen, delivery_id: int, *, limit: int = 30) -> list[datetime]:
    """Send, then move the clock to the next try, until the delivery is no longer pending; the
    times of the tries."""
    tries = []
    for _ in range(limit):
        assert deliver.send_due(runtime) == 1
        tries.append(clock.now())
        with runtime.db.read() as session:
            row = session.get(WebhookDelivery, delivery_id)
            if row.status != "pending":
                return tries
            frozen(row.next_attempt_at)
    raise AssertionError("still pending")


def failing_from_start(shop, tee, receiver, runtime, frozen, answer: int) -> tuple[dict, dict]:
    """At START, a webhook whose receiver answers ``answer`` and an order's delivery queued for it."""
    frozen(START)
    receiver.answer = answer
    hook = subscribe(shop, f"{receiver.url}/down")
    make_order(shop, [(tee.variant_id, 1)])
    consumers.run_all(runtime)
    [delivery] = deliveries(shop, hook["id"])
    return hook, delivery


def test_a_failing_endpoint_is_retried_on_the_schedule_and_dead_after_a_day(
    shop, tee, receiver, private_ok, runtime, frozen
):
    hook, delivery = failing_from_start(shop, tee, receiver, runtime, frozen, 500)

    tries = until_settled(runtime, frozen, delivery["id"])

    gaps = [(b - a) / timedelta(minutes=1) for a, b in itertools.pairwise(tries)]
    for gap, planned in zip(gaps, [*deliver.RETRY_MINUTES, 480, 480], strict=False):
        assert 0.8 * planned <= gap <= 1.2 * planned + 0.01
    assert tries[-1] - START <= timedelta(hours=24) < tries[-1] - START + timedelta(hours=8 * 1.2)
    [row] = deliveries(shop, hook["id"])
    assert (row["status"], row["last_status"], row["attempts"]) == ("dead", 500, len(tries))
    assert len({b["id"] for b in receiver.bodies()}) == 1  # one event, tried again and again
    assert [b["delivery"]["attempt"] for b in receiver.bodies()] == list(range(1, len(tries) + 1))


def test_a_webhook_failing_for_days_is_switched_off_and_the_owner_told(
    shop, tee, receiver, private_ok, runtime, frozen, monkeypatch
):
    monkeypatch.setattr(runtime.settings, "webhook_disable_after_days", 1)
    hook, first = failing_from_start(shop, tee, receiver, runtime, frozen, 503)

    until_settled(runtime, frozen, first["id"])  # a day of failures, then dead
    assert shop.api.get(f"/api/v1/webhooks/{hook['id']}").json()["failing_since"] is not None
    frozen(START + timedelta(hours=25))
    make_order(shop, [(tee.variant_id, 1)])  # the next failure, a day after the first
    pass_once(runtime)

    now = shop.api.get(f"/api/v1/webhooks/{hook['id']}").json()
    assert (now["enabled"], now["disabled_reason"]) == (False, "failing")
    with runtime.db.read() as session:
        told = session.scalars(
            select(Notification).where(
                Notification.shop_id == shop.id, Notification.kind == "webhook_disabled"
            )
        ).all()
        assert [n.staff_id for n in told] == [shop.owner_id]
        assert session.scalar(
            select(func.count()).select_from(AuditEntry).where(
                AuditEntry.shop_id == shop.id, AuditEntry.act == "webhook.disabled"
            )
        ) == 1  # fmt: skip
    sent = len(receiver.requests)
    make_order(shop, [(tee.variant_id, 1)])  # switched off: nothing more is queued or sent
    frozen(clock.now() + timedelta(days=2))
    pass_once(runtime)
    assert len(receiver.requests) == sent and len(deliveries(shop, hook["id"])) == 2

    # Switched on again: a fresh start, from that moment.
    r = shop.api.put(f"/api/v1/webhooks/{hook['id']}", json={"url": hook["url"], "topics": ["order"]})
    assert r.json()["enabled"] is True and r.json()["failing_since"] is None
    receiver.answer = 200
    make_order(shop, [(tee.variant_id, 1)])
    pass_once(runtime)
    assert deliveries(shop, hook["id"])[0]["status"] == "succeeded"


def test_one_success_keeps_a_flaky_webhook_on(shop, tee, receiver, private_ok, runtime, frozen, monkeypatch):
    monkeypatch.setattr(runtime.settings, "webhook_disable_after_days", 1)
    frozen(START)
    hook = subscribe(shop, f"{receiver.url}/flaky")
    receiver.answer = 500
    make_order(shop, [(tee.variant_id, 1)])
    pass_once(runtime)
    frozen(START + timedelta(hours=20))
    receiver.answer = 200
    make_order(shop, [(tee.variant_id, 1)])
    pass_once(runtime)
    frozen(START + timedelta(hours=30))
    receiver.answer = 500
    make_order(shop, [(tee.variant_id, 1)])
    while deliver.send_due(runtime):
        pass
    assert shop.api.get(f"/api/v1/webhooks/{hook['id']}").json()["enabled"] is True


def test_redeliver_sends_the_same_event_again(shop, tee, receiver, private_ok, runtime):
    hook = subscribe(shop, f"{receiver.url}/r")
    make_order(shop, [(tee.variant_id, 1)])
    pass_once(runtime)
    [original] = deliveries(shop, hook["id"])

    r = shop.api.post(f"/api/v1/webhooks/deliveries/{original['id']}/redeliver")
    assert r.status_code == 202, r.text
    deliver.send_due(runtime)

    first, again = receiver.bodies()
    assert first["id"] == again["id"] and first["data"] == again["data"]
    assert again["delivery"]["id"] == r.json()["id"] != original["id"]
    assert deliveries(shop, hook["id"])[0]["redelivery_of"] == original["id"]


def test_a_worker_that_dies_between_send_and_record_sends_the_same_event_again(
    shop, tee, receiver, private_ok, runtime, frozen
):
    frozen(START)
    hook = subscribe(shop, f"{receiver.url}/k")
    make_order(shop, [(tee.variant_id, 1)])
    consumers.run_all(runtime)
    [leased] = deliver.claim(runtime, 4)
    import httpx

    with httpx.Client() as client:  # the POST goes out; then the process dies before recording it
        assert deliver.post(client, leased, allow_private=True).ok
    assert deliver.send_due(runtime) == 0  # leased: nobody else sends it meanwhile

    frozen(START + deliver.lease(runtime) + timedelta(seconds=1))
    assert deliver.send_due(runtime) == 1

    first, again = receiver.bodies()
    assert first["id"] == again["id"]
    assert [b["delivery"]["attempt"] for b in (first, again)] == [1, 2]
    [row] = deliveries(shop, hook["id"])
    assert (row["status"], row["attempts"]) == ("succeeded", 2)


def test_a_redirect_is_not_followed(shop, tee, receiver, private_ok, runtime):
    hook = subscribe(shop, f"{receiver.url}/moved")
    receiver.location = f"{receiver.url}/elsewhere"
    make_order(shop, [(tee.variant_id, 1)])
    pass_once(runtime)
    assert [r["path"] for r in receiver.requests] == ["/moved"]
    [row] = deliveries(shop, hook["id"])
    assert (row["status"], row["last_status"]) == ("pending", 302)


def test_a_slow_receiver_times_out_and_is_tried_again(shop, tee, private_ok, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "webhook_timeout", 0.5)
    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        hook = subscribe(shop, f"http://127.0.0.1:{silent.getsockname()[1]}/slow")
        make_order(shop, [(tee.variant_id, 1)])
        pass_once(runtime)
    [row] = deliveries(shop, hook["id"])
    assert (row["status"], row["last_status"], row["last_error"]) == ("pending", None, "timeout")


def test_making_an_order_never_waits_for_a_webhook(shop, tee, private_ok, runtime):
    """Sending is the worker's alone: with a dead endpoint subscribed, the request writes no
    delivery and opens no connection (the consumer queues it afterwards)."""
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        port = dead.getsockname()[1]  # bound, not listening: a connection would be refused
        hook = subscribe(shop, f"http://127.0.0.1:{port}/dead")
        order = make_order(shop, [(tee.variant_id, 1)])
        assert order["status"] == "pending" and deliveries(shop, hook["id"]) == []
        pass_once(runtime)
    [row] = deliveries(shop, hook["id"])
    assert row["status"] == "pending" and "ConnectError" in row["last_error"]


PRIVATE = [
    "https://127.0.0.1/x",
    "https://localhost/x",
    "https://10.0.0.1/x",
    "https://[::1]/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/x",
    "https://192.168.1.1/x",
    "https://[fd00::1]/x",
    "https://2130706433/x",  # 127.0.0.1 as one number
]


@pytest.mark.parametrize("url", PRIVATE)
def test_private_targets_are_refused_when_saved(shop, url):
    r = shop.api.post("/api/v1/webhooks", json={"url": url, "topics": ["order"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "webhook.private_target", r.text
    assert shop.api.get("/api/v1/webhooks").json()["items"] == []


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://example.com/x", "webhook.https_only"),
        ("ftp://example.com/x", "webhook.https_only"),
        ("https://user:pw@example.com/x", "webhook.userinfo"),
        ("https:///nohost", "webhook.bad_url"),
        ("https://example.com:99999/x", "webhook.bad_url"),
        ("https://no-such-host.invalid/x", "webhook.unresolvable"),
        ("https://example.com/a\x01b", "webhook.bad_url"),
        ("https://exa mple.com/", "webhook.bad_url"),
    ],
)
def test_bad_addresses_are_refused(shop, url, code):
    r = shop.api.post("/api/v1/webhooks", json={"url": url, "topics": ["order"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text


def test_the_address_is_checked_again_at_every_send(shop, tee, receiver, private_ok, runtime, monkeypatch):
    hook = subscribe(shop, f"{receiver.url}/x")
    monkeypatch.setattr(runtime.settings, "webhook_allow_private", False)
    make_order(shop, [(tee.variant_id, 1)])
    pass_once(runtime)
    assert receiver.requests == []
    [row] = deliveries(shop, hook["id"])
    # (the receiver is plain http on loopback: the first rule it breaks is https)
    assert (row["status"], row["last_error"]) == ("pending", "webhook.https_only")


def fake_dns(answers: dict[str, list[str]]):
    def resolve(host, port, type=0):
        if host not in answers:
            raise socket.gaierror("unknown")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, type, 6, "", (a, port)) for a in answers[host]
        ]

    return resolve


def test_a_name_must_resolve_to_public_addresses_only_and_is_sent_to_the_one_checked():
    public = ssrf.check_target(
        "https://hooks.example.com:8443/in?x=1", allow_private=False,
        resolve=fake_dns({"hooks.example.com": ["93.184.215.14"]}),
    )  # fmt: skip
    assert public.connect_url == "https://93.184.215.14:8443/in?x=1"
    assert public.host_header == "hooks.example.com:8443"
    mixed = fake_dns({"rebind.example.com": ["93.184.215.14", "127.0.0.1"]})
    with pytest.raises(Exception, match=r"webhook\.private_target"):
        ssrf.check_target("https://rebind.example.com/", allow_private=False, resolve=mixed)
    for hidden in (
        "::ffff:10.1.2.3",
        "64:ff9b::a00:1",
        "2002:7f00:1::",
        "64:ff9b:1::5",
        "::7f00:1",
        "2001::1",
    ):
        # IPv4-mapped, NAT64 of 10.0.0.1, 6to4 of 127.0.0.1, local NAT64, IPv4-compatible, Teredo
        with pytest.raises(Exception, match=r"webhook\.private_target"):
            ssrf.check_target(
                "https://m.example.com/", allow_private=False, resolve=fake_dns({"m.example.com": [hidden]})
            )
    nat64_public = fake_dns({"n.example.com": ["64:ff9b::5db8:d70e"]})  # 93.184.215.14
    assert ssrf.check_target("https://n.example.com/", allow_private=False, resolve=nat64_public)
    idn = ssrf.check_target(
        "https://bücher.example/",
        allow_private=False,
        resolve=fake_dns({"xn--bcher-kva.example": ["93.184.215.14"]}),
    )
    assert idn.host_header == "xn--bcher-kva.example"  # sent as IDNA, as it was resolved


def test_rotating_the_secret_signs_with_the_new_one_only(shop, tee, receiver, private_ok, runtime):
    made = shop.api.post("/api/v1/webhooks", json={"url": f"{receiver.url}/rot", "topics": ["order"]})
    assert made.headers["Cache-Control"] == "private, no-store"  # it holds the secret
    hook = made.json()
    r = shop.api.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret")
    assert r.status_code == 200 and r.json()["secret"] != hook["secret"]
    assert r.headers["Cache-Control"] == "private, no-store"
    make_order(shop, [(tee.variant_id, 1)])
    pass_once(runtime)
    [request] = receiver.requests
    verify, signature = documented_verify(), request["headers"]["x-shangliao-signature"]
    assert verify(r.json()["secret"], signature, request["body"])
    assert not verify(hook["secret"], signature, request["body"])


def test_ping_and_switching_off(shop, receiver, private_ok, runtime):
    hook = subscribe(shop, f"{receiver.url}/ping")
    r = shop.api.post(f"/api/v1/webhooks/{hook['id']}/ping")
    assert r.status_code == 202, r.text
    deliver.send_due(runtime)
    [body] = receiver.bodies()
    assert body["type"] == "ping" and body["shop"]["slug"] == shop.slug
    assert deliveries(shop, hook["id"])[0]["status"] == "succeeded"

    r = shop.api.put(
        f"/api/v1/webhooks/{hook['id']}",
        json={"url": hook["url"], "topics": ["order"], "enabled": False, "version": 1},
    )
    assert r.status_code == 200 and r.json()["enabled"] is False, r.text
    stale = shop.api.put(
        f"/api/v1/webhooks/{hook['id']}", json={"url": hook["url"], "topics": ["order"], "version": 1}
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "webhook.version_conflict"
    assert shop.api.post(f"/api/v1/webhooks/{hook['id']}/ping").status_code == 409


def test_bad_bodies_change_nothing(shop, private_ok):
    for body in (
        {"url": "https://example.com/x", "topics": []},
        {"url": "https://example.com/x", "topics": ["orders"]},
        {"url": "https://example.com/x", "topics": ["order"], "extra": 1},
        {"url": 5, "topics": ["order"]},
        {"url": "https://example.com/" + "x" * 2000, "topics": ["order"]},
    ):
        r = shop.api.post("/api/v1/webhooks", json=body)
        assert r.status_code == 422, (body, r.text)
    assert shop.api.get("/api/v1/webhooks").json()["items"] == []


def test_other_shops_and_members_without_the_permission_see_nothing(
    shop, other_shop, receiver, private_ok, runtime
):
    hook = subscribe(shop, f"{receiver.url}/mine")
    shop.api.post(f"/api/v1/webhooks/{hook['id']}/ping")
    [delivery] = deliveries(shop, hook["id"])
    assert other_shop.api.get(f"/api/v1/webhooks/{hook['id']}").status_code == 404
    assert other_shop.api.get(f"/api/v1/webhooks/deliveries/{delivery['id']}").status_code == 404
    assert other_shop.api.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/redeliver").status_code == 404
    assert other_shop.api.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 404
    agent = make_member(runtime, shop, role="agent")
    assert agent.get("/api/v1/webhooks").status_code == 403


def test_a_rule_calls_a_webhook_whatever_its_topics(shop, tee, receiver, private_ok, runtime):
    hook = subscribe(shop, f"{receiver.url}/rule", topics=["stock"])
    r = shop.api.post(
        "/api/v1/automation/rules",
        json={"name": "付款通知ERP", "trigger": "order_paid", "actions": [{"kind": "webhook", "webhook_id": hook["id"]}]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    order = make_order(shop, [(tee.variant_id, 1)])
    shop.api.post(
        f"/api/v1/orders/{order['id']}/payments", json={"method": "wechat", "amount": order["total"]}
    )
    pass_once(runtime)

    [body] = receiver.bodies()
    assert body["type"] == "order.paid" and body["rule"] == {"id": r.json()["id"], "name": "付款通知ERP"}
    [run] = shop.api.get("/api/v1/automation/runs").json()["items"]
    assert run["actions"] == [{"kind": "webhook", "outcome": "done"}]


def test_a_rule_whose_webhook_is_off_is_refused_in_its_log(shop, tee, receiver, private_ok, runtime):
    hook = subscribe(shop, f"{receiver.url}/off", enabled=False)
    shop.api.post(
        "/api/v1/automation/rules",
        json={"name": "x", "trigger": "order_created", "actions": [{"kind": "webhook", "webhook_id": hook["id"]}]},
    )  # fmt: skip
    make_order(shop, [(tee.variant_id, 1)])
    pass_once(runtime)
    [run] = shop.api.get("/api/v1/automation/runs").json()["items"]
    assert run["outcome"] == "refused" and run["actions"][0]["code"] == "rule.webhook_off"
    assert receiver.requests == []


def test_old_tries_are_pruned(shop, tee, receiver, private_ok, runtime, frozen):
    frozen(START)
    hook = subscribe(shop, f"{receiver.url}/p")
    make_order(shop, [(tee.variant_id, 1)])
    pass_once(runtime)
    frozen(START + timedelta(days=31))
    assert deliver.prune(runtime) >= 2
    assert deliveries(shop, hook["id"]) == []
    with runtime.db.read() as session:
        assert session.scalar(select(func.count()).select_from(WebhookAttempt).where(
            WebhookAttempt.shop_id == shop.id)) == 0  # fmt: skip


def test_a_webhook_whose_secret_cannot_be_read_stops_no_other(shop, tee, receiver, private_ok, runtime):
    broken = subscribe(shop, f"{receiver.url}/broken")
    fine = subscribe(shop, f"{receiver.url}/fine")
    with runtime.db.write() as session:  # as if its key had left the ring
        session.get(WebhookSubscription, broken["id"]).secret_enc = b"not a sealed value"
    make_order(shop, [(tee.variant_id, 1)])
    pass_once(runtime)
    assert [r["path"] for r in receiver.requests] == ["/fine"]
    assert deliveries(shop, fine["id"])[0]["status"] == "succeeded"
    [dead] = deliveries(shop, broken["id"])
    assert (dead["status"], dead["last_error"]) == ("dead", "secret_unreadable")


def test_two_workers_send_each_delivery_once(shop, tee, receiver, private_ok, runtime):
    """Two senders at once (SKIP LOCKED on PostgreSQL, the one writer on SQLite): each delivery
    is leased by one of them and sent once."""
    subscribe(shop, f"{receiver.url}/pair")
    for _ in range(10):
        make_order(shop, [(tee.variant_id, 1)])
    consumers.run_all(runtime)

    def drain():
        while deliver.send_due(runtime):
            pass

    workers = [threading.Thread(target=drain) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)

    ids = [b["id"] for b in receiver.bodies()]
    assert len(ids) == 10 == len(set(ids))
