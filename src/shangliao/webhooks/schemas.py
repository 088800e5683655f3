"""What the webhook API takes and gives."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from shangliao.core.schemas import MAX_ID, StrictModel

Topic = Literal["order", "payment", "aftersales", "message", "stock"]


class SubscriptionIn(StrictModel):
    url: str = Field(min_length=8, max_length=2000, description="https address the events are posted to.")
    topics: list[Topic] = Field(min_length=1, max_length=5, description="What it hears.")
    description: str = Field("", max_length=64, description="A name for the team, e.g. 'ERP'.")
    enabled: bool = True

    @field_validator("topics")
    @classmethod
    def _distinct(cls, topics: list[str]) -> list[str]:
        return list(dict.fromkeys(topics))

    @field_validator("url", "description")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        return value.strip()


class SubscriptionUpdate(SubscriptionIn):
    version: int | None = Field(None, ge=1, le=MAX_ID, description="The version read; a 409 if it moved.")


class SubscriptionOut(BaseModel):
    id: int
    url: str
    description: str
    topics: list[str]
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    last_success_at: datetime | None
    version: int
    created_at: datetime


class SubscriptionMade(SubscriptionOut):
    secret: str = Field(description="The signing secret, shown this once.")


class DeliveryOut(BaseModel):
    id: int
    subscription_id: int
    event_id: str
    event_type: str
    event_seq: int | None
    rule_id: int | None
    redelivery_of: int | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_duration_ms: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class AttemptOut(BaseModel):
    at: datetime
    status: int | None
    duration_ms: int
    error: str | None
