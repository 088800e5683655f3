"""How many orders each tab of the order list holds, without counting them on every page view.

``order_status_counts`` holds one row per shop, status and archived flag. Database triggers on
``orders`` keep it, in the same transaction as the change: every insert, status change, archive
and delete moves one count. Triggers rather than calls in the services, because:

- no writer can forget them: the services (create, transitions, batch, archive), the bulk seed,
  a future import or job writing orders with Core, an operator's fix in ``psql``;
- they cost the order-create hot path no statement (its count is pinned, docs/benchmarks.md);
- they need nothing but what both databases have: SQLite triggers with UPSERT (3.24+),
  PostgreSQL PL/pgSQL functions (11+), inserts counted once per statement (a bulk ``COPY``
  moves each count once).

Lock order on PostgreSQL. Every writer of a shop's orders also bumps the shop's counter row
(rule 8 of docs/architecture.md: the order create first, a transition when it records its event). The count rows are
taken in the middle of those transactions, so without care a create (counter, then the
"pending" count) and a confirm (the "pending" count at flush, then the counter) could deadlock.
The PostgreSQL triggers therefore lock the shop's counter row before they touch a count: the
counter is always taken first, and count rows are only ever changed by its holder. SQLite has
one writer at a time and needs no such care.

SQLite drops a table's triggers with the table: a migration that rebuilds ``orders`` (Alembic's
batch mode does, to alter a column) must call :func:`create_triggers` again. The tests check the
triggers exist on a migrated database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from shangliao.auth.scope import Scope, Viewer
from shangliao.core.crypto import Keyring
from shangliao.orders.list_sql import Spec, matching_statement
from shangliao.orders.listing import OrderQuery, spec_for
from shangliao.orders.models import Order, OrderStatusCount
from shangliao.orders.state import Status
from shangliao.storage.prepared import Prepared

ARCHIVED = "archived"
TAB_KEYS: tuple[str, ...] = (*(s.value for s in Status), ARCHIVED)

_SQLITE_COUNT_NEW = """
    INSERT INTO order_status_counts (shop_id, status, archived, n)
    VALUES (NEW.shop_id, NEW.status, NEW.archived_at IS NOT NULL, 1)
    ON CONFLICT (shop_id, status, archived) DO UPDATE SET n = n + 1;"""
_SQLITE_UNCOUNT_OLD = """
    UPDATE order_status_counts SET n = n - 1
    WHERE shop_id = OLD.shop_id AND status = OLD.status AND archived = (OLD.archived_at IS NOT NULL);"""

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER order_status_counts_insert AFTER INSERT ON orders
BEGIN{_SQLITE_COUNT_NEW}
END""",
    f"""CREATE TRIGGER order_status_counts_update AFTER UPDATE OF shop_id, status, archived_at ON orders
WHEN OLD.shop_id IS NOT NEW.shop_id OR OLD.status IS NOT NEW.status
    OR (OLD.archived_at IS NULL) <> (NEW.archived_at IS NULL)
BEGIN{_SQLITE_UNCOUNT_OLD}{_SQLITE_COUNT_NEW}
END""",
    f"""CREATE TRIGGER order_status_counts_delete AFTER DELETE ON orders
BEGIN{_SQLITE_UNCOUNT_OLD}
END""",
)

