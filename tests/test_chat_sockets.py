"""Real sockets: staff and customer exchange messages live, a reconnect replays what it missed, and
sockets that should not open are closed with 1008 before any frame."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import anyio
import pytest
from starlette.websockets import WebSocketDisconnect

from shangliao.storefront.visitors import VISITOR_COOKIE
from tests.support import sockets
from tests.support.sockets import STAFF_WS, guest_socket, next_event, next_message, staff_socket

client, guest = sockets.client, sockets.guest  # fixtures


def test_staff_and_customer_talk_live_over_sockets(client, shop, guest):
    with staff_socket(client, shop) as staff, guest_socket(client, shop, guest) as customer:
        customer.send_text(
            json.dumps({"type": "send", "body": "请问今天能发货吗", "client_id": "cust-00000001"})
        )
        ack = next_event(customer, "ack")
        heard = next_message(staff)
        staff.send_text(
            json.dumps(
                {
                    "type": "send",
                    "conversation_id": guest["conversation_id"],
                    "body": "可以，下午四点前",
                    "client_id": "staff-0000001",
                }
            )
        )
        reply = next_message(customer, sender="staff")

    assert ack["type"] == "ack" and ack["seq"] == 1
    assert heard["message"]["body"] == "请问今天能发货吗" and heard["message"]["sender_type"] == "customer"
    assert reply["message"]["body"] == "可以，下午四点前" and reply["message"]["sender_type"] == "staff"


def test_a_resent_frame_is_stored_once(client, shop, guest):
    frame = json.dumps({"type": "send", "body": "在吗", "client_id": "retry-000001"})
    with guest_socket(client, shop, guest) as customer:
        customer.send_text(frame)
        first = next_event(customer, "ack")
        customer.send_text(frame)
        again = next_event(customer, "ack")

    assert first["id"] == again["id"] and again["replayed"] is True
    listed = shop.api.get(f"/api/v1/conversations/{guest['conversation_id']}/messages").json()
    assert [m["body"] for m in listed] == ["在吗"]


def test_a_reconnect_replays_what_was_missed(client, shop, guest):
    with staff_socket(client, shop) as staff:
        shop.api.post(f"/api/v1/conversations/{guest['conversation_id']}/messages", json={"body": "第一条"})
        seen = next_message(staff)["seq"]
    # while the staff socket is away, two more messages are sent
    for text in ("第二条", "第三条"):
        shop.api.post(f"/api/v1/conversations/{guest['conversation_id']}/messages", json={"body": text})

    with staff_socket(client, shop, after=seen) as staff:
        replayed = [next_message(staff)["message"]["body"] for _ in range(2)]

    assert replayed == ["第二条", "第三条"]


def test_a_replay_longer_than_a_page_comes_whole_and_a_too_long_one_asks_to_reload(
    monkeypatch, client, shop, guest
):
    from shangliao.realtime import feed

    monkeypatch.setattr(feed, "REPLAY_PAGE", 3)
    monkeypatch.setattr(feed, "REPLAY_MAX", 9)
    url = f"/api/v1/conversations/{guest['conversation_id']}/messages"
    with staff_socket(client, shop) as staff:
        shop.api.post(url, json={"body": "0"})
        seen = next_message(staff)["seq"]
    # while away: seven messages, more than two pages of the log (one event each)
    for n in range(1, 8):
        shop.api.post(url, json={"body": str(n)})

    with staff_socket(client, shop, after=seen) as staff:
        replayed = [next_message(staff)["message"]["body"] for _ in range(7)]
    # further behind than the replay goes: told to reload, from the head of the log on
    with staff_socket(client, shop, after=0) as far_behind:
        first = json.loads(far_behind.receive_text())
        shop.api.post(url, json={"body": "after the reload"})
        live = next_message(far_behind)["message"]["body"]

    assert replayed == [str(n) for n in range(1, 8)]
    assert first["type"] == "resync" and first["seq"] >= seen + 7
    assert live == "after the reload"


def test_a_customer_hears_only_their_own_conversation(client, shop, guest):
    other = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "小明", "phone": "13700005678"}).json()
    with guest_socket(client, shop, guest) as mine:
        shop.api.post(f"/api/v1/conversations/{other['conversation_id']}/messages", json={"body": "给小明的"})
        shop.api.post(f"/api/v1/conversations/{guest['conversation_id']}/messages", json={"body": "给小红的"})
        first = next_message(mine)

    assert first["message"]["body"] == "给小红的"


def test_sockets_without_the_right_credential_are_closed_with_1008(client, shop, other_shop, guest):
    attempts = [
        lambda: client.websocket_connect(STAFF_WS),  # no credential
        lambda: client.websocket_connect(STAFF_WS, headers={"Authorization": "Bearer not-a-token"}),
        lambda: client.websocket_connect(  # a signed-in page of another site
            STAFF_WS, headers={"Authorization": f"Bearer {shop.token}", "Origin": "https://evil.example"}
        ),
    ]
    for attempt in attempts:
        with pytest.raises(WebSocketDisconnect) as closed, attempt():
            pass
        assert closed.value.code == 1008
    # a visitor of one shop knocking on another shop's socket
    client.cookies.set(VISITOR_COOKIE, guest["cookie"], path=f"/s/{other_shop.slug}")
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(f"/s/{other_shop.slug}/ws"):
        pass
    assert closed.value.code == 1008


def test_an_oversized_or_garbled_frame_gets_a_clear_answer(client, shop, guest):
    with guest_socket(client, shop, guest) as customer:
        customer.send_text("{not json")
        garbled = json.loads(customer.receive_text())
        customer.send_text(json.dumps({"type": "send", "body": "x" * 20000}))
        with pytest.raises(WebSocketDisconnect) as closed:
            customer.receive_text()

    assert garbled["type"] == "error" and garbled["code"] == "socket.bad_frame"
    assert closed.value.code == 1009


def test_a_new_device_with_a_known_phone_does_not_see_earlier_messages(client, shop, guest):
    shop.api.post(f"/api/v1/conversations/{guest['conversation_id']}/messages", json={"body": "您的地址是…"})

    again = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "冒充者", "phone": "13700001234"})
    client.cookies.set(VISITOR_COOKIE, again.cookies[VISITOR_COOKIE], path=f"/s/{shop.slug}")
    seen = client.get(f"/s/{shop.slug}/api/messages")
    # even once staff link it to the customer whose number it typed (tests/test_shop_phone_claims.py)
    linked = shop.api.post(f"/api/v1/conversations/{again.json()['conversation_id']}/link-claimed")
    seen_linked = client.get(f"/s/{shop.slug}/api/messages")

    assert again.json()["conversation_id"] != guest["conversation_id"]  # a conversation of its own
    assert seen.status_code == 200 and seen.json() == []
    assert linked.json()["id"] == guest["conversation_id"]
    assert seen_linked.status_code == 200 and seen_linked.json() == []


def test_the_shop_page_api_needs_a_visitor(client, shop):
    r = client.get(f"/s/{shop.slug}/api/messages")
    assert r.status_code == 401 and r.json()["error"]["code"] == "chat.visitor_required"


def test_order_changes_reach_the_customer_as_card_updates_without_internal_notes(
    runtime, client, shop, guest
):
    from tests.support.catalog import make_product
    from tests.support.orders import act, make_order

    product = make_product(runtime, shop, stock=5)
    order = make_order(shop, [(product.variant_id, 1)], customer_id=guest["customer_id"])
    with guest_socket(client, shop, guest) as customer:
        shop.api.post(f"/api/v1/orders/{order['id']}/notes", json={"body": "客户难缠，注意"})
        shop.api.put(f"/api/v1/orders/{order['id']}/assignee", json={"assignee_id": shop.owner_id})
        act(shop, order, "confirm")
        heard = []
        while not heard or heard[-1]["event"] != "order.confirmed":
            heard.append(next_event(customer, "event"))

    update = heard[-1]
    # the replay brings the order's creation; the note and the assignment never come
    assert [e["event"] for e in heard if e["event"].startswith("order.")] == [
        "order.created",
        "order.confirmed",
    ]
    assert update["order"]["status"] == "confirmed" and update["order"]["number"] == order["number"]
    assert "address" not in update["order"]
    assert "客户难缠" not in json.dumps(update, ensure_ascii=False)


def test_a_new_device_with_a_known_phone_hears_nothing_of_earlier_orders(runtime, client, shop, guest):
    from tests.support.catalog import make_product
    from tests.support.orders import act, make_order

    product = make_product(runtime, shop, stock=5)
    earlier = make_order(shop, [(product.variant_id, 1)], customer_id=guest["customer_id"])
    again = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "冒充者", "phone": "13700001234"})
    # a typed number alone shows nothing of the customer's at all: staff linked this one
    linked = shop.api.post(f"/api/v1/conversations/{again.json()['conversation_id']}/link-claimed")
    assert linked.status_code == 200, linked.text
    stranger = guest | {"cookie": again.cookies[VISITOR_COOKIE]}
    with guest_socket(client, shop, stranger) as device:
        act(shop, earlier, "confirm")
        later = make_order(shop, [(product.variant_id, 1)], customer_id=guest["customer_id"])
        heard = next_event(device, "event")

    # the first event it hears is the new order: the earlier order's confirmation never came
    assert heard["event"] == "order.created" and heard["order"]["order_id"] == later["id"]


def test_the_customer_sees_when_the_shop_has_read_their_messages(client, shop, guest):
    conversation_id = guest["conversation_id"]
    with guest_socket(client, shop, guest) as customer:
        customer.send_text(json.dumps({"type": "send", "body": "在吗", "client_id": "read-receipt-1"}))
        sent = next_message(customer, "customer")["message"]
        shop.api.post(f"/api/v1/conversations/{conversation_id}/read", json={"seq": sent["seq"]})
        while (receipt := next_event(customer, "event"))["event"] != "conversation.read":
            pass

    # delivered at all: the receipt's message seq once masked the event seq and the socket dropped it
    assert receipt["side"] == "staff" and receipt["read_seq"] == sent["seq"]


def test_introductions_from_one_address_are_rate_limited(runtime, client, shop):
    from sqlalchemy import func, select

    from shangliao.customers.models import Customer
    from shangliao.storefront.api import INTRODUCTIONS

    allowed = int(INTRODUCTIONS.split("/")[0])
    for i in range(allowed):
        r = client.post(f"/s/{shop.slug}/api/visitor", json={"name": f"访客{i}", "phone": f"1360000{i:04d}"})
        assert r.status_code == 200, r.text

    refused = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "再来一个", "phone": "13611112222"})

    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate.limited"
    assert int(refused.headers["retry-after"]) > 0
    with runtime.db.read() as session:
        count = session.scalar(select(func.count()).select_from(Customer).where(Customer.shop_id == shop.id))
    assert count == allowed


def test_a_customer_recalls_their_own_message_and_the_shop_sees_it_recalled(client, shop, guest):
    base = f"/s/{shop.slug}/api/messages"
    sent = client.post(base, json={"body": "发错了"}).json()
    shop_says = shop.api.post(
        f"/api/v1/conversations/{guest['conversation_id']}/messages", json={"body": "好的"}
    ).json()

    mine = client.post(f"{base}/{sent['id']}/recall")
    theirs = client.post(f"{base}/{shop_says['id']}/recall")
    # a second device that joined later cannot take back what was said before it
    again = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "小红", "phone": "13700001234"})
    client.cookies.set(VISITOR_COOKIE, again.cookies[VISITOR_COOKIE], path=f"/s/{shop.slug}")
    earlier = client.post(f"{base}/{sent['id']}/recall")

    assert mine.status_code == 200 and mine.json()["recalled"] is True
    assert theirs.status_code == 403 and earlier.status_code == 404
    shown = shop.api.get(f"/api/v1/conversations/{guest['conversation_id']}/messages").json()
    first = shown[0]
    assert (first["id"], first["recalled"], first["body"]) == (sent["id"], True, "")


def test_events_published_out_of_order_reach_a_socket_in_order_and_whole(runtime, client, shop, guest):
    # given two commits whose publications reach the hub in the other order (each commit publishes
    # from its own thread after it commits, so the later one may come first)
    url = f"/api/v1/conversations/{guest['conversation_id']}/messages"
    with guest_socket(client, shop, guest) as customer:
        shop.api.post(url, json={"body": "开场"})
        next_message(customer, "staff")  # the hub is listening
        publish, held = runtime.bus.publish_many, []
        runtime.bus.publish_many = held.append
        try:
            for text in ("第一条", "第二条"):
                shop.api.post(url, json={"body": text})
        finally:
            runtime.bus.publish_many = publish
        # when the second publication arrives first
        for rows in reversed(held):
            publish(rows)
        heard = [next_message(customer, "staff")["message"]["body"] for _ in range(2)]

    # then the socket hears both, in the order they were committed
    assert heard == ["第一条", "第二条"]


def test_a_client_looping_on_reconnect_is_made_to_wait(monkeypatch, client, shop, guest):
    from shangliao.web import ws

    monkeypatch.setattr(ws, "CONNECTS", "2/minute")
    for _ in range(2):
        with guest_socket(client, shop, guest) as customer:
            customer.send_text(json.dumps({"type": "ping"}))
            next_event(customer, "pong")

    with pytest.raises(WebSocketDisconnect) as closed, guest_socket(client, shop, guest):
        pass
    assert closed.value.code == 1013


def test_a_message_shown_from_memory_is_the_message_as_stored(runtime, client, shop, guest):
    from tests.support.catalog import make_product

    product = make_product(runtime, shop, stock=3)
    url = f"/api/v1/conversations/{guest['conversation_id']}/messages"
    with staff_socket(client, shop) as staff:
        shop.api.post(url, json={"kind": "product_card", "product_id": product.product_id})
        heard = next_message(staff)["message"]

    (stored,) = shop.api.get(url).json()
    # the same fields and values as read back from the database (a time is a time, however written)
    moment = datetime.fromisoformat
    assert moment(heard.pop("created_at")) == moment(stored.pop("created_at"))
    assert heard == stored


def test_the_customer_sees_the_shop_typing(client, shop, guest):
    with staff_socket(client, shop) as staff, guest_socket(client, shop, guest) as customer:
        # given a staff member typing in the customer's conversation
        staff.send_text(json.dumps({"type": "typing", "conversation_id": guest["conversation_id"]}))
        staff.send_text(json.dumps({"type": "ping"}))
        next_event(staff, "pong")  # the typing frame was handled, and the socket is still open
        # then the customer's page hears it
        heard = next_event(customer, "event")

    assert heard["event"] == "typing" and heard["side"] == "staff"


class _ClosedByClient:
    """The server's side of a socket whose client closes it once the replay has reached it, as a
    server sees that: the next read says so, and the server cancels the endpoint (its cancel scope)
    ``turns`` turns of the event loop later; a real server's timing lands it anywhere in there."""

    def __init__(self, app, scope, turns: int) -> None:
        self.app, self.scope, self.turns = app, scope, turns
        self.replayed = asyncio.Event()

    async def receive_text(self) -> str:
        await self.replayed.wait()
        loop = asyncio.get_running_loop()

        def later(turns: int) -> None:
            if turns:
                loop.call_soon(later, turns - 1)
            else:
                self.scope.cancel()

        later(self.turns)
        raise WebSocketDisconnect(1000)

    async def send_text(self, text: str) -> None:
        self.replayed.set()


