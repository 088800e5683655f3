"""Prepared reads hand back what ``Connection.execute`` would: same values, same types, same errors;
and a read unit, prepared or not, sees one moment of the database."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, event, select, text, update
from sqlalchemy.exc import DBAPIError

from shangliao.auth.scope import Scope
from shangliao.events.models import EventLogEntry
from shangliao.orders.listing import OrderQuery, list_orders
from shangliao.orders.models import Order, OrderItem
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


@contextmanager
def committed_after_first_read(runtime, edit: Callable[[], None]) -> Iterator[list[bool]]:
    """Commit ``edit()`` (in its own unit of work) right after the first query a reader sends:
    between the statements of one read. Yields ``[True]`` once the edit has run."""
    done: list[bool] = []

    def between(_conn, _cursor, statement, *_):
        # After a query, not after BEGIN: SQLite's read snapshot starts at the first read.
        if not done and not statement.startswith("BEGIN"):
            done.append(True)  # first, so the edit's own statements do not run it again
            edit()

    event.listen(runtime.db.reader, "after_cursor_execute", between)
    try:
        yield done
    finally:
        event.remove(runtime.db.reader, "after_cursor_execute", between)


def double_the_items(runtime, order_id: int) -> Callable[[], None]:
    """An edit of an order's items and its totals in one commit."""

    def edit():
        with runtime.db.write() as session:
            session.execute(
                update(OrderItem)
                .where(OrderItem.order_id == order_id)
                .values(quantity=OrderItem.quantity * 2, amount=OrderItem.amount * 2)
            )
            session.execute(
                update(Order)
                .where(Order.id == order_id)
                .values(items_total=Order.items_total * 2, total=Order.total + Order.items_total)
            )

    return edit


def test_a_page_of_orders_is_read_at_one_moment(runtime, shop, product):
    # given an order of one item
    order = make_order(shop, [(product.variant_id, 1)])

    # when its items and totals are edited between the statements that read a page of the list
    edit = double_the_items(runtime, order["id"])
    with committed_after_first_read(runtime, edit) as edited, runtime.db.snapshot() as conn:
        page = list_orders(conn, runtime.keyring, Scope.whole_shop(shop.id), shop.timezone, OrderQuery())

    # then the page shows the order as it was, its items included (not the order of one moment
    # with the items of the next)
    assert edited
    (row,) = page.orders
    items = page.items[row.id]
    assert row.items_total == order["items_total"]
    assert [(i.quantity, i.amount) for i in items] == [(1, order["items_total"])]
    # and the edit did commit: the next read sees it whole
    with runtime.db.snapshot() as conn:
        (after,) = list_orders(
            conn, runtime.keyring, Scope.whole_shop(shop.id), shop.timezone, OrderQuery()
        ).orders
    assert after.items_total == 2 * order["items_total"]


def test_an_orm_read_unit_is_read_at_one_moment(runtime, shop, product):
    # given an order of one item
    order = make_order(shop, [(product.variant_id, 1)])

    # when it is edited between two statements of one read unit
    edit = double_the_items(runtime, order["id"])
    with committed_after_first_read(runtime, edit) as edited, runtime.db.read() as session:
        total = session.scalar(select(Order.items_total).where(Order.id == order["id"]))
        amounts = list(session.scalars(select(OrderItem.amount).where(OrderItem.order_id == order["id"])))

    # then both statements saw the order before the edit
    assert edited
    assert total == sum(amounts) == order["items_total"]


def test_a_read_unit_refuses_to_write(runtime, shop, product):
    """On PostgreSQL a read unit is READ ONLY; on SQLite the reader is never the writer."""
    order = make_order(shop, [(product.variant_id, 1)])
    with pytest.raises(DBAPIError), runtime.db.read() as session:
        session.execute(update(Order).where(Order.id == order["id"]).values(remark="changed"))
        session.flush()
