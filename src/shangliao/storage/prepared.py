"""Core statements compiled once per dialect and run on the driver's own cursor.

Measured on the order-create path: ``Connection.execute`` spends ~30 µs per statement before the
driver sees it (cache key, execution context, result object), the ``sqlite3`` driver ~8 µs. A
handful of write statements runs on every order, so they are compiled once here, with their
columns' bind conversions (JSON, UTC datetimes …) kept, and the driver gets a ready argument list.

``execute`` hands back RETURNING rows as the driver returns them (ids, counters: nothing to
convert). ``rows`` is for hot reads: each column goes through its type's result conversion (UTC
datetimes, JSON …) and rows come back as named tuples, read by attribute like a result row;
``tuples`` for reads whose columns need none (the driver's rows as they come).
Everything else uses ``Connection.execute``.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

_MISSING = object()


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...]  # where each argument comes from, in the driver's order
    keys: tuple[str, ...]  # the same names as the driver expects them (named paramstyles)
    fixed: dict[str, Any]  # values written into the statement itself, e.g. the 1 of ``seq + 1``
    processors: tuple[Callable[[Any], Any] | None, ...]
    positional: bool
    row_type: type | None  # a named tuple of the selected columns (None: not a SELECT)
    converters: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column index, its conversion)

    @classmethod
    def build(cls, stmt: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None) -> _Plan:
        compiled = stmt.compile(dialect=dialect, column_keys=column_keys)
        names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
        binds = compiled.binds
        fixed = {name: binds[name].effective_value for name in set(names) if binds[name].value is not None}
        columns = compiled._result_columns if getattr(stmt, "is_select", False) else []
        converters = tuple(
            (i, f) for i, c in enumerate(columns) if (f := c.type._cached_result_processor(dialect, None))
        )
        return cls(
            sql=compiled.string,
            names=names,
            keys=tuple(compiled.escaped_bind_names.get(n, n) for n in names),
            fixed=fixed,
            processors=tuple(binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names),
            positional=compiled.positional,
            row_type=namedtuple("Row", [c.keyname for c in columns], rename=True) if columns else None,
            converters=converters,
        )

    def convert(self, raw: Sequence[Sequence[Any]]) -> list[Any]:
        make, converters = self.row_type._make, self.converters  # type: ignore[union-attr]
        if not converters:
            return [make(r) for r in raw]
        rows = []
        for r in raw:
            values = list(r)
            for i, convert in converters:  # only the columns that need it (datetimes, JSON …)
                if values[i] is not None:
                    values[i] = convert(values[i])
            rows.append(make(values))
        return rows

    def arguments(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = []
        for name, process in zip(self.names, self.processors, strict=True):
            value = params.get(name, _MISSING)
            if value is _MISSING:
                value = self.fixed[name]  # KeyError: the caller left out a parameter
            values.append(process(value) if process is not None and value is not None else value)
        return values if self.positional else dict(zip(self.keys, values, strict=True))


class Prepared:
    """``Prepared(stmt).execute(conn, params)``.

    An INSERT writes the columns its parameters name, so it is compiled once per dialect and set
    of keys; in ``executemany`` every row must carry the keys of the first.
    """

    def __init__(self, stmt: ClauseElement) -> None:
        self.stmt = stmt
        self._is_insert = bool(getattr(stmt, "is_insert", False))
        self._plans: dict[tuple[str, tuple[str, ...] | None], _Plan] = {}

    def _plan(self, conn: Connection, params: Mapping[str, Any]) -> _Plan:
        if not conn.in_transaction():
            # What ``Connection.execute`` does first (autobegin), which the driver's cursor skips:
            # the engine's ``begin`` hook sends BEGIN on SQLite, so a read unit's statements share
            # one snapshot instead of each running alone in autocommit.
            conn.begin()
        columns = tuple(params) if self._is_insert else None
        key = (conn.dialect.name, columns)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan.build(self.stmt, conn.dialect, columns)
        return plan

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """Run once; returns the RETURNING rows (none without RETURNING)."""
        plan = self._plan(conn, params)
        return _run(conn, plan.sql, plan.arguments(params), many=False)

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """Run a SELECT: its rows as named tuples, each value converted as its column's type says."""
        plan = self._plan(conn, params)
        if plan.row_type is None:
            raise TypeError("rows() is for SELECT statements")
        return plan.convert(_run(conn, plan.sql, plan.arguments(params), many=False))

    def tuples(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """Run a SELECT whose columns need no conversion (numbers, text): the driver's own rows,
        plain tuples, read by position (a dashboard's many small rows skip a named tuple each)."""
        plan = self._plan(conn, params)
        if plan.converters:
            raise TypeError("tuples() is for columns the driver hands back as they are; use rows()")
        return _run(conn, plan.sql, plan.arguments(params), many=False)

    def executemany(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run once per row in one driver call; returns the rows affected in all."""
        plan = self._plan(conn, rows[0])
        return _run(conn, plan.sql, [plan.arguments(row) for row in rows], many=True)


def run_driver_sql(conn: Connection, sql: str) -> None:
    """A fixed statement (``BEGIN``) on the driver's cursor, listeners told, without the ~40 µs
    of ``Connection.exec_driver_sql``: every read transaction opens with one."""
    _run(conn, sql, (), many=False)


def _run(conn: Connection, sql: str, arguments: Any, *, many: bool) -> Any:
    """Execute on a fresh driver cursor: rows (``execute``) or the rowcount (``executemany``).

    ``before/after_cursor_execute`` listeners still hear of the statement, so statement
    counters and tracing keep working; with none attached this costs nothing.
    """
    dispatch = conn.dispatch
    cursor = conn.connection.cursor()
    try:
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(conn, cursor, sql, arguments, None, many)
        if many:
            cursor.executemany(sql, arguments)
            result = cursor.rowcount
        else:
            cursor.execute(sql, arguments)
            result = cursor.fetchall() if cursor.description is not None else []
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(conn, cursor, sql, arguments, None, many)
        return result
    except conn.dialect.loaded_dbapi.Error as err:
        raise _wrapped(conn, sql, arguments, err) from err
    finally:
        cursor.close()


def _wrapped(conn: Connection, sql: str, arguments: Any, err: Exception) -> exc.DBAPIError:
    """The exception ``Connection.execute`` would raise (``IntegrityError`` for a duplicate …)."""
    return exc.DBAPIError.instance(sql, arguments, err, conn.dialect.loaded_dbapi.Error)
