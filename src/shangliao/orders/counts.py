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

from shangliao.auth.scope import Viewer
from shangliao.core.crypto import Keyring
from shangliao.orders.list_sql import Spec, matching_statement
from shangliao.orders.listing import OrderQuery, spec_for
from shangliao.orders.models import Order, OrderAssigneeCount, OrderStatusCount
from shangliao.orders.state import Status
from shangliao.storage.prepared import Prepared
from shangliao.storage.triggers import execute_for_dialect

ARCHIVED = "archived"
TAB_KEYS: tuple[str, ...] = (*(s.value for s in Status), ARCHIVED)


class _Counted:
    """One table of counts the triggers keep: its key columns (each read from the order row
    ``{r}``, NEW or OLD) and the order columns whose change moves a count."""

    def __init__(self, table: str, keys: dict[str, str], watched: tuple[str, ...]) -> None:
        self.table, self.keys, self.watched = table, keys, watched

    def key(self, row: str) -> dict[str, str]:
        return {column: expr.format(r=row) for column, expr in self.keys.items()}

    def sqlite(self) -> tuple[str, ...]:
        cols = ", ".join(self.keys)
        count_new = f"""
    INSERT INTO {self.table} ({cols}, n) VALUES ({", ".join(self.key("NEW").values())}, 1)
    ON CONFLICT ({cols}) DO UPDATE SET n = n + 1;"""
        where_old = " AND ".join(f"{c} = {e}" for c, e in self.key("OLD").items())
        uncount_old = f"""
    UPDATE {self.table} SET n = n - 1 WHERE {where_old};"""
        moved = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in self.watched if c != "archived_at")
        t = self.table
        return (
            f"CREATE TRIGGER {t}_insert AFTER INSERT ON orders\nBEGIN{count_new}\nEND",
            f"""CREATE TRIGGER {t}_update AFTER UPDATE OF {", ".join(self.watched)} ON orders
WHEN {moved}
    OR (OLD.archived_at IS NULL) <> (NEW.archived_at IS NULL)
BEGIN{uncount_old}{count_new}
END""",
            f"CREATE TRIGGER {t}_delete AFTER DELETE ON orders\nBEGIN{uncount_old}\nEND",
        )

    def postgres(self) -> tuple[str, ...]:
        t, cols = self.table, ", ".join(self.keys)
        conflict = f"ON CONFLICT ({cols}) DO UPDATE SET n = {t}.n"
        grouped = ", ".join(str(i) for i in range(1, len(self.keys) + 1))
        where_old = " AND ".join(f"{c} = {e}" for c, e in self.key("OLD").items())
        moved = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in self.watched if c != "archived_at")
        return (
            f"""CREATE FUNCTION {t}_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The shops' counter rows first, always (see orders/counts.py): no deadlock with transitions.
    PERFORM 1 FROM shop_counters WHERE shop_id IN (SELECT shop_id FROM inserted)
        ORDER BY shop_id FOR UPDATE;
    INSERT INTO {t} ({cols}, n)
    SELECT {", ".join(self.key("inserted").values())}, count(*) FROM inserted GROUP BY {grouped}
    {conflict} + excluded.n;
    RETURN NULL;
END
$$""",
            f"""CREATE FUNCTION {t}_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The shop's counter row first, always (see orders/counts.py): no deadlock with order creates.
    PERFORM 1 FROM shop_counters WHERE shop_id = OLD.shop_id FOR UPDATE;
    UPDATE {t} SET n = n - 1 WHERE {where_old};
    IF TG_OP = 'UPDATE' THEN
        PERFORM 1 FROM shop_counters WHERE shop_id = NEW.shop_id FOR UPDATE;
        INSERT INTO {t} ({cols}, n) VALUES ({", ".join(self.key("NEW").values())}, 1)
        {conflict} + 1;
    END IF;
    RETURN NULL;
END
$$""",
            f"""CREATE TRIGGER {t}_insert AFTER INSERT ON orders
REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION {t}_inserted()""",
            f"""CREATE TRIGGER {t}_update AFTER UPDATE OF {", ".join(self.watched)} ON orders
FOR EACH ROW WHEN ({moved}
    OR (OLD.archived_at IS NULL) <> (NEW.archived_at IS NULL))
EXECUTE FUNCTION {t}_moved()""",
            f"""CREATE TRIGGER {t}_delete AFTER DELETE ON orders
FOR EACH ROW EXECUTE FUNCTION {t}_moved()""",
        )

    def drop(self, dialect: str) -> tuple[str, ...]:
        names = tuple(f"{self.table}_{what}" for what in ("insert", "update", "delete"))
        if dialect == "sqlite":
            return tuple(f"DROP TRIGGER IF EXISTS {name}" for name in names)
        return (
            *(f"DROP TRIGGER IF EXISTS {name} ON orders" for name in names),
            *(f"DROP FUNCTION IF EXISTS {self.table}_{f}()" for f in ("inserted", "moved")),
        )


