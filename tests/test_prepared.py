"""Prepared reads hand back what ``Connection.execute`` would: same values, same types, same errors."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import DBAPIError

from shangliao.events.models import EventLogEntry
from shangliao.orders.models import Order
from shangliao.storage.prepared import Prepared
from shangliao.web.responses import JSONResponse
from tests.support.catalog import make_product
from tests.support.orders import make_order


@pytest.fixture
def product(runtime, shop):
    return make_product(runtime, shop, stock=10)


def test_rows_convert_each_column_like_execute(runtime, shop, product):
    make_order(shop, [(product.variant_id, 1)])
    orders = Order.__table__
    stmt = select(orders).where(orders.c.shop_id == bindparam("shop_id")).order_by(orders.c.id)

    with runtime.db.snapshot() as conn:
        prepared = Prepared(stmt).rows(conn, {"shop_id": shop.id})
        expected = conn.execute(stmt, {"shop_id": shop.id}).all()

    assert prepared and [tuple(r) for r in prepared] == [tuple(r) for r in expected]
    first = prepared[0]
    assert first.created_at.tzinfo is UTC and first.created_at == expected[0].created_at
    assert isinstance(first.created_at, datetime) and first.archived_at is None
    assert first._fields == expected[0]._fields


def test_rows_decode_json_columns(runtime, shop, product):
    make_order(shop, [(product.variant_id, 1)])
    log = EventLogEntry.__table__
    stmt = select(log.c.seq, log.c.data).where(log.c.shop_id == bindparam("shop_id")).order_by(log.c.seq)

    with runtime.db.snapshot() as conn:
        rows = Prepared(stmt).rows(conn, {"shop_id": shop.id})

    assert rows and all(isinstance(r.data, dict) for r in rows)


def test_rows_refuse_a_statement_that_selects_nothing(runtime):
    orders = Order.__table__
    with runtime.db.snapshot() as conn, pytest.raises(TypeError):
        Prepared(orders.delete().where(orders.c.id == bindparam("id"))).rows(conn, {"id": 0})


def test_driver_errors_come_back_as_sqlalchemy_errors(runtime):
    orders = Order.__table__
    broken = select(orders.c.id).where(orders.c.id == bindparam("id")).order_by(text("no_such_column"))
    with runtime.db.snapshot() as conn, pytest.raises(DBAPIError) as raised:
        Prepared(broken).rows(conn, {"id": 1})
    assert "no_such_column" in str(raised.value)


def test_json_answers_fall_back_for_what_orjson_cannot_write():
    # an integer beyond 64 bits (echoed back in an error, say) still makes valid JSON
    assert JSONResponse({"n": 2**70}).body == b'{"n":1180591620717411303424}'
    assert JSONResponse({"at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}).body == (
        b'{"at":"2026-01-02T03:04:05+00:00"}'
    )
