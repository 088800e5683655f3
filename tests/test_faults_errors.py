"""What a failure looks like from outside: a full disk is a 503 with a code, an unexpected error
keeps the connection open, and no log line carries the values a request sent."""

from __future__ import annotations

import http.client
import logging
import sqlite3
from urllib.parse import urlsplit

from sqlalchemy import select, text

from shangliao.app import create_app
from shangliao.config import Settings
from shangliao.orders.models import Order
from shangliao.runtime import Runtime
from shangliao.storage import migrate
from tests.support.catalog import make_product
from tests.support.live import serve
from tests.support.orders import ADDRESS
from tests.support.shops import make_shop

SECRET_VALUE = "secret-张三-13800001111"


def test_a_full_disk_refuses_writes_with_503_and_a_code_and_keeps_what_was_written(tmp_path):
    url = f"sqlite:///{tmp_path / 'full.db'}"
    migrate.upgrade(url)
    rt = Runtime.build(Settings(data_dir=tmp_path, database_url=url, secret_key="3c" * 32))
    try:
        app = create_app(runtime=rt)
        shop = make_shop(rt, app)
        tee = make_product(rt, shop, stock=1000)
        # Given a database that cannot grow any more (SQLite's own "database or disk is full")
        with rt.db.writer.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
            conn.exec_driver_sql(f"PRAGMA max_page_count={pages}")
            conn.commit()

        # When orders keep coming until the file is full
        body = {
            "items": [{"variant_id": tee.variant_id, "quantity": 1}],
            "address": ADDRESS,
            "remark": "x" * 500,
        }
        answers = []
        while len(answers) < 200 and (not answers or answers[-1].status_code == 201):
            answers.append(shop.api.post("/api/v1/orders", json=body))

        # Then the first refused one is a 503 with a code and Retry-After, not a 500
        refused = answers[-1]
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "storage.full"
        assert int(refused.headers["Retry-After"]) > 0
        # and every order accepted is there, the refused one is not
        with rt.db.read() as s:
            stored = s.scalars(select(Order.id).where(Order.shop_id == shop.id)).all()
        assert sorted(stored) == sorted(a.json()["id"] for a in answers[:-1])
    finally:
        rt.close()


def test_a_database_locked_by_another_program_answers_503_busy_and_works_once_released(tmp_path):
    path = tmp_path / "locked.db"
    migrate.upgrade(f"sqlite:///{path}")
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{path}", secret_key="3d" * 32)
    rt = Runtime.build(settings.model_copy(update={"db_statement_timeout": 0.5}))
    try:
        app = create_app(runtime=rt)
        shop = make_shop(rt, app)
        tee = make_product(rt, shop)
        body = {"items": [{"variant_id": tee.variant_id, "quantity": 1}], "address": ADDRESS}
        # Given another program holds SQLite's write lock (a backup tool, a stray shell)
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            # When an order is placed
            refused = shop.api.post("/api/v1/orders", json=body)
        finally:
            other.execute("ROLLBACK")
            other.close()
        # and placed again once the lock is released
        accepted = shop.api.post("/api/v1/orders", json=body)

        # Then the first is told to retry (503 db.busy, Retry-After), the retry is placed
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "db.busy"
        assert int(refused.headers["Retry-After"]) > 0
        assert accepted.status_code == 201
        with rt.db.read() as s:
            assert s.scalars(select(Order.id).where(Order.shop_id == shop.id)).all() == [
                accepted.json()["id"]
            ]
    finally:
        rt.close()


def broken_app(runtime: Runtime):
    """The app plus a route that fails the way a bug does: a statement the database refuses,
    given a value that must not reach the log."""
    app = create_app(runtime=runtime)

    def fail():
        with runtime.db.write() as session:
            session.execute(
                text("INSERT INTO shops (slug, name) VALUES (:slug, :name)"),
                {"slug": SECRET_VALUE[:40], "name": SECRET_VALUE},
            )

    def bug():
        raise RuntimeError("a bug")

    app.add_api_route("/test-only/fail", fail, methods=["GET"])
    app.add_api_route("/test-only/bug", bug, methods=["GET"])
    return app


def test_an_unexpected_error_keeps_the_connection_and_logs_no_values(runtime, caplog):
    app = broken_app(runtime)
    with serve(app) as base, caplog.at_level(logging.DEBUG):
        conn = http.client.HTTPConnection(urlsplit(base).netloc, timeout=10)
        try:
            # Given a keep-alive connection, when requests hit a bug, then a refused statement
            conn.request("GET", "/test-only/bug")
            failed = conn.getresponse()
            failed.read()
            sock = conn.sock
            conn.request("GET", "/test-only/fail")
            refused = conn.getresponse()
            refused.read()
            # and another request follows on the same connection
            conn.request("GET", "/healthz")
            after = conn.getresponse()
            after.read()
            still = conn.sock
        finally:
            conn.close()

    # Then the bug is a 500, and the connection was still there for the next request
    assert failed.status == 500 and refused.status == 500
    assert after.status == 200 and sock is not None and still is sock
    # and the log has the error, but not the values the statement was given
    logged = "\n".join(
        r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
        for r in caplog.records
    )
    assert "/test-only/bug" in logged and "/test-only/fail" in logged
    assert SECRET_VALUE[:10] not in logged
