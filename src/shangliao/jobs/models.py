"""The jobs table: work to do later, claimed and done in the same transaction as its effect.

A job names a registered handler (``kind``) and carries ids only (``payload``): whatever it acts on
is read when it runs. ``idempotency_key`` is unique, so the same piece of work (one rule action for
one event, one hour's checkpoint) is queued once however many times it is asked for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, IdMixin
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime

QUEUED, DONE, FAILED = "queued", "done", "failed"
RUNNING = "running"  # a periodic task's run, claimed and under way (jobs/periodic.py)


class Job(IdMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("uq_jobs_idempotency_key", "idempotency_key", unique=True),
        # The worker's walk: the queued jobs by due time (done and failed ones are history).
        Index(
            "ix_jobs_queued_due",
            "due_at",
            "id",
            postgresql_where=text("status = 'queued'"),
            sqlite_where=text("status = 'queued'"),
        ),
        Index("ix_jobs_shop", "shop_id", "id"),
    )

    # None: the installation's own work (an hourly checkpoint over every shop).
    shop_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("shops.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(48))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    status: Mapped[str] = mapped_column(String(12), default=QUEUED)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=6)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ConsumerCursor(Base):
    """How far a consumer of the event log (rules, webhooks) has got in one shop's log: advanced
    in the same transaction as the effects of the events it passed (jobs/consumers.py)."""

    __tablename__ = "consumer_cursors"

    consumer: Mapped[str] = mapped_column(String(32), primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # Failed tries of the event after ``last_seq``: past MAX_TRIES it is skipped (logged), so one
    # poisonous event never stops a shop's automation for good.
    errors: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ConsumerEffect(Base):
    """One effect of one consumer for one event (``action_key``: which rule's which action, say):
    inserted before the effect is made, so a retry or a redelivery makes it at most once."""

    __tablename__ = "consumer_effects"

    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    action_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
