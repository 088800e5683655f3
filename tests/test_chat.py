"""Conversations and messages: sending, idempotent resend, recall as evidence, the hash chain, the
inbox, read receipts, cards, and shop isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from shangliao.chat import chain
from shangliao.chat.models import ChainCheckpoint, Message
from shangliao.chat.rates import SENDS
from shangliao.chat.verify import sign_heads, verify
from shangliao.core import clock
from shangliao.events.models import EventLogEntry
from shangliao.storefront.api import RECALLS
from tests.support.catalog import make_product
from tests.support.chat import customer_says, say
from tests.support.customers import make_customer
from tests.support.orders import act, make_order, variant_stock

CONVERSATIONS = "/api/v1/conversations"


@pytest.fixture
def conversation(runtime, shop) -> dict:
    customer_id, _ = make_customer(runtime, shop, name="李四", phone="13900001111")
    r = shop.api.post(f"/api/v1/customers/{customer_id}/conversation")
    assert r.status_code == 200, r.text
    return r.json()


def messages(shop, conversation: dict, **params) -> list[dict]:
    r = shop.api.get(f"{CONVERSATIONS}/{conversation['id']}/messages", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def breaks(runtime, shop) -> list[chain.Break]:
    return verify(runtime.db, runtime.keyring, shop.id)


# --- sending ----------------------------------------------------------------------------------------------


def test_messages_from_both_sides_come_back_in_order(runtime, shop, conversation):
    customer_says(runtime, shop, conversation, "在吗？这件有红色吗")
    say(shop, conversation, "有的，红色 M 码还有 3 件")

    listed = messages(shop, conversation)

    assert [(m["seq"], m["sender_type"], m["body"]) for m in listed] == [
        (1, "customer", "在吗？这件有红色吗"),
        (2, "staff", "有的，红色 M 码还有 3 件"),
    ]
    logged = event_types(runtime, shop)
    assert logged.count("message.created") == 2


def event_types(runtime, shop) -> list[str]:
    with runtime.db.read() as session:
        return list(
            session.scalars(
                select(EventLogEntry.type).where(EventLogEntry.shop_id == shop.id).order_by(EventLogEntry.seq)
            )
        )


def test_a_retried_send_returns_the_first_attempt(shop, conversation):
    first = say(shop, conversation, "好的，马上发货", client_id="c-7f3a9e21")
    again = say(shop, conversation, "好的，马上发货", client_id="c-7f3a9e21")

    assert again["id"] == first["id"] and again["replayed"] is True and first["replayed"] is False
    assert [m["id"] for m in messages(shop, conversation)] == [first["id"]]


def test_a_client_id_used_by_the_other_side_is_refused(runtime, shop, conversation):
    customer_says(runtime, shop, conversation, "你好", client_id="shared-0001")

    r = shop.api.post(
        f"{CONVERSATIONS}/{conversation['id']}/messages", json={"body": "你好", "client_id": "shared-0001"}
    )

    assert r.status_code == 409 and r.json()["error"]["code"] == "chat.client_id_taken"


@pytest.mark.parametrize(
    "body",
    [
        {"body": "   "},
        {"body": "x" * 2001},
        {"kind": "order_card"},
        {"kind": "voice", "body": "hi"},
        {"body": "hi", "client_id": "short"},
        {"body": "hi", "colour": "red"},
    ],
)
def test_bad_messages_are_refused_and_nothing_is_written(runtime, shop, conversation, body):
    r = shop.api.post(f"{CONVERSATIONS}/{conversation['id']}/messages", json=body)

    assert r.status_code == 422, r.text
    assert messages(shop, conversation) == [] and "message.created" not in event_types(runtime, shop)


def test_cards_carry_a_snapshot_of_the_product_and_the_order(runtime, shop, conversation):
    product = make_product(runtime, shop, stock=10, price=2500)
    order = make_order(shop, [(product.variant_id, 2)], customer_id=conversation["customer_id"])

    card = say(shop, conversation, "", kind="product_card", product_id=product.product_id)
    order_card = say(shop, conversation, "请核对订单", kind="order_card", order_id=order["id"])

    assert card["data"]["price_min"] == 2500 and card["data"]["name"]
    assert order_card["data"]["number"] == order["number"] and order_card["data"]["total"] == 5000


def test_another_shops_conversation_order_or_product_is_not_found(runtime, shop, other_shop, conversation):
    theirs = make_product(runtime, other_shop, stock=5)
    their_order = make_order(other_shop, [(theirs.variant_id, 1)])

    as_other = other_shop.api.post(f"{CONVERSATIONS}/{conversation['id']}/messages", json={"body": "hi"})
    their_card = shop.api.post(
        f"{CONVERSATIONS}/{conversation['id']}/messages",
        json={"kind": "order_card", "order_id": their_order["id"]},
    )
    their_list = other_shop.api.get(f"{CONVERSATIONS}/{conversation['id']}/messages")

    assert as_other.status_code == 404 and their_card.status_code == 404 and their_list.status_code == 404
    assert messages(shop, conversation) == []


def test_an_order_card_shows_only_this_customers_orders(runtime, shop, conversation):
    product = make_product(runtime, shop, stock=5)
    someone_elses = make_order(shop, [(product.variant_id, 1)])

    r = shop.api.post(
        f"{CONVERSATIONS}/{conversation['id']}/messages",
        json={"kind": "order_card", "order_id": someone_elses["id"]},
    )

    assert r.status_code == 404 and r.json()["error"]["code"] == "order.not_found"
    assert messages(shop, conversation) == []


# --- payment requests and quotes ---------------------------------------------------------------------------


def send(shop, conversation: dict, **fields):
    return shop.api.post(f"{CONVERSATIONS}/{conversation['id']}/messages", json=fields)


def refused_and_nothing_sent(r, status: int, code: str | None, shop, conversation) -> None:
    assert r.status_code == status, r.text
    if code is not None:
        assert r.json()["error"]["code"] == code
    assert messages(shop, conversation) == []


def test_a_payment_request_asks_for_the_unpaid_balance_by_default(runtime, shop, conversation):
    product = make_product(runtime, shop, stock=10, price=2500)
    order = make_order(shop, [(product.variant_id, 2)], customer_id=conversation["customer_id"])
    paid = shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "cash", "amount": 1000})
    assert paid.status_code == 201, paid.text

    whole = say(shop, conversation, "转账到 招商银行 6225…", kind="payment_request", order_id=order["id"])
    part = say(shop, conversation, "", kind="payment_request", order_id=order["id"], amount=1500)

    assert whole["kind"] == "payment_request" and whole["body"] == "转账到 招商银行 6225…"
    assert whole["data"] == {
        "order_id": order["id"],
        "number": order["number"],
        "amount": 4000,
        "total": 5000,
        "paid_amount": 1000,
        "part": False,
        "methods": [],  # the ways of paying the shop offered (none set up here)
    }
    assert part["data"]["amount"] == 1500 and part["data"]["part"] is True
    assert [m["kind"] for m in messages(shop, conversation)] == ["payment_request", "payment_request"]


def test_a_payment_request_cannot_ask_for_more_than_is_unpaid(runtime, shop, conversation):
    product = make_product(runtime, shop, stock=10, price=2500)
    order = make_order(shop, [(product.variant_id, 1)], customer_id=conversation["customer_id"])

    r = send(shop, conversation, kind="payment_request", order_id=order["id"], amount=2501)

    refused_and_nothing_sent(r, 422, "chat.amount_exceeds_unpaid", shop, conversation)
    assert r.json()["error"]["details"]["unpaid"] == 2500


def test_a_paid_order_has_nothing_to_request(runtime, shop, conversation):
    product = make_product(runtime, shop, stock=10, price=2500)
    order = make_order(shop, [(product.variant_id, 1)], customer_id=conversation["customer_id"])
    shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "cash", "amount": 2500})

    r = send(shop, conversation, kind="payment_request", order_id=order["id"])

    refused_and_nothing_sent(r, 409, "chat.order_paid", shop, conversation)


@pytest.mark.parametrize("state", ["draft", "cancelled"])
def test_a_draft_or_cancelled_order_cannot_be_asked_to_pay(runtime, shop, conversation, state):
    product = make_product(runtime, shop, stock=10, price=2500)
    order = make_order(
        shop, [(product.variant_id, 1)], customer_id=conversation["customer_id"], draft=state == "draft"
    )
    if state == "cancelled":
        act(shop, order, "cancel", reason="out_of_stock")

    r = send(shop, conversation, kind="payment_request", order_id=order["id"])

    refused_and_nothing_sent(r, 409, "chat.order_not_payable", shop, conversation)


def test_a_payment_request_for_another_customers_order_is_not_found(runtime, shop, other_shop, conversation):
    product = make_product(runtime, shop, stock=5)
    someone_elses = make_order(shop, [(product.variant_id, 1)])
    theirs = make_product(runtime, other_shop, stock=5)
    other_shops = make_order(other_shop, [(theirs.variant_id, 1)])

    for order in (someone_elses, other_shops):
        r = send(shop, conversation, kind="payment_request", order_id=order["id"])
        refused_and_nothing_sent(r, 404, "order.not_found", shop, conversation)


def test_a_quote_prices_lines_from_the_catalog_or_as_negotiated(runtime, shop, conversation):
    shirt = make_product(runtime, shop, name="T恤", options=["颜色"], price=9900)
    water = make_product(runtime, shop, name="矿泉水", price=3000)
    red = shirt.variant_ids[0]

    quote = say(
        shop,
        conversation,
        "两件以上九折",
        kind="quote_card",
        items=[
            {"variant_id": red, "quantity": 2, "unit_price": 8900},
            {"variant_id": water.variant_id, "quantity": 3},
        ],
    )

    assert quote["kind"] == "quote_card" and quote["body"] == "两件以上九折"
    assert quote["data"] == {
        "items": [
            {
                "variant_id": red,
                "product_id": shirt.product_id,
                "name": "T恤",
                "spec": "颜色1",
                "quantity": 2,
                "unit_price": 8900,
                "amount": 17800,
            },
            {
                "variant_id": water.variant_id,
                "product_id": water.product_id,
                "name": "矿泉水",
                "spec": "",
                "quantity": 3,
                "unit_price": 3000,
                "amount": 9000,
            },
        ],
        "total": 26800,
    }
    # A quote is an offer, not an order: no stock is held.
    assert variant_stock(shop, water.product_id, water.variant_id)["reserved"] == 0


def test_a_quote_of_another_shops_variant_sends_nothing(runtime, shop, other_shop, conversation):
    mine = make_product(runtime, shop, stock=5)
    theirs = make_product(runtime, other_shop, stock=5)

    r = send(
        shop,
        conversation,
        kind="quote_card",
        items=[
            {"variant_id": mine.variant_id, "quantity": 1},
            {"variant_id": theirs.variant_id, "quantity": 1},
        ],
    )

    refused_and_nothing_sent(r, 404, "order.unknown_variant", shop, conversation)


def test_a_quote_of_a_product_off_sale_sends_nothing(runtime, shop, conversation):
    hidden = make_product(runtime, shop, stock=5, active=False)

    r = send(shop, conversation, kind="quote_card", items=[{"variant_id": hidden.variant_id, "quantity": 1}])

    refused_and_nothing_sent(r, 409, "order.variant_inactive", shop, conversation)


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "payment_request"},
        {"kind": "payment_request", "order_id": 1, "amount": 0},
        {"kind": "payment_request", "order_id": 1, "amount": -5},
        {"kind": "payment_request", "order_id": 1, "items": [{"variant_id": 1, "quantity": 1}]},
        {"kind": "payment_request", "order_id": 1, "qr": "https://pay.example"},
        {"kind": "quote_card"},
        {"kind": "quote_card", "items": []},
        {"kind": "quote_card", "items": [{"variant_id": 1, "quantity": 1}] * 51},
        {"kind": "quote_card", "items": [{"variant_id": 1, "quantity": 0}]},
        {"kind": "quote_card", "items": [{"variant_id": 1, "quantity": 1, "unit_price": -1}]},
        {"kind": "quote_card", "items": [{"variant_id": 1, "quantity": 1, "discount": 5}]},
        {"kind": "quote_card", "items": [{"variant_id": 1, "quantity": 1}], "amount": 100},
        {"body": "hi", "amount": 100},
    ],
)
def test_malformed_payment_requests_and_quotes_are_refused(runtime, shop, conversation, body):
    r = send(shop, conversation, **body)

    refused_and_nothing_sent(r, 422, None, shop, conversation)


# --- recall -----------------------------------------------------------------------------------------------


def test_recall_hides_the_message_but_keeps_it_as_evidence(runtime, shop, conversation):
    sent = say(shop, conversation, "价格发错了：¥15")

    r = shop.api.post(f"{CONVERSATIONS}/{conversation['id']}/messages/{sent['id']}/recall")

    assert r.status_code == 200, r.text
    (shown,) = messages(shop, conversation)
    assert shown["id"] == sent["id"] and shown["recalled"] is True and shown["body"] == ""
    with runtime.db.read() as session:
        stored = session.execute(
            select(Message.body, Message.recalled_at).where(Message.id == sent["id"])
        ).one()
        kinds = list(
            session.scalars(select(Message.kind).where(Message.conversation_id == conversation["id"]))
        )
    assert stored.body == "价格发错了：¥15" and stored.recalled_at is not None
    assert kinds == ["text", "recall"]
    assert breaks(runtime, shop) == []


def test_recall_after_two_minutes_is_refused(runtime, shop, conversation, frozen):
    start = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    frozen(start)
    sent = say(shop, conversation, "明天发货")
    frozen(start + timedelta(minutes=3))

    r = shop.api.post(f"{CONVERSATIONS}/{conversation['id']}/messages/{sent['id']}/recall")

    assert r.status_code == 409 and r.json()["error"]["code"] == "chat.recall_too_late"
    assert messages(shop, conversation)[0]["recalled"] is False


def test_the_shop_cannot_recall_what_the_customer_said(runtime, shop, conversation):
    said = customer_says(runtime, shop, conversation, "我要退款")

    r = shop.api.post(f"{CONVERSATIONS}/{conversation['id']}/messages/{said.id}/recall")

    assert r.status_code == 403
    assert messages(shop, conversation)[0]["body"] == "我要退款"


# --- the hash chain ---------------------------------------------------------------------------------------


def talk(runtime, shop, conversation, n: int) -> None:
    for i in range(n):
        if i % 2:
            say(shop, conversation, f"回复 {i}")
        else:
            customer_says(runtime, shop, conversation, f"问题 {i}")


def test_an_intact_history_verifies(runtime, shop, conversation):
    talk(runtime, shop, conversation, 5)
    assert breaks(runtime, shop) == []


def test_an_edited_message_breaks_the_chain(runtime, shop, conversation):
    talk(runtime, shop, conversation, 4)
    with runtime.db.write() as session:
        session.execute(
            update(Message)
            .where(Message.conversation_id == conversation["id"], Message.seq == 2)
            .values(body="我们从没答应过退款")
        )

    found = breaks(runtime, shop)

    assert [(b.conversation_id, b.seq) for b in found] == [(conversation["id"], 2)]


def test_a_deleted_message_is_reported_missing(runtime, shop, conversation):
    talk(runtime, shop, conversation, 4)
    with runtime.db.write() as session:
        session.execute(
            Message.__table__.delete().where(Message.conversation_id == conversation["id"], Message.seq == 3)
        )

    found = breaks(runtime, shop)

    assert found and found[0].seq == 3 and found[0].problem == "the message is missing"


def test_a_message_hidden_by_hand_is_reported(runtime, shop, conversation):
    talk(runtime, shop, conversation, 2)
    with runtime.db.write() as session:
        session.execute(
            update(Message)
            .where(Message.conversation_id == conversation["id"], Message.seq == 1)
            .values(recalled_at=clock.now())
        )

    assert [b.problem for b in breaks(runtime, shop)] == ["marked recalled without a recall entry"]


def test_a_rewritten_history_with_fresh_hashes_fails_the_signed_checkpoint(runtime, shop, conversation):
    # given a conversation whose head was signed
    talk(runtime, shop, conversation, 3)
    assert sign_heads(runtime.db, runtime.keyring, shop.id) == 1
    # when someone with database access rewrites a message and recomputes every hash after it
    with runtime.db.write() as session:
        rows = list(
            session.scalars(
                select(Message).where(Message.conversation_id == conversation["id"]).order_by(Message.seq)
            )
        )
        rows[0].body = "改过的历史"
        previous = chain.GENESIS
        for row in rows:
            row.hash = chain.link(previous, row)
            previous = row.hash
    # then the links hold, but the checkpoint signed before gives it away
    found = breaks(runtime, shop)
    assert [b.problem for b in found] == ["history differs from the signed checkpoint"]


def test_a_forged_checkpoint_is_reported(runtime, shop, conversation):
    talk(runtime, shop, conversation, 2)
    sign_heads(runtime.db, runtime.keyring, shop.id)
    with runtime.db.write() as session:
        session.execute(
            update(ChainCheckpoint)
            .where(ChainCheckpoint.conversation_id == conversation["id"])
            .values(signature=bytes(32))
        )

    assert [b.problem for b in breaks(runtime, shop)] == ["checkpoint signature is not valid"]


def test_sending_signs_the_head_every_fifty_messages(runtime, shop, conversation):
    talk(runtime, shop, conversation, chain.CHECKPOINT_EVERY + 1)
    with runtime.db.read() as session:
        signed = list(
            session.scalars(
                select(ChainCheckpoint.seq).where(ChainCheckpoint.conversation_id == conversation["id"])
            )
        )
    assert signed == [chain.CHECKPOINT_EVERY]
    assert sign_heads(runtime.db, runtime.keyring, shop.id) == 1  # the tail after it
    assert sign_heads(runtime.db, runtime.keyring, shop.id) == 0  # nothing moved since
    assert breaks(runtime, shop) == []


# --- inbox and read receipts ------------------------------------------------------------------------------


def test_the_inbox_puts_unread_conversations_first_and_filters(runtime, shop, conversation):
    quiet_id, _ = make_customer(runtime, shop, name="王五", phone="13900002222")
    quiet = shop.api.post(f"/api/v1/customers/{quiet_id}/conversation").json()
    say(shop, quiet, "您好，订单已发出")  # the newest activity, but nothing unread for the shop
    customer_says(runtime, shop, conversation, "什么时候到？")
    shop.api.put(f"{CONVERSATIONS}/{quiet['id']}/assignee", json={"assignee_id": shop.owner_id})

    everything = shop.api.get(CONVERSATIONS).json()["items"]
    mine = shop.api.get(CONVERSATIONS, params={"filter": "mine"}).json()["items"]
    unassigned = shop.api.get(CONVERSATIONS, params={"filter": "unassigned"}).json()["items"]

    assert [c["id"] for c in everything] == [conversation["id"], quiet["id"]]
    assert everything[0]["staff_unread"] == 1 and everything[0]["last_message"]["body"] == "什么时候到？"
    assert [c["id"] for c in mine] == [quiet["id"]] and [c["id"] for c in unassigned] == [conversation["id"]]


def test_reading_clears_the_unread_count_up_to_the_seq_read(runtime, shop, conversation):
    for text in ("一", "二", "三"):
        customer_says(runtime, shop, conversation, text)

    r = shop.api.post(f"{CONVERSATIONS}/{conversation['id']}/read", json={"seq": 2})

    assert r.status_code == 200 and r.json()["staff_unread"] == 1 and r.json()["staff_read_seq"] == 2
    assert "conversation.read" in event_types(runtime, shop)


def test_the_inbox_can_show_only_conversations_with_open_orders(runtime, shop, conversation):
    product = make_product(runtime, shop, stock=10)
    make_order(shop, [(product.variant_id, 1)], customer_id=conversation["customer_id"])
    other_id, _ = make_customer(runtime, shop, name="赵六", phone="13900003333")
    shop.api.post(f"/api/v1/customers/{other_id}/conversation")

    open_orders = shop.api.get(CONVERSATIONS, params={"filter": "open_orders"}).json()["items"]

    assert [c["id"] for c in open_orders] == [conversation["id"]]


def test_a_closed_conversation_leaves_the_open_lists_until_someone_writes(runtime, shop, conversation):
    url = f"{CONVERSATIONS}/{conversation['id']}/status"

    closed = shop.api.put(url, json={"status": "closed"})
    listed_open = shop.api.get(CONVERSATIONS).json()["items"]
    listed_closed = shop.api.get(CONVERSATIONS, params={"filter": "closed"}).json()["items"]
    customer_says(runtime, shop, conversation, "还在吗？")
    after_a_message = shop.api.get(CONVERSATIONS).json()["items"]

    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert listed_open == [] and [c["id"] for c in listed_closed] == [conversation["id"]]
    assert [c["id"] for c in after_a_message] == [conversation["id"]]
    assert after_a_message[0]["status"] == "open"
    assert "conversation.status" in event_types(runtime, shop)
    bad = shop.api.put(url, json={"status": "archived"})
    assert bad.status_code == 422


def test_paging_the_inbox_walks_every_conversation_once(runtime, shop):
    ids = []
    for i in range(5):
        customer_id, _ = make_customer(runtime, shop, name=f"客户{i}", phone=f"1390000{i:04d}")
        ids.append(shop.api.post(f"/api/v1/customers/{customer_id}/conversation").json()["id"])
    seen, cursor = [], None
    for _ in range(5):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = shop.api.get(CONVERSATIONS, params=params).json()
        seen += [c["id"] for c in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))


# --- the customer's HTTP rate limits -------------------------------------------------------------------


@pytest.fixture
def customer_page(app, shop) -> TestClient:
    """A customer on the shop page holding their visitor cookie."""
    client = TestClient(app, raise_server_exceptions=False)
    r = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "小红", "phone": "13700001234"})
    assert r.status_code == 200, r.text
    client.conversation = {"id": r.json()["conversation_id"]}
    return client


def shop_message_count(runtime, shop) -> int:
    with runtime.db.read() as session:
        return session.scalar(select(func.count(Message.id)).where(Message.shop_id == shop.id))


def test_a_customer_flooding_messages_over_http_is_refused_and_nothing_is_written(
    runtime, shop, customer_page
):
    allowed = min(int(rule.split("/")[0]) for rule in SENDS)
    for i in range(allowed):
        r = customer_page.post(f"/s/{shop.slug}/api/messages", json={"body": f"第{i}条"})
        assert r.status_code == 201, r.text

    refused = customer_page.post(f"/s/{shop.slug}/api/messages", json={"body": "还有一条"})

    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate.limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert shop_message_count(runtime, shop) == allowed


def test_recalls_over_http_are_rate_limited_and_a_refused_one_recalls_nothing(runtime, shop, customer_page):
    base = f"/s/{shop.slug}/api/messages"
    first, second = (customer_page.post(base, json={"body": t}).json() for t in ("发错了", "这条也发错了"))
    allowed = int(RECALLS[0].split("/")[0])
    for _ in range(allowed):  # tapping recall again on a recalled message counts as well
        assert customer_page.post(f"{base}/{first['id']}/recall").status_code == 200

    refused = customer_page.post(f"{base}/{second['id']}/recall")

    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    shown = {m["id"]: m["recalled"] for m in messages(shop, customer_page.conversation)}
    assert shown == {first["id"]: True, second["id"]: False}
    assert shop_message_count(runtime, shop) == 3  # two messages and one recall entry


def test_each_database_keeps_its_own_window_of_just_committed_messages():
    from types import SimpleNamespace

    from sqlalchemy import create_engine

    from shangliao.realtime import recent

    # given two databases in one process, each with its message number 1
    first, second = create_engine("sqlite://"), create_engine("sqlite://")
    recent.window(first).remember(SimpleNamespace(id=1, body="from the first"), customer_id=7)

    # then the other's window does not answer for it (it would show a socket another's message)
    assert recent.window(first).look_up(1)[0].body == "from the first"
    assert recent.window(second).look_up(1) is None
    assert recent.window(first) is recent.window(first)