_SHOP_KEY = {"shop_id": "{r}.shop_id", "status": "{r}.status", "archived": "({r}.archived_at IS NOT NULL)"}
# The shop's tabs, and each assignee's (0: nobody's) for a limited member's tabs. The second
# moves on a reassignment too; the first does not (the shop's count stays).
COUNTED = (
    _Counted("order_status_counts", _SHOP_KEY, ("shop_id", "status", "archived_at")),
    _Counted(
        "order_assignee_counts",
        {"shop_id": "{r}.shop_id", "assignee_key": "coalesce({r}.assignee_id, 0)", **_SHOP_KEY},
        ("shop_id", "assignee_id", "status", "archived_at"),
    ),
)
# PostgreSQL counts inserts once per statement, from the statement's new rows: a bulk COPY of
# 50,000 orders moves each count once, where a row trigger would update the same count row
# 50,000 times in one transaction (each update a new row version the next one must step over).
SQLITE_TRIGGERS = tuple(sql for table in COUNTED for sql in table.sqlite())
POSTGRES_TRIGGERS = tuple(sql for table in COUNTED for sql in table.postgres())
TRIGGER_NAMES = tuple(f"{t.table}_{what}" for t in COUNTED for what in ("insert", "update", "delete"))
# What dropping the triggers takes; dropping ``orders`` drops them as well (not the functions).
DROP = {
    dialect: tuple(sql for t in COUNTED for sql in t.drop(dialect)) for dialect in ("sqlite", "postgresql")
}
CREATE = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRES_TRIGGERS}


_MISSING = "order status counts have no triggers"


def create_triggers(execute: Callable[[str], Any], dialect: str) -> None:
    """Install the triggers with ``execute(sql)`` (a migration's ``op.execute``)."""
    execute_for_dialect(execute, CREATE, dialect, missing=_MISSING)


def drop_triggers(execute: Callable[[str], Any], dialect: str) -> None:
    execute_for_dialect(execute, DROP, dialect, missing=_MISSING)


_c = OrderStatusCount.__table__.c
_a = OrderAssigneeCount.__table__.c
_o = Order.__table__.c
_COUNTS = Prepared(select(_c.status, _c.archived, _c.n).where(_c.shop_id == bindparam("shop_id")))
# A limited member's: theirs, and nobody's (key 0) when they see the unassigned (else theirs twice,
# which the IN reads once): two ranges of the primary key, at most 28 rows.
_ASSIGNEE_COUNTS = Prepared(
    select(_a.status, _a.archived, _a.n).where(
        _a.shop_id == bindparam("shop_id"), _a.assignee_key.in_([bindparam("mine"), bindparam("also")])
    )
)
NOBODY = 0  # order_assignee_counts.assignee_key of the unassigned orders


def _tabs(rows: Any) -> dict[str, int]:
    counts = dict.fromkeys(TAB_KEYS, 0)
    for status, archived, n in rows:
        key = ARCHIVED if archived else status
        counts[key] = counts.get(key, 0) + n
    return counts


def status_counts(on: Session | Connection, shop_id: int) -> dict[str, int]:
    """Orders per tab: each status of orders not archived, and ``archived`` (every status).

    Reads at most 14 rows, whatever the number of orders. Every key is present (0 when none).
    """
    conn = on.connection() if isinstance(on, Session) else on
    return _tabs(_COUNTS.rows(conn, {"shop_id": shop_id}))


def tab_counts(conn: Connection, who: Viewer) -> dict[str, int]:
    """Orders per tab as ``who`` sees the list: the shop's maintained counts for a caller who sees
    the whole shop; for a limited member, the counts kept per assignee, theirs (plus nobody's when
    they see the unassigned). Either way a few rows, whatever the number of orders
    (bench/authz.py)."""
    if not who.limited:
        return status_counts(conn, who.shop_id)
    mine = who.staff_id or 0  # no member id (never for a limited caller): nobody's at most
    also = NOBODY if who.sees_unassigned else mine
    return _tabs(_ASSIGNEE_COUNTS.rows(conn, {"shop_id": who.shop_id, "mine": mine, "also": also}))


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


def _count_key(by_assignee: bool) -> list[Any]:
    archived = Order.archived_at.is_not(None)
    who = [func.coalesce(Order.assignee_id, NOBODY)] if by_assignee else []
    return [*who, Order.status, archived]


def counted(session: Session, shop_id: int, *, by_assignee: bool = False) -> dict[tuple, int]:
    """The shop's orders counted the slow way (``COUNT(*) … GROUP BY``): what the counts must equal.
    Keys ``(status, archived)``, or ``(assignee_key, status, archived)`` ``by_assignee``."""
    key = _count_key(by_assignee)
    rows = session.execute(select(*key, func.count()).where(Order.shop_id == shop_id).group_by(*key))
    return {(*k[:-1], bool(k[-1])): n for *k, n in rows}


def maintained(session: Session, shop_id: int, *, by_assignee: bool = False) -> dict[tuple, int]:
    """The maintained counts, zero rows left out (comparable with :func:`counted`)."""
    table = OrderAssigneeCount if by_assignee else OrderStatusCount
    key = [table.assignee_key] if by_assignee else []  # type: ignore[attr-defined]
    rows = session.execute(
        select(*key, table.status, table.archived, table.n).where(table.shop_id == shop_id, table.n != 0)
    )
    return {(*k[:-1], bool(k[-1])): n for *k, n in rows}


def recount(session: Session, shop_id: int) -> None:
    """Rebuild the shop's counts (and its per-assignee ones) from its orders: a repair, e.g.
    after the triggers were lost.

    Takes the shop's counter row first, like the triggers, so no order of the shop changes
    meanwhile on PostgreSQL (SQLite's writer is alone anyway).
    """
    from shangliao.shops.models import ShopCounter

    session.execute(select(ShopCounter.shop_id).where(ShopCounter.shop_id == shop_id).with_for_update())
    for table, columns in (
        (OrderStatusCount, ("status", "archived")),
        (OrderAssigneeCount, ("assignee_key", "status", "archived")),
    ):
        session.execute(delete(table).where(table.shop_id == shop_id))
        found = counted(session, shop_id, by_assignee=table is OrderAssigneeCount)
        rows = [
            {"shop_id": shop_id, **dict(zip(columns, key, strict=True)), "n": n} for key, n in found.items()
        ]
        if rows:
            session.execute(insert(table), rows)
