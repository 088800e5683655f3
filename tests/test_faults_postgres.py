"""A PostgreSQL that hangs (its own private server, frozen with SIGSTOP), stops or restarts:
requests fail fast with 503 and Retry-After instead of queueing, liveness still answers, readiness
says the database is gone, and everything works again once it answers, without an app restart
(the pool replaces the connections the server dropped)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message

import pytest

from shangliao.app import create_app
from shangliao.config import Settings
from shangliao.runtime import Runtime
from shangliao.storage import migrate
from tests.support.catalog import make_product
from tests.support.live import serve
from tests.support.orders import ADDRESS
from tests.support.private_services import private_postgres
from tests.support.shops import make_shop

SECRET = "7a" * 32
# A bound on "did it answer at all": the code under test answers in seconds, the code before the
# fix held requests for the pool's 30 s (or until the server came back).
ANSWER_BOUND = 25
REQUESTS = 45  # more than the worker threads: a sync liveness route would queue behind them


@pytest.fixture(scope="module")
def frozen_setup(tmp_path_factory) -> Iterator:
    with private_postgres() as (service, url):
        migrate.upgrade(url)
        settings = Settings(
            data_dir=tmp_path_factory.mktemp("pg-faults"),
            database_url=url,
            secret_key=SECRET,
            db_pool_size=2,
            db_statement_timeout=1,
            db_connect_timeout=2,
            db_pool_timeout=1,
        )
        rt = Runtime.build(settings)
        try:
            yield service, rt
        finally:
            rt.close()


def get(url: str, token: str | None = None) -> tuple[int, Message, dict]:
    return call(urllib.request.Request(url), token)


def post(url: str, token: str, body: dict) -> tuple[int, Message, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    return call(request, token)


def call(request: urllib.request.Request, token: str | None) -> tuple[int, Message, dict]:
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=ANSWER_BOUND) as answer:
            return answer.status, answer.headers, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers, json.loads(refused.read())


def test_a_frozen_database_gets_fast_503s_and_liveness_still_answers(frozen_setup):
    postgres, rt = frozen_setup
    app = create_app(runtime=rt)
    shop = make_shop(rt, app)
    with serve(app) as base:
        assert get(f"{base}/api/v1/orders", shop.token)[0] == 200

        # Given the database server hangs
        postgres.freeze()
        try:
            # When more requests arrive than there are worker threads
            answers: list[tuple[int, Message, dict]] = []
            callers = [
                threading.Thread(target=lambda: answers.append(get(f"{base}/api/v1/orders", shop.token)))
                for _ in range(REQUESTS)
            ]
            for caller in callers:
                caller.start()
            live = get(f"{base}/healthz")
            ready = get(f"{base}/readyz")
            for caller in callers:
                caller.join(timeout=ANSWER_BOUND)

            # Then every one is answered while the server is still frozen: 503, a code, Retry-After
            assert not any(caller.is_alive() for caller in callers) and postgres.frozen
            assert len(answers) == REQUESTS
            assert {status for status, _, _ in answers} == {503}
            assert {body["error"]["code"] for _, _, body in answers} == {"db.unavailable"}
            assert all(int(headers["Retry-After"]) > 0 for _, headers, _ in answers)
            # and liveness answered, while readiness said the database is gone
            assert live[0] == 200 and live[2] == {"status": "ok"}
            assert ready[0] == 503 and ready[2]["status"] == "unavailable"
            assert ready[2]["database"] in ("timeout", "unavailable")
        finally:
            postgres.thaw()

        # When it answers again, so do the requests (connections cut meanwhile are replaced)
        deadline = time.monotonic() + ANSWER_BOUND
        while get(f"{base}/api/v1/orders", shop.token)[0] != 200:
            assert time.monotonic() < deadline, "requests never recovered"
        assert get(f"{base}/readyz")[2]["status"] == "ready"


def test_a_stopped_database_gets_503s_at_once_and_readiness_says_so(frozen_setup):
    postgres, rt = frozen_setup
    app = create_app(runtime=rt)
    shop = make_shop(rt, app)
    with serve(app) as base:
        assert get(f"{base}/api/v1/orders", shop.token)[0] == 200  # the pool holds live connections

        # Given the database server is stopped (crashed: its connections are gone, its port closed)
        postgres.stop()
        try:
            # When requests arrive, and the probes ask
            answers = [get(f"{base}/api/v1/orders", shop.token) for _ in range(5)]
            live = get(f"{base}/healthz")
            ready = get(f"{base}/readyz")
        finally:
            postgres.start()

        # Then each is refused with a code and Retry-After (urllib gives up after ANSWER_BOUND)
        assert {status for status, _, _ in answers} == {503}
        assert {body["error"]["code"] for _, _, body in answers} == {"db.unavailable"}
        assert all(int(headers["Retry-After"]) > 0 for _, headers, _ in answers)
        # and liveness answered while readiness said the database is gone
        assert live[0] == 200
        assert (
            ready[0] == 503 and ready[2]["status"] == "unavailable" and ready[2]["database"] == "unavailable"
        )


def test_after_a_database_restart_the_next_requests_succeed_without_restarting_the_app(frozen_setup):
    postgres, rt = frozen_setup
    app = create_app(runtime=rt)
    shop = make_shop(rt, app)
    tee = make_product(rt, shop)
    with serve(app) as base:
        # Given the app has pooled connections to the database (reads and a write went through)
        assert get(f"{base}/api/v1/orders", shop.token)[0] == 200
        order = {"items": [{"variant_id": tee.variant_id, "quantity": 1}], "address": ADDRESS}
        assert post(f"{base}/api/v1/orders", shop.token, order)[0] == 201

        # When the database server restarts, dropping every one of those connections
        postgres.stop()
        postgres.start()

        # Then the very next requests, a write among them, succeed: stale connections are replaced
        listed = get(f"{base}/api/v1/orders", shop.token)
        placed = post(f"{base}/api/v1/orders", shop.token, order)
        assert listed[0] == 200, listed
        assert placed[0] == 201, placed
        assert get(f"{base}/readyz")[2]["database"] == "ok"
        # and what was written after the restart is there to read
        listed_after = get(f"{base}/api/v1/orders", shop.token)[2]["items"]
        assert placed[2]["id"] in [o["id"] for o in listed_after]
