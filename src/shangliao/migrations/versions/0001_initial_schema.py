"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-07 21:45:45.036934

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
from sqlalchemy.dialects import postgresql

import shangliao.storage.types
from shangliao.audit import models as audit_models
from shangliao.orders import counts as order_counts

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shops",
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("settings", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shops")),
        sa.UniqueConstraint("slug", name=op.f("uq_shops_slug")),
    )
    op.create_table(
        "assign_pointers",
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("last_staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_assign_pointers_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "target", name=op.f("pk_assign_pointers")),
    )
    op.create_table(
        "automation_rules",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("trigger_params", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("conditions", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("actions", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("preset_key", sa.String(length=32), nullable=True),
        sa.Column("active_from_seq", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_automation_rules_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_rules")),
    )
    with op.batch_alter_table("automation_rules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_automation_rules_shop_trigger", ["shop_id", "enabled", "trigger"], unique=False
        )
        batch_op.create_index(
            "uq_automation_rules_shop_preset",
            ["shop_id", "preset_key"],
            unique=True,
            postgresql_where=sa.text("preset_key IS NOT NULL"),
            sqlite_where=sa.text("preset_key IS NOT NULL"),
        )

    op.create_table(
        "chain_manifests",
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("heads", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_chain_manifests_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_manifests")),
    )
    with op.batch_alter_table("chain_manifests", schema=None) as batch_op:
        batch_op.create_index("uq_chain_manifests_shop", ["shop_id"], unique=True)

    op.create_table(
        "consumer_cursors",
        sa.Column("consumer", sa.String(length=32), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_consumer_cursors_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("consumer", "shop_id", name=op.f("pk_consumer_cursors")),
    )
    op.create_table(
        "consumer_effects",
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("consumer", sa.String(length=32), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("action_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_consumer_effects_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "shop_id", "consumer", "event_seq", "action_key", name=op.f("pk_consumer_effects")
        ),
    )
    op.create_table(
        "customers",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("first_order_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_order_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("order_count", sa.Integer(), nullable=False),
        sa.Column("total_spent", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_customers_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index("ix_customers_shop_id", ["shop_id", "id"], unique=False)
        batch_op.create_index("ix_customers_shop_last_order", ["shop_id", "last_order_at"], unique=False)
        batch_op.create_index("ix_customers_shop_name", ["shop_id", "name"], unique=False)
        batch_op.create_index("ix_customers_shop_spent", ["shop_id", "total_spent"], unique=False)

    op.create_table(
        "event_log",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_event_log_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_log")),
    )
    with op.batch_alter_table("event_log", schema=None) as batch_op:
        batch_op.create_index("uq_event_log_shop_seq", ["shop_id", "seq"], unique=True)

    op.create_table(
        "exports",
        sa.Column("requested_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("query_enc", sa.LargeBinary(), nullable=True),
        sa.Column("scope", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("lease_until", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("downloaded_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_exports_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
    )
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exports_due",
            ["status", "id"],
            unique=False,
            postgresql_where=sa.text("status IN ('queued', 'running')"),
            sqlite_where=sa.text("status IN ('queued', 'running')"),
        )
        batch_op.create_index("ix_exports_shop_requester", ["shop_id", "requested_by", "id"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("due_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_jobs_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_jobs_queued_due",
            ["due_at", "id"],
            unique=False,
            postgresql_where=sa.text("status = 'queued'"),
            sqlite_where=sa.text("status = 'queued'"),
        )
        batch_op.create_index("ix_jobs_shop", ["shop_id", "id"], unique=False)
        batch_op.create_index("uq_jobs_idempotency_key", ["idempotency_key"], unique=True)

    op.create_table(
        "order_assignee_counts",
        sa.Column(
            "shop_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "assignee_key",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_order_assignee_counts_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "shop_id", "assignee_key", "status", "archived", name=op.f("pk_order_assignee_counts")
        ),
    )
    op.create_table(
        "order_search_terms",
        sa.Column(
            "shop_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("term", sa.String(length=16), nullable=False),
        sa.Column("created_us", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "order_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_order_search_terms_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "shop_id", "term", "created_us", "order_id", name=op.f("pk_order_search_terms")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "order_status_counts",
        sa.Column(
            "shop_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_order_status_counts_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "status", "archived", name=op.f("pk_order_status_counts")),
    )
    op.create_table(
        "payment_methods",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("settings", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("secrets_enc", sa.LargeBinary(), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_payment_methods_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_methods")),
    )
    with op.batch_alter_table("payment_methods", schema=None) as batch_op:
        batch_op.create_index("uq_payment_methods_shop_kind", ["shop_id", "kind"], unique=True)

    op.create_table(
        "payment_notifications",
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("received_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("out_trade_no", sa.String(length=64), nullable=True),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("remote_address", sa.String(length=64), nullable=False),
        sa.Column("body_digest", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_payment_notifications_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_notifications")),
    )
    with op.batch_alter_table("payment_notifications", schema=None) as batch_op:
        batch_op.create_index("ix_payment_notifications_shop", ["shop_id", "id"], unique=False)
        batch_op.create_index(
            "ix_payment_notifications_shop_outcome", ["shop_id", "outcome", "id"], unique=False
        )

    op.create_table(
        "reply_templates",
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("shortcode", sa.String(length=16), nullable=False),
        sa.Column("shortcode_key", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_reply_templates_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_templates")),
    )
    with op.batch_alter_table("reply_templates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reply_templates_shop_category", ["shop_id", "category", "position", "id"], unique=False
        )
        batch_op.create_index("uq_reply_templates_shop_shortcode", ["shop_id", "shortcode_key"], unique=True)

    op.create_table(
        "roles",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("permissions", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("data_scope", sa.String(length=16), nullable=False),
        sa.Column("sees_unassigned", sa.Boolean(), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_roles_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("shop_id", "name", name=op.f("uq_roles_shop_id_name")),
    )
    op.create_table(
        "shipping_templates",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("basis", sa.String(length=8), nullable=False),
        sa.Column("first_units", sa.Integer(), nullable=False),
        sa.Column("first_fee", sa.Integer(), nullable=False),
        sa.Column("further_units", sa.Integer(), nullable=False),
        sa.Column("further_fee", sa.Integer(), nullable=False),
        sa.Column("province_rules", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("free_over_amount", sa.Integer(), nullable=True),
        sa.Column("free_over_count", sa.Integer(), nullable=True),
        sa.Column(
            "excluded_provinces", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "first_units > 0 AND further_units > 0 AND first_fee >= 0 AND further_fee >= 0",
            name=op.f("ck_shipping_templates_shipping_template_units"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shipping_templates_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_templates")),
    )
    with op.batch_alter_table("shipping_templates", schema=None) as batch_op:
        batch_op.create_index("uq_shipping_templates_shop_name", ["shop_id", "name"], unique=True)

    op.create_table(
        "shop_counters",
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("order_day", sa.String(length=6), nullable=False),
        sa.Column("order_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shop_counters_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", name=op.f("pk_shop_counters")),
    )
    op.create_table(
        "shop_tags",
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("color", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shop_tags_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "name", name=op.f("pk_shop_tags")),
    )
    op.create_table(
        "stats_daily",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("placed", sa.Integer(), nullable=False),
        sa.Column("paid", sa.Integer(), nullable=False),
        sa.Column("gmv", sa.BigInteger(), nullable=False),
        sa.Column("refunds", sa.BigInteger(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_stats_daily_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "day", "channel", name=op.f("pk_stats_daily")),
    )
    op.create_table(
        "stats_hourly",
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("placed", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_stats_hourly_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "day", "hour", name=op.f("pk_stats_hourly")),
    )
    op.create_table(
        "stats_product_daily",
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.BigInteger(), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_stats_product_daily_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "day", "product_id", name=op.f("pk_stats_product_daily")),
    )
    op.create_table(
        "webhook_subscriptions",
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=64), nullable=False),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("topics", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=16), nullable=True),
        sa.Column("active_from_seq", sa.BigInteger(), nullable=False),
        sa.Column("failing_since", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_webhook_subscriptions_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_subscriptions_shop", ["shop_id", "id"], unique=False)

    op.create_table(
        "automation_runs",
        sa.Column("rule_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("actions", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["automation_rules.id"],
            name=op.f("fk_automation_runs_rule_id_automation_rules"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_automation_runs_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_runs")),
    )
    with op.batch_alter_table("automation_runs", schema=None) as batch_op:
        batch_op.create_index("ix_automation_runs_shop_rule", ["shop_id", "rule_id", "id"], unique=False)
        batch_op.create_index("uq_automation_runs_rule_event", ["rule_id", "event_seq"], unique=True)

    op.create_table(
        "customer_addresses",
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("data_enc", sa.LargeBinary(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_addresses_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_customer_addresses_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_addresses")),
    )
    with op.batch_alter_table("customer_addresses", schema=None) as batch_op:
        batch_op.create_index("ix_customer_addresses_customer", ["customer_id"], unique=False)

    op.create_table(
        "customer_phones",
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=False),
        sa.Column("phone_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("last4_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_phones_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_customer_phones_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_phones")),
    )
    with op.batch_alter_table("customer_phones", schema=None) as batch_op:
        batch_op.create_index("ix_customer_phones_customer", ["customer_id"], unique=False)
        batch_op.create_index("ix_customer_phones_shop_last4", ["shop_id", "last4_hash"], unique=False)
        batch_op.create_index("uq_customer_phones_shop_hash", ["shop_id", "phone_hash"], unique=True)

    op.create_table(
        "customer_tags",
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tag", sa.String(length=32), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_tags_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_customer_tags_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("customer_id", "tag", name=op.f("pk_customer_tags")),
    )
    with op.batch_alter_table("customer_tags", schema=None) as batch_op:
        batch_op.create_index("ix_customer_tags_shop_tag", ["shop_id", "tag", "customer_id"], unique=False)

    op.create_table(
        "products",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("aliases", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("images", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("options", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("presale", sa.Boolean(), nullable=False),
        sa.Column("low_stock_threshold", sa.Integer(), nullable=False),
        sa.Column("share_token", sa.String(length=32), nullable=False),
        sa.Column("archived_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "shipping_template_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shipping_template_id"],
            ["shipping_templates.id"],
            name=op.f("fk_products_shipping_template_id_shipping_templates"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_products_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index("ix_products_shop_active", ["shop_id", "active", "id"], unique=False)
        batch_op.create_index("uq_products_share_token", ["share_token"], unique=True)

    op.create_table(
        "staff",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("role_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_until", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_staff_role_id_roles"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_staff_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_username")),
    )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_role_id"), ["role_id"], unique=False)

    op.create_table(
        "visitors",
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("since_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_phone_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("typed_phone_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("verified_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_visitors_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_visitors_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visitors")),
    )
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.create_index("ix_visitors_shop_claim", ["shop_id", "claimed_phone_hash"], unique=False)
        batch_op.create_index("uq_visitors_token_hash", ["token_hash"], unique=True)

    op.create_table(
        "webhook_deliveries",
        sa.Column("subscription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=True),
        sa.Column("event_seq", sa.BigInteger(), nullable=True),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("redelivery_of", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_duration_ms", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_webhook_deliveries_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_webhook_deliveries_subscription_id_webhook_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_due",
            ["status", "next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
            sqlite_where=sa.text("status IN ('pending', 'sending')"),
        )
        batch_op.create_index("ix_webhook_deliveries_sub", ["shop_id", "subscription_id", "id"], unique=False)
        batch_op.create_index("uq_webhook_deliveries_key", ["subscription_id", "dedupe_key"], unique=True)

    op.create_table(
        "audit_log",
        sa.Column("at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("act", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_audit_log_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_audit_log_staff_id_staff"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_shop_act_id", ["shop_id", "act", "id"], unique=False)
        batch_op.create_index("ix_audit_log_shop_id_desc", ["shop_id", "id"], unique=False)
        batch_op.create_index("ix_audit_log_shop_staff_id", ["shop_id", "staff_id", "id"], unique=False)

    op.create_table(
        "conversations",
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("assignee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message_count", sa.BigInteger(), nullable=False),
        sa.Column("last_message_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("staff_read_seq", sa.BigInteger(), nullable=False),
        sa.Column("customer_read_seq", sa.BigInteger(), nullable=False),
        sa.Column("staff_unread", sa.Integer(), nullable=False),
        sa.Column("customer_unread", sa.Integer(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["staff.id"],
            name=op.f("fk_conversations_assignee_id_staff"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_conversations_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["conversations.id"],
            name=op.f("fk_conversations_merged_into_id_conversations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_conversations_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversations_shop_activity", ["shop_id", "last_message_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_conversations_shop_assignee", ["shop_id", "assignee_id", "last_message_at"], unique=False
        )
        batch_op.create_index(
            "uq_conversations_shop_customer",
            ["shop_id", "customer_id"],
            unique=True,
            sqlite_where=sa.text("merged_into_id IS NULL"),
            postgresql_where=sa.text("merged_into_id IS NULL"),
        )

    op.create_table(
        "credentials",
        sa.Column("staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_credentials_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_credentials_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_credentials_token_hash")),
    )
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credentials_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "invitations",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("role_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("revoked_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["accepted_by"], ["staff.id"], name=op.f("fk_invitations_accepted_by_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff.id"], name=op.f("fk_invitations_created_by_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_invitations_role_id_roles"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_invitations_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitations_role_id"), ["role_id"], unique=False)

    op.create_table(
        "notification_preferences",
        sa.Column("staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("muted", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("statuses", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_notification_preferences_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_notification_preferences_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staff_id", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "notifications",
        sa.Column("staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_notifications_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_notifications_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_staff_id", ["staff_id", "id"], unique=False)
        batch_op.create_index(
            "ix_notifications_unread",
            ["staff_id", "target_type", "target_id"],
            unique=False,
            sqlite_where=sa.text("read_at IS NULL"),
            postgresql_where=sa.text("read_at IS NULL"),
        )

    op.create_table(
        "phone_codes",
        sa.Column("visitor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("phone_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_phone_codes_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_phone_codes_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitors.id"],
            name=op.f("fk_phone_codes_visitor_id_visitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_codes")),
    )
    with op.batch_alter_table("phone_codes", schema=None) as batch_op:
        batch_op.create_index("ix_phone_codes_visitor", ["visitor_id", "id"], unique=False)

    op.create_table(
        "staff_presence",
        sa.Column("staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("last_seen_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_staff_presence_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_presence_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("staff_id", name=op.f("pk_staff_presence")),
    )
    with op.batch_alter_table("staff_presence", schema=None) as batch_op:
        batch_op.create_index("ix_staff_presence_shop_seen", ["shop_id", "last_seen_at"], unique=False)

    op.create_table(
        "variants",
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("backorder", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("backorder >= 0", name=op.f("ck_variants_backorder_nonnegative")),
        sa.CheckConstraint("on_hand >= 0", name=op.f("ck_variants_on_hand_nonnegative")),
        sa.CheckConstraint("on_hand >= reserved", name=op.f("ck_variants_available_nonnegative")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_variants_price_nonnegative")),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_variants_reserved_nonnegative")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_variants_product_id_products"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_variants_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_variants")),
    )
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.create_index("ix_variants_product", ["product_id", "position"], unique=False)
        batch_op.create_index("uq_variants_shop_sku", ["shop_id", "sku"], unique=True)

    op.create_table(
        "webhook_attempts",
        sa.Column("delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_webhook_attempts_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_attempts_at", ["at"], unique=False)
        batch_op.create_index("ix_webhook_attempts_delivery", ["delivery_id", "id"], unique=False)

    op.create_table(
        "chain_checkpoints",
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_chain_checkpoints_conversation_id_conversations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_chain_checkpoints_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_checkpoints")),
    )
    with op.batch_alter_table("chain_checkpoints", schema=None) as batch_op:
        batch_op.create_index(
            "uq_chain_checkpoints_conversation_seq", ["conversation_id", "seq"], unique=True
        )

    op.create_table(
        "conversation_keys",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["id"],
            ["conversations.id"],
            name=op.f("fk_conversation_keys_id_conversations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_conversation_keys_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_keys")),
    )
    op.create_table(
        "messages",
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("sender_type", sa.String(length=16), nullable=False),
        sa.Column("sender_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("recalled_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_messages_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "uq_messages_conversation_client", ["conversation_id", "client_id"], unique=True
        )
        batch_op.create_index("uq_messages_conversation_seq", ["conversation_id", "seq"], unique=True)

    op.create_table(
        "orders",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("customer_name", sa.String(length=64), nullable=False),
        sa.Column("address_enc", sa.LargeBinary(), nullable=True),
        sa.Column("phone_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("phone_last4_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("items_total", sa.Integer(), nullable=False),
        sa.Column("shipping_fee", sa.Integer(), nullable=False),
        sa.Column("discount", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("paid_amount", sa.Integer(), nullable=False),
        sa.Column("refunded_amount", sa.Integer(), nullable=False),
        sa.Column("remark", sa.Text(), nullable=False),
        sa.Column("assignee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("carrier_code", sa.String(length=16), nullable=True),
        sa.Column("tracking_number", sa.String(length=40), nullable=True),
        sa.Column("shipping_fee_overridden", sa.Boolean(), nullable=False),
        sa.Column("trade_seq", sa.Integer(), nullable=False),
        sa.Column("parcels_shipped", sa.Integer(), nullable=False),
        sa.Column("aftersales_open", sa.Integer(), nullable=False),
        sa.Column("invoice_status", sa.String(length=16), nullable=True),
        sa.Column("cancel_reason", sa.String(length=32), nullable=True),
        sa.Column("cancel_note", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("idempotency_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("submitted_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("shipped_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paid_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("archived_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("restored_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("discount >= 0 AND shipping_fee >= 0", name=op.f("ck_orders_fees_nonnegative")),
        sa.CheckConstraint("total >= 0", name=op.f("ck_orders_total_nonnegative")),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["staff.id"], name=op.f("fk_orders_assignee_id_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_orders_conversation_id_conversations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_orders_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_orders_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_shop_aftersales",
            ["shop_id", "created_at", "id"],
            unique=False,
            postgresql_where=sa.text("aftersales_open > 0"),
            sqlite_where=sa.text("aftersales_open > 0"),
        )
        batch_op.create_index(
            "ix_orders_shop_assignee", ["shop_id", "assignee_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_orders_shop_assignee_status",
            ["shop_id", "assignee_id", "status", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index("ix_orders_shop_created", ["shop_id", "created_at", "id"], unique=False)
        batch_op.create_index("ix_orders_shop_customer", ["shop_id", "customer_id"], unique=False)
        batch_op.create_index(
            "ix_orders_shop_invoice",
            ["shop_id", "invoice_status", "created_at", "id"],
            unique=False,
            postgresql_where=sa.text("invoice_status IS NOT NULL"),
            sqlite_where=sa.text("invoice_status IS NOT NULL"),
        )
        batch_op.create_index("ix_orders_shop_last4", ["shop_id", "phone_last4_hash"], unique=False)
        batch_op.create_index("ix_orders_shop_phone", ["shop_id", "phone_hash"], unique=False)
        batch_op.create_index(
            "ix_orders_shop_status_created", ["shop_id", "status", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_orders_shop_tracking", ["shop_id", "tracking_number"], unique=False)
        batch_op.create_index(
            "ix_orders_shop_unassigned",
            ["shop_id", "created_at", "id"],
            unique=False,
            postgresql_where=sa.text("assignee_id IS NULL"),
            sqlite_where=sa.text("assignee_id IS NULL"),
        )
        batch_op.create_index(
            "ix_orders_shop_unassigned_status",
            ["shop_id", "status", "created_at", "id"],
            unique=False,
            postgresql_where=sa.text("assignee_id IS NULL"),
            sqlite_where=sa.text("assignee_id IS NULL"),
        )
        batch_op.create_index("uq_orders_shop_idempotency", ["shop_id", "idempotency_key"], unique=True)
        batch_op.create_index("uq_orders_shop_number", ["shop_id", "number"], unique=True)

    op.create_table(
        "product_images",
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("variant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("mime", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("thumb_key", sa.String(length=64), nullable=False),
        sa.Column("thumb_sha256", sa.String(length=64), nullable=False),
        sa.Column("thumb_width", sa.Integer(), nullable=False),
        sa.Column("thumb_height", sa.Integer(), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_images_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_product_images_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["variants.id"],
            name=op.f("fk_product_images_variant_id_variants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_images")),
    )
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.create_index("ix_product_images_product", ["product_id", "position"], unique=False)
        batch_op.create_index("uq_product_images_storage_key", ["storage_key"], unique=True)
        batch_op.create_index("uq_product_images_thumb_key", ["thumb_key"], unique=True)

    op.create_table(
        "attachments",
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("sender_type", sa.String(length=16), nullable=False),
        sa.Column("sender_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_attachments_conversation_id_conversations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_attachments_message_id_messages"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_attachments_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attachments_shop_conversation", ["shop_id", "conversation_id", "id"], unique=False
        )
        batch_op.create_index("uq_attachments_storage_key", ["storage_key"], unique=True)

    op.create_table(
        "invoice_requests",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("title_type", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("tax_id", sa.String(length=20), nullable=True),
        sa.Column("email_enc", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=16), nullable=False),
        sa.Column("invoice_number", sa.String(length=40), nullable=True),
        sa.Column("issued_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("issued_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint(
            "status IN ('requested', 'issued', 'cancelled')", name=op.f("ck_invoice_requests_status_known")
        ),
        sa.CheckConstraint(
            "title_type IN ('personal', 'company')", name=op.f("ck_invoice_requests_title_type_known")
        ),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["staff.id"], name=op.f("fk_invoice_requests_issued_by_staff"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_invoice_requests_order_id_orders"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_invoice_requests_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_requests")),
    )
    with op.batch_alter_table("invoice_requests", schema=None) as batch_op:
        batch_op.create_index("ix_invoice_requests_order", ["order_id", "id"], unique=False)
        batch_op.create_index(
            "uq_invoice_requests_open_order",
            ["order_id"],
            unique=True,
            postgresql_where=sa.text("status <> 'cancelled'"),
            sqlite_where=sa.text("status <> 'cancelled'"),
        )

    op.create_table(
        "order_events",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_events_order_id_orders"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_order_events_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.create_index("ix_order_events_order", ["order_id", "id"], unique=False)

    op.create_table(
        "order_items",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("variant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("spec", sa.String(length=255), nullable=False),
        sa.Column("unit_price", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("backorder", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_items_quantity_positive")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_order_items_unit_price_nonnegative")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_items_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_order_items_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_order_items_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["variants.id"],
            name=op.f("fk_order_items_variant_id_variants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_items")),
    )
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.create_index("ix_order_items_order", ["order_id", "position"], unique=False)
        batch_op.create_index("ix_order_items_variant", ["shop_id", "variant_id"], unique=False)

    op.create_table(
        "order_notes",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["staff.id"], name=op.f("fk_order_notes_author_id_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_notes_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_order_notes_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_notes")),
    )
    with op.batch_alter_table("order_notes", schema=None) as batch_op:
        batch_op.create_index("ix_order_notes_order", ["order_id", "id"], unique=False)

    op.create_table(
        "order_tags",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tag", sa.String(length=32), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_tags_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_order_tags_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("order_id", "tag", name=op.f("pk_order_tags")),
    )
    with op.batch_alter_table("order_tags", schema=None) as batch_op:
        batch_op.create_index("ix_order_tags_shop_tag", ["shop_id", "tag", "order_id"], unique=False)

    op.create_table(
        "parcels",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("aftersale_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("carrier_code", sa.String(length=16), nullable=False),
        sa.Column("tracking_number", sa.String(length=40), nullable=False),
        sa.Column("shipped_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("shipped_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_by", sa.String(length=16), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_parcels_order_id_orders"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["shipped_by"], ["staff.id"], name=op.f("fk_parcels_shipped_by_staff"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_parcels_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcels")),
    )
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.create_index("ix_parcels_order", ["order_id", "seq"], unique=False)
        batch_op.create_index("ix_parcels_shop_tracking", ["shop_id", "tracking_number"], unique=False)
        batch_op.create_index("uq_parcels_order_seq", ["order_id", "seq"], unique=True)

    op.create_table(
        "payment_attempts",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("out_trade_no", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("code_url", sa.Text(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paid_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_attempts_attempt_amount_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_payment_attempts_order_id_orders"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_payment_attempts_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_attempts")),
    )
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_payment_attempts_order", ["order_id", "id"], unique=False)
        batch_op.create_index("uq_payment_attempts_shop_trade_no", ["shop_id", "out_trade_no"], unique=True)

    op.create_table(
        "stock_movements",
        sa.Column("variant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("on_hand_delta", sa.Integer(), nullable=False),
        sa.Column("reserved_delta", sa.Integer(), nullable=False),
        sa.Column("backorder_delta", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["staff.id"], name=op.f("fk_stock_movements_actor_id_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_stock_movements_order_id_orders"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_stock_movements_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["variants.id"],
            name=op.f("fk_stock_movements_variant_id_variants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
    )
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.create_index("ix_stock_movements_order", ["order_id"], unique=False)
        batch_op.create_index("ix_stock_movements_variant", ["variant_id", "id"], unique=False)

    op.create_table(
        "parcel_items",
        sa.Column("parcel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("variant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("spec", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_parcel_items_parcel_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_item_id"],
            ["order_items.id"],
            name=op.f("fk_parcel_items_order_item_id_order_items"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["parcel_id"], ["parcels.id"], name=op.f("fk_parcel_items_parcel_id_parcels"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_parcel_items_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["variants.id"],
            name=op.f("fk_parcel_items_variant_id_variants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcel_items")),
    )
    with op.batch_alter_table("parcel_items", schema=None) as batch_op:
        batch_op.create_index("ix_parcel_items_order_item", ["order_item_id"], unique=False)
        batch_op.create_index("ix_parcel_items_parcel", ["parcel_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("out_trade_no", sa.String(length=32), nullable=False),
        sa.Column("recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("paid_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("idempotency_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("attempt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["payment_attempts.id"],
            name=op.f("fk_payments_attempt_id_payment_attempts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_payments_order_id_orders"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["staff.id"], name=op.f("fk_payments_recorded_by_staff"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_payments_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index("ix_payments_order", ["order_id"], unique=False)
        batch_op.create_index("uq_payments_shop_idempotency", ["shop_id", "idempotency_key"], unique=True)
        batch_op.create_index("uq_payments_shop_trade_no", ["shop_id", "out_trade_no"], unique=True)
        batch_op.create_index(
            "uq_payments_shop_transaction", ["shop_id", "method", "transaction_id"], unique=True
        )

    op.create_table(
        "refunds",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("aftersale_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("out_refund_no", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("attempt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("refunded_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("idempotency_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_refund_amount_positive")),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["payment_attempts.id"],
            name=op.f("fk_refunds_attempt_id_payment_attempts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_refunds_order_id_orders"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["staff.id"], name=op.f("fk_refunds_recorded_by_staff"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_refunds_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index("ix_refunds_order", ["order_id"], unique=False)
        batch_op.create_index(
            "uq_refunds_order_out_refund_no", ["shop_id", "order_id", "out_refund_no"], unique=True
        )
        batch_op.create_index("uq_refunds_shop_idempotency", ["shop_id", "idempotency_key"], unique=True)
        batch_op.create_index(
            "uq_refunds_shop_transaction", ["shop_id", "method", "transaction_id"], unique=True
        )

    op.create_table(
        "aftersales",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("customer_note", sa.Text(), nullable=False),
        sa.Column("photos", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("requested_amount", sa.Integer(), nullable=False),
        sa.Column("return_carrier", sa.String(length=16), nullable=True),
        sa.Column("return_tracking", sa.String(length=40), nullable=True),
        sa.Column("refund_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("parcel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("staff_message", sa.String(length=500), nullable=False),
        sa.Column("card_message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("decided_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("received_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("return_sent_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("returned_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint("requested_amount >= 0", name=op.f("ck_aftersales_aftersale_amount_nonnegative")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_aftersales_conversation_id_conversations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["staff.id"], name=op.f("fk_aftersales_decided_by_staff"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_aftersales_order_id_orders"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["parcel_id"], ["parcels.id"], name=op.f("fk_aftersales_parcel_id_parcels"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["received_by"], ["staff.id"], name=op.f("fk_aftersales_received_by_staff"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"], ["refunds.id"], name=op.f("fk_aftersales_refund_id_refunds"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_aftersales_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftersales")),
    )
    with op.batch_alter_table("aftersales", schema=None) as batch_op:
        batch_op.create_index("ix_aftersales_order", ["order_id", "id"], unique=False)
        batch_op.create_index("ix_aftersales_shop_status", ["shop_id", "status", "id"], unique=False)
        batch_op.create_index("uq_aftersales_shop_number", ["shop_id", "number"], unique=True)

    op.create_table(
        "payment_proofs",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("attachment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reviewed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reviewed_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", shangliao.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_payment_proofs_attachment_id_attachments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_payment_proofs_message_id_messages"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_payment_proofs_order_id_orders"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_payment_proofs_payment_id_payments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"],
            ["staff.id"],
            name=op.f("fk_payment_proofs_reviewed_by_staff"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_payment_proofs_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_proofs")),
    )
    with op.batch_alter_table("payment_proofs", schema=None) as batch_op:
        batch_op.create_index("ix_payment_proofs_order", ["order_id", "id"], unique=False)
        batch_op.create_index("ix_payment_proofs_shop_status", ["shop_id", "status", "id"], unique=False)

    op.create_table(
        "aftersale_lines",
        sa.Column("aftersale_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column(
            "replacement_variant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("restock", sa.Boolean(), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_aftersale_lines_aftersale_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["aftersale_id"],
            ["aftersales.id"],
            name=op.f("fk_aftersale_lines_aftersale_id_aftersales"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["order_item_id"],
            ["order_items.id"],
            name=op.f("fk_aftersale_lines_order_item_id_order_items"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["replacement_variant_id"],
            ["variants.id"],
            name=op.f("fk_aftersale_lines_replacement_variant_id_variants"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_aftersale_lines_shop_id_shops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftersale_lines")),
    )
    with op.batch_alter_table("aftersale_lines", schema=None) as batch_op:
        batch_op.create_index("ix_aftersale_lines_item", ["order_item_id"], unique=False)
        batch_op.create_index("ix_aftersale_lines_request", ["aftersale_id"], unique=False)

    # Triggers keeping order_status_counts; one set per database, both in orders/counts.py.
    order_counts.create_triggers(op.execute, op.get_context().dialect.name)
    # The audit log is append-only in the database too (audit/models.py).
    audit_models.create_triggers(op.execute, op.get_context().dialect.name)


def downgrade() -> None:
    audit_models.drop_triggers(op.execute, op.get_context().dialect.name)
    order_counts.drop_triggers(op.execute, op.get_context().dialect.name)
    with op.batch_alter_table("aftersale_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_aftersale_lines_request")
        batch_op.drop_index("ix_aftersale_lines_item")

    op.drop_table("aftersale_lines")
    with op.batch_alter_table("payment_proofs", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_proofs_shop_status")
        batch_op.drop_index("ix_payment_proofs_order")

    op.drop_table("payment_proofs")
    with op.batch_alter_table("aftersales", schema=None) as batch_op:
        batch_op.drop_index("uq_aftersales_shop_number")
        batch_op.drop_index("ix_aftersales_shop_status")
        batch_op.drop_index("ix_aftersales_order")

    op.drop_table("aftersales")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index("uq_refunds_shop_transaction")
        batch_op.drop_index("uq_refunds_shop_idempotency")
        batch_op.drop_index("uq_refunds_order_out_refund_no")
        batch_op.drop_index("ix_refunds_order")

    op.drop_table("refunds")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("uq_payments_shop_transaction")
        batch_op.drop_index("uq_payments_shop_trade_no")
        batch_op.drop_index("uq_payments_shop_idempotency")
        batch_op.drop_index("ix_payments_order")

    op.drop_table("payments")
    with op.batch_alter_table("parcel_items", schema=None) as batch_op:
        batch_op.drop_index("ix_parcel_items_parcel")
        batch_op.drop_index("ix_parcel_items_order_item")

    op.drop_table("parcel_items")
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_movements_variant")
        batch_op.drop_index("ix_stock_movements_order")

    op.drop_table("stock_movements")
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.drop_index("uq_payment_attempts_shop_trade_no")
        batch_op.drop_index("ix_payment_attempts_order")

    op.drop_table("payment_attempts")
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.drop_index("uq_parcels_order_seq")
        batch_op.drop_index("ix_parcels_shop_tracking")
        batch_op.drop_index("ix_parcels_order")

    op.drop_table("parcels")
    with op.batch_alter_table("order_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_order_tags_shop_tag")

    op.drop_table("order_tags")
    with op.batch_alter_table("order_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_order_notes_order")

    op.drop_table("order_notes")
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_index("ix_order_items_variant")
        batch_op.drop_index("ix_order_items_order")

    op.drop_table("order_items")
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.drop_index("ix_order_events_order")

    op.drop_table("order_events")
    with op.batch_alter_table("invoice_requests", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_invoice_requests_open_order",
            postgresql_where=sa.text("status <> 'cancelled'"),
            sqlite_where=sa.text("status <> 'cancelled'"),
        )
        batch_op.drop_index("ix_invoice_requests_order")

    op.drop_table("invoice_requests")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index("uq_attachments_storage_key")
        batch_op.drop_index("ix_attachments_shop_conversation")

    op.drop_table("attachments")
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.drop_index("uq_product_images_thumb_key")
        batch_op.drop_index("uq_product_images_storage_key")
        batch_op.drop_index("ix_product_images_product")

    op.drop_table("product_images")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("uq_orders_shop_number")
        batch_op.drop_index("uq_orders_shop_idempotency")
        batch_op.drop_index(
            "ix_orders_shop_unassigned_status",
            postgresql_where=sa.text("assignee_id IS NULL"),
            sqlite_where=sa.text("assignee_id IS NULL"),
        )
        batch_op.drop_index(
            "ix_orders_shop_unassigned",
            postgresql_where=sa.text("assignee_id IS NULL"),
            sqlite_where=sa.text("assignee_id IS NULL"),
        )
        batch_op.drop_index("ix_orders_shop_tracking")
        batch_op.drop_index("ix_orders_shop_status_created")
        batch_op.drop_index("ix_orders_shop_phone")
        batch_op.drop_index("ix_orders_shop_last4")
        batch_op.drop_index(
            "ix_orders_shop_invoice",
            postgresql_where=sa.text("invoice_status IS NOT NULL"),
            sqlite_where=sa.text("invoice_status IS NOT NULL"),
        )
        batch_op.drop_index("ix_orders_shop_customer")
        batch_op.drop_index("ix_orders_shop_created")
        batch_op.drop_index("ix_orders_shop_assignee_status")
        batch_op.drop_index("ix_orders_shop_assignee")
        batch_op.drop_index(
            "ix_orders_shop_aftersales",
            postgresql_where=sa.text("aftersales_open > 0"),
            sqlite_where=sa.text("aftersales_open > 0"),
        )

    op.drop_table("orders")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("uq_messages_conversation_seq")
        batch_op.drop_index("uq_messages_conversation_client")

    op.drop_table("messages")
    op.drop_table("conversation_keys")
    with op.batch_alter_table("chain_checkpoints", schema=None) as batch_op:
        batch_op.drop_index("uq_chain_checkpoints_conversation_seq")

    op.drop_table("chain_checkpoints")
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_attempts_delivery")
        batch_op.drop_index("ix_webhook_attempts_at")

    op.drop_table("webhook_attempts")
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.drop_index("uq_variants_shop_sku")
        batch_op.drop_index("ix_variants_product")

    op.drop_table("variants")
    with op.batch_alter_table("staff_presence", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_presence_shop_seen")

    op.drop_table("staff_presence")
    with op.batch_alter_table("phone_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_phone_codes_visitor")

    op.drop_table("phone_codes")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notifications_unread",
            sqlite_where=sa.text("read_at IS NULL"),
            postgresql_where=sa.text("read_at IS NULL"),
        )
        batch_op.drop_index("ix_notifications_staff_id")

    op.drop_table("notifications")
    op.drop_table("notification_preferences")
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitations_role_id"))

    op.drop_table("invitations")
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credentials_staff_id"))

    op.drop_table("credentials")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_conversations_shop_customer",
            sqlite_where=sa.text("merged_into_id IS NULL"),
            postgresql_where=sa.text("merged_into_id IS NULL"),
        )
        batch_op.drop_index("ix_conversations_shop_assignee")
        batch_op.drop_index("ix_conversations_shop_activity")

    op.drop_table("conversations")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_shop_staff_id")
        batch_op.drop_index("ix_audit_log_shop_id_desc")
        batch_op.drop_index("ix_audit_log_shop_act_id")

    op.drop_table("audit_log")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("uq_webhook_deliveries_key")
        batch_op.drop_index("ix_webhook_deliveries_sub")
        batch_op.drop_index(
            "ix_webhook_deliveries_due",
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
            sqlite_where=sa.text("status IN ('pending', 'sending')"),
        )

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.drop_index("uq_visitors_token_hash")
        batch_op.drop_index("ix_visitors_shop_claim")

    op.drop_table("visitors")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_role_id"))

    op.drop_table("staff")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index("uq_products_share_token")
        batch_op.drop_index("ix_products_shop_active")

    op.drop_table("products")
    with op.batch_alter_table("customer_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_tags_shop_tag")

    op.drop_table("customer_tags")
    with op.batch_alter_table("customer_phones", schema=None) as batch_op:
        batch_op.drop_index("uq_customer_phones_shop_hash")
        batch_op.drop_index("ix_customer_phones_shop_last4")
        batch_op.drop_index("ix_customer_phones_customer")

    op.drop_table("customer_phones")
    with op.batch_alter_table("customer_addresses", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_addresses_customer")

    op.drop_table("customer_addresses")
    with op.batch_alter_table("automation_runs", schema=None) as batch_op:
        batch_op.drop_index("uq_automation_runs_rule_event")
        batch_op.drop_index("ix_automation_runs_shop_rule")

    op.drop_table("automation_runs")
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_subscriptions_shop")

    op.drop_table("webhook_subscriptions")
    op.drop_table("stats_product_daily")
    op.drop_table("stats_hourly")
    op.drop_table("stats_daily")
    op.drop_table("shop_tags")
    op.drop_table("shop_counters")
    with op.batch_alter_table("shipping_templates", schema=None) as batch_op:
        batch_op.drop_index("uq_shipping_templates_shop_name")

    op.drop_table("shipping_templates")
    op.drop_table("roles")
    with op.batch_alter_table("reply_templates", schema=None) as batch_op:
        batch_op.drop_index("uq_reply_templates_shop_shortcode")
        batch_op.drop_index("ix_reply_templates_shop_category")

    op.drop_table("reply_templates")
    with op.batch_alter_table("payment_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_notifications_shop_outcome")
        batch_op.drop_index("ix_payment_notifications_shop")

    op.drop_table("payment_notifications")
    with op.batch_alter_table("payment_methods", schema=None) as batch_op:
        batch_op.drop_index("uq_payment_methods_shop_kind")

    op.drop_table("payment_methods")
    op.drop_table("order_status_counts")
    op.drop_table("order_search_terms")
    op.drop_table("order_assignee_counts")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("uq_jobs_idempotency_key")
        batch_op.drop_index("ix_jobs_shop")
        batch_op.drop_index(
            "ix_jobs_queued_due",
            postgresql_where=sa.text("status = 'queued'"),
            sqlite_where=sa.text("status = 'queued'"),
        )

    op.drop_table("jobs")
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_index("ix_exports_shop_requester")
        batch_op.drop_index(
            "ix_exports_due",
            postgresql_where=sa.text("status IN ('queued', 'running')"),
            sqlite_where=sa.text("status IN ('queued', 'running')"),
        )

    op.drop_table("exports")
    with op.batch_alter_table("event_log", schema=None) as batch_op:
        batch_op.drop_index("uq_event_log_shop_seq")

    op.drop_table("event_log")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_shop_spent")
        batch_op.drop_index("ix_customers_shop_name")
        batch_op.drop_index("ix_customers_shop_last_order")
        batch_op.drop_index("ix_customers_shop_id")

    op.drop_table("customers")
    op.drop_table("consumer_effects")
    op.drop_table("consumer_cursors")
    with op.batch_alter_table("chain_manifests", schema=None) as batch_op:
        batch_op.drop_index("uq_chain_manifests_shop")

    op.drop_table("chain_manifests")
    with op.batch_alter_table("automation_rules", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_automation_rules_shop_preset",
            postgresql_where=sa.text("preset_key IS NOT NULL"),
            sqlite_where=sa.text("preset_key IS NOT NULL"),
        )
        batch_op.drop_index("ix_automation_rules_shop_trigger")

    op.drop_table("automation_rules")
    op.drop_table("assign_pointers")
    op.drop_table("shops")
