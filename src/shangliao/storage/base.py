"""Declarative base shared by every domain's ``models.py``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.types import BigId, UTCDateTime

# Deterministic constraint names so Alembic migrations match on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


class ShopScoped:
    """Every tenant table carries ``shop_id`` (rule 4 of docs/architecture.md); keeps the door open to sharding by shop."""

    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))


class EvidenceScoped(ShopScoped):
    """A tenant table of evidence (chat, payments, timelines): deleting its shop is refused rather
    than cascaded (rule 17 of docs/architecture.md); tests/test_evidence_schema.py checks every key."""

    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="RESTRICT"))


def all_models() -> MetaData:
    """Import every domain's models so ``Base.metadata`` is complete (Alembic, tests)."""
    from shangliao.aftersales import models as _aftersales  # noqa: F401
    from shangliao.assignment import models as _assignment  # noqa: F401
    from shangliao.audit import models as _audit  # noqa: F401
    from shangliao.auth import models as _auth  # noqa: F401
    from shangliao.automation import models as _automation  # noqa: F401
    from shangliao.catalog import models as _catalog  # noqa: F401
    from shangliao.chat import models as _chat  # noqa: F401
    from shangliao.customers import models as _customers  # noqa: F401
    from shangliao.events import models as _events  # noqa: F401
    from shangliao.exports import models as _exports  # noqa: F401
    from shangliao.inventory import models as _inventory  # noqa: F401
    from shangliao.invoices import models as _invoices  # noqa: F401
    from shangliao.jobs import models as _jobs  # noqa: F401
    from shangliao.notifications import models as _notifications  # noqa: F401
    from shangliao.orders import models as _orders  # noqa: F401
    from shangliao.payments import models as _payments  # noqa: F401
    from shangliao.replies import models as _replies  # noqa: F401
    from shangliao.shipping import models as _shipping  # noqa: F401
    from shangliao.shops import models as _shops  # noqa: F401
    from shangliao.stats import models as _stats  # noqa: F401
    from shangliao.storefront import models as _storefront  # noqa: F401
    from shangliao.webhooks import models as _webhooks  # noqa: F401

    return Base.metadata
