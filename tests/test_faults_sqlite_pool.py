"""SQLite's reader pool obeys SHANGLIAO_DB_POOL_TIMEOUT: when every reader connection is busy a
request is refused with 503 instead of queueing (it used to wait a fixed 60 s), and /readyz
still answers, with a connection of its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from shangliao.app import create_app
from shangliao.config import Settings
from shangliao.runtime import Runtime
from shangliao.storage import migrate
from tests.support.shops import make_shop

# Generous: only a bound on a test that would otherwise hang for the old fixed 60 s, never
# compared with the (sub-second) pool timeout under test.
LIVENESS_BOUND = 20.0


@pytest.fixture
def busy_reader_runtime(tmp_path) -> Iterator[Runtime]:
    """A SQLite runtime with one reader connection and a short pool wait."""
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    migrate.upgrade(url)
    settings = Settings(data_dir=tmp_path, database_url=url, secret_key="3e" * 32)
    rt = Runtime.build(settings.model_copy(update={"db_pool_size": 1, "db_pool_timeout": 0.2}))
    try:
        yield rt
    finally:
        rt.close()


@contextmanager
def every_reader_connection_held(rt: Runtime) -> Iterator[None]:
    with rt.db.reader.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
        yield


def answered_while_held(call) -> object:
    """``call()`` on another thread, while the test still holds the readers; its answer, or a
    failure if it is still waiting (it queued for a connection instead of giving up)."""
    result: dict[str, object] = {}
    worker = threading.Thread(target=lambda: result.setdefault("answer", call()), daemon=True)
    worker.start()
    worker.join(LIVENESS_BOUND)
    assert "answer" in result, "still queued for a reader connection"
    return result["answer"]


def test_a_request_that_finds_every_reader_busy_gets_503_not_a_queue(busy_reader_runtime):
    rt = busy_reader_runtime
    shop = make_shop(rt, create_app(runtime=rt))
    # given every reader connection is in use
    with every_reader_connection_held(rt):
        # when a page that reads is asked for
        answer = answered_while_held(lambda: shop.api.get("/api/v1/orders"))
    # then it is refused with a code and Retry-After, while the readers are still busy
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "db.unavailable"
    assert int(answer.headers["Retry-After"]) > 0
    # and once they are free the same page works again
    assert shop.api.get("/api/v1/orders").status_code == 200


def test_readiness_does_not_wait_for_a_busy_reader_pool(busy_reader_runtime):
    rt = busy_reader_runtime
    shop = make_shop(rt, create_app(runtime=rt))
    # given every reader connection is in use
    with every_reader_connection_held(rt):
        # when the readiness probe runs
        ready = shop.api.get("/readyz")
    # then the database is reported answering: the probe used a connection of its own
    assert ready.status_code == 200, ready.text
    assert ready.json()["database"] == "ok"