# PostgreSQL counts inserts once per statement, from the statement's new rows: a bulk COPY of
# 50,000 orders moves each count once, where a row trigger would update the same count row
# 50,000 times in one transaction (each update a new row version the next one must step over).
POSTGRES_TRIGGERS = (
    """CREATE FUNCTION order_status_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The shops' counter rows first, always (see orders/counts.py): no deadlock with transitions.
    PERFORM 1 FROM shop_counters WHERE shop_id IN (SELECT shop_id FROM inserted)
        ORDER BY shop_id FOR UPDATE;
    INSERT INTO order_status_counts (shop_id, status, archived, n)
    SELECT shop_id, status, archived_at IS NOT NULL, count(*) FROM inserted GROUP BY 1, 2, 3
    ON CONFLICT (shop_id, status, archived) DO UPDATE SET n = order_status_counts.n + excluded.n;
    RETURN NULL;
END
$$""",
    """CREATE FUNCTION order_status_counts_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The shop's counter row first, always (see orders/counts.py): no deadlock with order creates.
    PERFORM 1 FROM shop_counters WHERE shop_id = OLD.shop_id FOR UPDATE;
    UPDATE order_status_counts SET n = n - 1
    WHERE shop_id = OLD.shop_id AND status = OLD.status AND archived = (OLD.archived_at IS NOT NULL);
    IF TG_OP = 'UPDATE' THEN
        PERFORM 1 FROM shop_counters WHERE shop_id = NEW.shop_id FOR UPDATE;
        INSERT INTO order_status_counts (shop_id, status, archived, n)
        VALUES (NEW.shop_id, NEW.status, NEW.archived_at IS NOT NULL, 1)
        ON CONFLICT (shop_id, status, archived) DO UPDATE SET n = order_status_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER order_status_counts_insert AFTER INSERT ON orders
REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION order_status_counts_inserted()""",
    """CREATE TRIGGER order_status_counts_update AFTER UPDATE OF shop_id, status, archived_at ON orders
FOR EACH ROW WHEN (OLD.shop_id IS DISTINCT FROM NEW.shop_id OR OLD.status IS DISTINCT FROM NEW.status
    OR (OLD.archived_at IS NULL) <> (NEW.archived_at IS NULL))
EXECUTE FUNCTION order_status_counts_moved()""",
    """CREATE TRIGGER order_status_counts_delete AFTER DELETE ON orders
FOR EACH ROW EXECUTE FUNCTION order_status_counts_moved()""",
)

TRIGGER_NAMES = ("order_status_counts_insert", "order_status_counts_update", "order_status_counts_delete")
# What dropping the triggers takes; dropping ``orders`` drops them as well (not the functions).
DROP = {
    "sqlite": tuple(f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGER_NAMES),
    "postgresql": (
        *(f"DROP TRIGGER IF EXISTS {name} ON orders" for name in TRIGGER_NAMES),
        "DROP FUNCTION IF EXISTS order_status_counts_inserted()",
        "DROP FUNCTION IF EXISTS order_status_counts_moved()",
    ),
}
CREATE = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRES_TRIGGERS}


def _statements(table: dict[str, tuple[str, ...]], dialect: str) -> tuple[str, ...]:
    try:
        return table[dialect]
    except KeyError:
        raise RuntimeError(f"order status counts have no triggers for {dialect}") from None


def create_triggers(execute: Callable[[str], Any], dialect: str) -> None:
    """Install the triggers with ``execute(sql)`` (a migration's ``op.execute``)."""
    for sql in _statements(CREATE, dialect):
        execute(sql)


def drop_triggers(execute: Callable[[str], Any], dialect: str) -> None:
    for sql in _statements(DROP, dialect):
        execute(sql)


_c = OrderStatusCount.__table__.c
_o = Order.__table__.c
_COUNTS = Prepared(select(_c.status, _c.archived, _c.n).where(_c.shop_id == bindparam("shop_id")))


def status_counts(on: Session | Connection, shop_id: int) -> dict[str, int]:
    """Orders per tab: each status of orders not archived, and ``archived`` (every status).

    Reads at most 14 rows, whatever the number of orders. Every key is present (0 when none).
    """
    counts = dict.fromkeys(TAB_KEYS, 0)
    conn = on.connection() if isinstance(on, Session) else on
    rows = _COUNTS.rows(conn, {"shop_id": shop_id})
    for status, archived, n in rows:
        key = ARCHIVED if archived else status
        counts[key] = counts.get(key, 0) + n
    return counts


