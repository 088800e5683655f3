"""The audit log table, append-only in the application and in the database itself.

Rows are evidence of who did what: nothing in the code updates or deletes them, and triggers
the migration installs with the table refuse an UPDATE or DELETE (and on PostgreSQL a TRUNCATE)
from anyone short of dropping them. Like the other evidence tables (rule 17
of docs/architecture.md) its keys are RESTRICT: deleting a shop or a member who appears in the
log is refused instead of taking the log with it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, EvidenceScoped, IdMixin
from shangliao.storage.triggers import execute_for_dialect
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime

TABLE = "audit_log"

# Who acted: a member in the console, an API token, the system itself, or an operator's CLI.
ACTOR_TYPES = ("staff", "api", "system", "cli")


class AuditEntry(IdMixin, EvidenceScoped, Base):
    """One act. ``data`` holds ids, codes and changed keys, never PII values or secrets."""

    __tablename__ = TABLE
    __table_args__ = (
        # Newest first, keyset-paged by id (core/pagination.py), for the shop and its filters.
        Index("ix_audit_log_shop_id_desc", "shop_id", "id"),
        Index("ix_audit_log_shop_staff_id", "shop_id", "staff_id", "id"),
        Index("ix_audit_log_shop_act_id", "shop_id", "act", "id"),
    )

    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    act: Mapped[str] = mapped_column(String(64))
    staff_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("staff.id", ondelete="RESTRICT"), nullable=True
    )
    actor_type: Mapped[str] = mapped_column(String(16), default="system")
    target_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    target_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    data: Mapped[dict] = mapped_column(JsonDoc, default=dict)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)


# The append-only guard, installed by migration 0001 (script.py.mako) like the order status
# count triggers (orders/counts.py): reviewed SQL for both databases. SQLite drops a table's
# triggers when batch mode rebuilds it, so a later revision that alters audit_log installs them again.
SQLITE_TRIGGERS = tuple(
    f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only'); END"
    for verb in ("UPDATE", "DELETE")
)
POSTGRES_TRIGGERS = (
    f"CREATE OR REPLACE FUNCTION {TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    f"$fn$ BEGIN RAISE EXCEPTION '{TABLE} is append-only'; END $fn$",
    f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
    f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_append_only()",
    f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_append_only()",
)
CREATE = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRES_TRIGGERS}
# Dropping the table drops its triggers; PostgreSQL keeps the function.
DROP = {
    "sqlite": tuple(f"DROP TRIGGER IF EXISTS {TABLE}_no_{verb}" for verb in ("update", "delete")),
    "postgresql": (
        f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}",
        f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}",
        f"DROP FUNCTION IF EXISTS {TABLE}_append_only()",
    ),
}


_MISSING = "the audit log has no append-only triggers"


def create_triggers(execute: Callable[[str], Any], dialect: str) -> None:
    """Install the append-only triggers with ``execute(sql)`` (a migration's ``op.execute``)."""
    execute_for_dialect(execute, CREATE, dialect, missing=_MISSING)


def drop_triggers(execute: Callable[[str], Any], dialect: str) -> None:
    execute_for_dialect(execute, DROP, dialect, missing=_MISSING)
