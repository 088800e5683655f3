"""Automation rules (自动化) and their run log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, IdMixin, ShopScoped
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime


class AutomationRule(IdMixin, ShopScoped, Base):
    """Trigger + conditions + actions (automation/schemas.py), kept as JSON validated on the way in.
    A deleted rule keeps its row (its runs still name it); ``active_from_seq`` is the shop's event
    head when it was last switched on: it acts on later events only."""

    __tablename__ = "automation_rules"
    __table_args__ = (
        Index("ix_automation_rules_shop_trigger", "shop_id", "enabled", "trigger"),
        Index(
            "uq_automation_rules_shop_preset",
            "shop_id",
            "preset_key",
            unique=True,
            postgresql_where=text("preset_key IS NOT NULL"),
            sqlite_where=text("preset_key IS NOT NULL"),
        ),
    )

    name: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    trigger: Mapped[str] = mapped_column(String(32))
    trigger_params: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    conditions: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    preset_key: Mapped[str | None] = mapped_column(String(32), nullable=True)
    active_from_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(BigId, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __mapper_args__ = {"version_id_col": version}


class AutomationRun(IdMixin, ShopScoped, Base):
    """What a rule did with one event whose type is its trigger: matched or not, each action's
    outcome (codes, never personal data). One row per (rule, event)."""

    __tablename__ = "automation_runs"
    __table_args__ = (
        Index("uq_automation_runs_rule_event", "rule_id", "event_seq", unique=True),
        Index("ix_automation_runs_shop_rule", "shop_id", "rule_id", "id"),
    )

    rule_id: Mapped[int] = mapped_column(BigId, ForeignKey("automation_rules.id", ondelete="RESTRICT"))
    event_seq: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    order_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[bool] = mapped_column(Boolean, default=False)
    # not_matched, done, partial (some refused), refused, failed, depth_limit
    outcome: Mapped[str] = mapped_column(String(16))
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
