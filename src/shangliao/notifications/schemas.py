"""API shapes of the notification centre."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shangliao.core.schemas import StrictModel

Kind = Literal[
    "order_new", "order_assigned", "conversation_assigned", "message", "payment", "payment_proof",
    "payment_alert", "low_stock", "order_status", "invoice_requested", "automation", "automation_failed",
    "webhook_disabled",
]  # fmt: skip
Followable = Literal["confirmed", "preparing", "shipped", "completed", "cancelled"]


class NotificationOut(BaseModel):
    id: int
    kind: str
    target_type: str = Field(description="`order`, `conversation` or `product`.")
    target_id: int
    data: dict[str, Any] = Field(description="Ids, numbers and statuses (never personal data).")
    count: int = Field(description="New messages counted into this one while it was unread.")
    created_at: datetime
    read_at: datetime | None
    link: str = Field(description="Where the console shows the target.")


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_before: int | None = Field(description="Pass as `before` for the next (older) page.")
    unread: int


class ReadOut(BaseModel):
    changed: int
    unread: int


class PreferencesIn(StrictModel):
    muted: list[Kind] = Field(default_factory=list, max_length=20, description="Kinds not to be told of.")
    statuses: list[Followable] = Field(
        default_factory=list, max_length=10, description="Order statuses to be told of (`order_status`)."
    )


class PreferencesOut(BaseModel):
    muted: list[str]
    statuses: list[str]
