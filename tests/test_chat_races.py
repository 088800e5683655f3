"""Copies of one customer request racing each other over real HTTP (a phone resending on a flaky
network): each is answered, and what it makes is made once. On PostgreSQL the copies really run at
the same moment; SQLite's single writer runs them one after the other."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.pool import NullPool

from shangliao.chat.models import Conversation, Message
from shangliao.orders.models import Order
from tests.support.catalog import make_product
from tests.support.chat import customer_says, open_conversation
from tests.support.live import serve

COPIES = 3


@pytest.fixture(scope="session")
def live_url(app):
    with serve(app) as url:
        yield url


@pytest.fixture
def cookies(live_url, shop) -> dict[str, str]:
    """A customer's visitor cookie, for every copy of their requests."""
    with httpx.Client(base_url=live_url) as client:
        r = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "小红", "phone": "13700001234"})
        assert r.status_code == 200, r.text
        return dict(r.cookies)


def at_once(live_url: str, cookies: dict[str, str], path: str, body: dict) -> list[httpx.Response]:
    """Send ``COPIES`` copies of one request, released together."""
    start = threading.Barrier(COPIES)

    def one(_):
        with httpx.Client(base_url=live_url, cookies=cookies, timeout=60) as client:
            start.wait()
            return client.post(path, json=body)

    with ThreadPoolExecutor(COPIES) as pool:
        return list(pool.map(one, range(COPIES)))


def counted(runtime, shop, what, *where) -> int:
    with runtime.db.read() as session:
        return session.scalar(select(func.count(what.id)).where(what.shop_id == shop.id, *where))


def test_copies_of_one_send_are_all_answered_with_one_message(runtime, shop, live_url, cookies):
    rounds = 6  # within a person's burst of sends (chat.rates): COPIES x rounds <= 20
    for i in range(rounds):
        # Given copies of one message, sent at the same moment with one client id
        answers = at_once(
            live_url,
            cookies,
            f"/s/{shop.slug}/api/messages",
            {"body": "在吗", "client_id": f"race-send-{i:04d}"},
        )

        # Then every copy is answered with the same message
        assert [r.status_code for r in answers] == [201] * COPIES, [r.text for r in answers]
        assert len({r.json()["id"] for r in answers}) == 1

    assert counted(runtime, shop, Message) == rounds


def test_copies_of_one_order_request_make_one_draft(runtime, shop, live_url, cookies):
    water = make_product(runtime, shop, name="矿泉水", price=2400, stock=30)
    rounds = 3  # within the per-minute limit on order requests: COPIES x rounds <= 10
    for i in range(rounds):
        # Given copies of one tap on "order these", sent at the same moment with one client id
        picked = {
            "items": [{"variant_id": water.variant_id, "quantity": 1}],
            "client_id": f"race-pick-{i:04d}",
        }
        answers = at_once(live_url, cookies, f"/s/{shop.slug}/api/order-requests", picked)

        # Then every copy is answered with the same message, pointing at one draft
        assert [r.status_code for r in answers] == [201] * COPIES, [r.text for r in answers]
        assert len({(r.json()["id"], r.json()["data"]["order_id"]) for r in answers}) == 1

    # and no orphan draft was left behind by a copy that lost the race
    assert counted(runtime, shop, Order) == rounds
    assert counted(runtime, shop, Message, Message.kind == "order_request") == rounds


def waiting_on_a_lock(url: str) -> bool:
    """Whether a session of this database is waiting for a row lock (PostgreSQL)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return bool(
                conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
            )
    finally:
        engine.dispose()


def test_a_message_arriving_while_the_shop_marks_read_stays_unread(runtime, shop):
    # One writer on SQLite: a send cannot commit inside another write unit, so there is no race.
    if runtime.db.is_sqlite:
        pytest.skip("SQLite runs write units one after the other")
    # given a conversation with two unread messages from the customer
    conversation = open_conversation(runtime, shop, "小红", "13700005678")
    customer_says(runtime, shop, conversation, "在吗")
    customer_says(runtime, shop, conversation, "想买两件")

    # when the customer sends a third just as the shop marks the first two read: sent (on another
    # thread) right after mark-read has counted what is left unread, and before it writes
    arrived: list[threading.Thread] = []

    def send_meanwhile(_conn, _cursor, statement, *_):
        if arrived or "count(messages.id)" not in statement:
            return
        sender = threading.Thread(target=customer_says, args=(runtime, shop, conversation, "还在吗"))
        arrived.append(sender)
        sender.start()
        # Until it has committed, or waits for a lock this unit holds (then it goes on after us).
        for _ in range(3000):
            if not sender.is_alive() or waiting_on_a_lock(runtime.db.url):
                return
            time.sleep(0.01)
        raise AssertionError("the concurrent send neither finished nor waited for a lock")

    event.listen(runtime.db.writer, "after_cursor_execute", send_meanwhile)
    try:
        r = shop.api.post(f"/api/v1/conversations/{conversation['id']}/read", json={"seq": 2})
    finally:
        event.remove(runtime.db.writer, "after_cursor_execute", send_meanwhile)
    assert arrived, "mark-read never counted the unread messages"
    arrived[0].join()

    # then the shop has read two, and the third message is still counted unread
    assert r.status_code == 200, r.text
    with runtime.db.read() as session:
        read_seq, unread = session.execute(
            select(Conversation.staff_read_seq, Conversation.staff_unread).where(
                Conversation.id == conversation["id"]
            )
        ).one()
    assert (read_seq, unread) == (2, 1)
