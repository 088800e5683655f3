"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision or "(none)" | comma,n}
Create Date: ${create_date}

The same script runs on SQLite and PostgreSQL: keep dialect-specific SQL out of it, and write
column changes inside ``op.batch_alter_table`` (SQLite rebuilds the table for them). The one
exception is reviewed code that has its SQL for both databases (the order status count triggers,
``shangliao.orders.counts``, and the audit log's append-only guard, ``shangliao.audit.models``);
SQLite drops a table's triggers when batch mode rebuilds it (``orders``, ``audit_log``), so a
revision that does must install them again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
% if up_revision == "0001":
from shangliao.audit import models as audit_models
from shangliao.orders import counts as order_counts
% endif

# revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}
% if up_revision == "0001":
    # Triggers keeping order_status_counts; one set per database, both in orders/counts.py.
    order_counts.create_triggers(op.execute, op.get_context().dialect.name)
    # The audit log is append-only in the database too (audit/models.py).
    audit_models.create_triggers(op.execute, op.get_context().dialect.name)
% endif


def downgrade() -> None:
% if up_revision == "0001":
    audit_models.drop_triggers(op.execute, op.get_context().dialect.name)
    order_counts.drop_triggers(op.execute, op.get_context().dialect.name)
% endif
    ${downgrades if downgrades else "pass"}