def tab_counts(
    conn: Connection, keyring: Keyring, who: Viewer, timezone: str, only: list[Status] | None = None
) -> dict[str, int]:
    """Orders per tab as ``who`` sees the list: the maintained counts for a caller who sees the
    whole shop; a limited member's own orders counted. Those are not kept per member: the count
    reads ``ix_orders_shop_assignee_status`` alone (no order row), so it costs the member's share
    of the shop's orders in index entries (docs/benchmarks.md, bench/authz.py). ``only`` counts
    just those statuses' tabs (a badge): a range of that index as small as the tab."""
    if not who.limited:
        return status_counts(conn, who.shop_id)
    every = OrderQuery(status=only or list(Status), archived="all")  # drafts too: they have a tab
    mine = Scope(who.shop_id, who.staff_id, who.data_scope, sees_unassigned=False)
    counts = _grouped(conn, spec_for(keyring, mine, timezone, every))
    if who.sees_unassigned:
        # Counted apart and added: "mine OR unassigned" in one statement reads the shop's index.
        nobodys = spec_for(
            keyring, Scope.whole_shop(who.shop_id), timezone, every.model_copy(update={"unassigned": True})
        )
        for key, n in _grouped(conn, nobodys).items():
            counts[key] += n
    return counts


def counts_matching(
    conn: Connection, keyring: Keyring, who: Viewer, timezone: str, query: OrderQuery
) -> dict[str, int]:
    """Orders per tab among those ``query``'s search and filters match (its status, archived flag
    and page are ignored: each tab is one of them): the tabs of a searched or filtered list.

    Unlike :func:`status_counts` this counts the matching orders themselves; a search finds them
    from its indexes first, so it reads what the search finds, not the shop.
    """
    spec = spec_for(
        keyring, who, timezone, query.model_copy(update={"status": [], "archived": "all", "cursor": None})
    )
    return _grouped(conn, spec)


def _grouped(conn: Connection, spec: Spec) -> dict[str, int]:
    """The orders ``spec`` matches (unpaged), counted per tab."""
    counts = dict.fromkeys(TAB_KEYS, 0)
    if spec.branches == ():  # a search that cannot match anything
        return counts
    archived = _o.archived_at.is_not(None)
    stmt = (
        matching_statement(spec)
        .with_only_columns(_o.status, archived, func.count())
        .group_by(_o.status, archived)
    )
    for status, is_archived, n in conn.execute(stmt, spec.params()):
        key = ARCHIVED if is_archived else status
        counts[key] = counts.get(key, 0) + n
    return counts


def counted(session: Session, shop_id: int) -> dict[tuple[str, bool], int]:
    """The shop's orders counted the slow way (``COUNT(*) … GROUP BY``): what the counts must equal."""
    archived = Order.archived_at.is_not(None)
    rows = session.execute(
        select(Order.status, archived, func.count())
        .where(Order.shop_id == shop_id)
        .group_by(Order.status, archived)
    )
    return {(status, bool(flag)): n for status, flag, n in rows}


def maintained(session: Session, shop_id: int) -> dict[tuple[str, bool], int]:
    """The maintained counts, zero rows left out (comparable with :func:`counted`)."""
    rows = session.execute(
        select(OrderStatusCount.status, OrderStatusCount.archived, OrderStatusCount.n).where(
            OrderStatusCount.shop_id == shop_id, OrderStatusCount.n != 0
        )
    )
    return {(status, bool(flag)): n for status, flag, n in rows}


def recount(session: Session, shop_id: int) -> None:
    """Rebuild the shop's counts from its orders: a repair, e.g. after the triggers were lost.

    Takes the shop's counter row first, like the triggers, so no order of the shop changes
    meanwhile on PostgreSQL (SQLite's writer is alone anyway).
    """
    from shangliao.shops.models import ShopCounter

    session.execute(select(ShopCounter.shop_id).where(ShopCounter.shop_id == shop_id).with_for_update())
    session.execute(delete(OrderStatusCount).where(OrderStatusCount.shop_id == shop_id))
    rows = [
        {"shop_id": shop_id, "status": status, "archived": archived, "n": n}
        for (status, archived), n in counted(session, shop_id).items()
    ]
    if rows:
        session.execute(insert(OrderStatusCount), rows)
