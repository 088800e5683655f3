"""Copies of one customer request racing each other over real HTTP (a phone resending on a flaky
network): each is answered, and what it makes is made once. On PostgreSQL the copies really run at
the same moment; SQLite's single writer runs them one after the other."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from shangliao.chat.models import Message
from shangliao.orders.models import Order
from tests.support.catalog import make_product
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
    rounds = 8
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