def test_a_socket_closed_by_its_client_ends_without_an_error_escaping_the_endpoint(client, app, shop, guest):
    from shangliao.realtime.feed import Subscriber
    from shangliao.web.ws import Session

    client.cookies.set(VISITOR_COOKIE, guest["cookie"], path=f"/s/{shop.slug}")
    assert client.post(f"/s/{shop.slug}/api/messages", json={"body": "在吗"}).status_code == 201

    async def serve_until_the_client_closes(turns: int) -> bool:
        subscriber = Subscriber(
            shop.id, "customer", customer_id=guest["customer_id"], conversation_id=guest["conversation_id"]
        )
        # given a socket's session serving in the server's cancel scope, its replay delivered
        with anyio.CancelScope() as scope:
            socket = _ClosedByClient(app, scope, turns)
            session = Session(socket, subscriber, ("customer", guest["customer_id"]))
            # when the client closes it and the server cancels the endpoint soon after
            await session._serve(0, lambda frame: None)
            await anyio.sleep_forever()  # the server's cancellation ends the scope
        return scope.cancelled_caught

    # then, whenever the cancellation lands (while the endpoint's tasks unwind too), it is the
    # server's own and caught by its scope: nothing escapes the endpoint
    for turns in range(8):
        assert asyncio.run(serve_until_the_client_closes(turns)) is True, turns
