"""What a rule is made of: a trigger, conditions (all or any) and up to ten actions."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from shangliao.core.schemas import MAX_ID, StrictModel
from shangliao.orders.schemas import Channel

Trigger = Literal[
    "order_created",
    "order_paid",
    "order_status",
    "order_shipped",
    "order_cancelled",
    "aftersale_opened",
    "message_received",
    "stock_low",
]
StatusName = Literal["pending", "confirmed", "preparing", "shipped", "completed", "cancelled"]
Tag = Annotated[str, Field(min_length=1, max_length=32)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class TriggerParams(StrictModel):
    status: StatusName | None = Field(None, description="order_status: the status entered.")
    delay_minutes: int | None = Field(
        None, ge=1, le=7 * 24 * 60,
        description="Act this long after the event, if the conditions still hold then (an order's state as it is then).",
    )  # fmt: skip
    keywords: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=20,
        description="message_received: any of these words in the customer's message (none: every message).",
    )  # fmt: skip


# --- conditions -----------------------------------------------------------------------------------


class ProductCondition(StrictModel):
    kind: Literal["product"]
    product_ids: list[Id] = Field(default_factory=list, max_length=50)
    skus: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50
    )

    @model_validator(mode="after")
    def _something(self) -> ProductCondition:
        if not (self.product_ids or self.skus):
            raise ValueError("name a product or a SKU")
        return self


class AmountCondition(StrictModel):
    kind: Literal["amount"]
    min: int | None = Field(None, ge=0, le=100_000_000_00, description="Order total at least (fen).")
    max: int | None = Field(None, ge=0, le=100_000_000_00, description="Order total at most (fen).")


class ChannelCondition(StrictModel):
    kind: Literal["channel"]
    channels: list[Channel] = Field(min_length=1, max_length=4)


class CustomerTagCondition(StrictModel):
    kind: Literal["customer_tag"]
    tags: list[Tag] = Field(min_length=1, max_length=20)


class RegionCondition(StrictModel):
    kind: Literal["region"]
    provinces: list[Annotated[str, Field(min_length=2, max_length=16)]] = Field(min_length=1, max_length=40)


class PaidCondition(StrictModel):
    kind: Literal["paid"]
    state: Literal["in_full", "unpaid"] = Field(
        description="Paid in full (net of refunds), or nothing paid yet."
    )


class StatusCondition(StrictModel):
    kind: Literal["status"]
    statuses: list[StatusName] = Field(
        min_length=1, max_length=6, description="The order is in one of these now."
    )


class TimeCondition(StrictModel):
    kind: Literal["time_of_day"]
    start: str = Field(description="HH:MM in the shop's time zone.")
    end: str = Field(description="HH:MM; before start: the span crosses midnight.")

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError("a time of day as HH:MM")
        return value


Condition = Annotated[
    ProductCondition
    | AmountCondition
    | ChannelCondition
    | CustomerTagCondition
    | RegionCondition
    | PaidCondition
    | StatusCondition
    | TimeCondition,
    Field(discriminator="kind"),
]


class Conditions(StrictModel):
    match: Literal["all", "any"] = "all"
    items: list[Condition] = Field(default_factory=list, max_length=10)


# --- actions --------------------------------------------------------------------------------------


class StatusAction(StrictModel):
    kind: Literal["status"]
    action: Literal["confirm", "prepare", "complete", "cancel"]
    reason: str | None = Field(None, max_length=32, description="cancel: a cancel reason code.")


class TagAction(StrictModel):
    kind: Literal["tag"]
    tag: Tag


class NoteAction(StrictModel):
    kind: Literal["note"]
    text: str = Field(min_length=1, max_length=500)


class ReplyAction(StrictModel):
    kind: Literal["reply"]
    template_id: Id = Field(
        description="A quick reply of the shop, sent to the customer with its variables filled."
    )


class AssignAction(StrictModel):
    kind: Literal["assign"]
    assignee_id: Id | None = Field(None, description="A member; null with round_robin: the next one online.")
    round_robin: bool = False

    @model_validator(mode="after")
    def _someone(self) -> AssignAction:
        if (self.assignee_id is None) != self.round_robin:
            raise ValueError("name a member, or round_robin")
        return self


class MessageAction(StrictModel):
    kind: Literal["message"]
    message: Literal["details", "tracking", "inspect"] = Field(
        description="The order card to send the customer: its details to check, the tracking number, or the receipt reminder."
    )


class NotifyAction(StrictModel):
    kind: Literal["notify"]
    staff_ids: list[Id] = Field(min_length=1, max_length=20)


class WebhookAction(StrictModel):
    kind: Literal["webhook"]
    webhook_id: Id = Field(
        description="A webhook of the shop: the event is sent to it (signed, retried), whatever its topics."
    )


Action = Annotated[
    StatusAction
    | TagAction
    | NoteAction
    | ReplyAction
    | MessageAction
    | AssignAction
    | NotifyAction
    | WebhookAction,
    Field(discriminator="kind"),
]

# What saving an action needs beyond automation.manage: nobody grants more than they hold.
ACTION_PERMISSIONS: dict[str, str] = {
    "tag": "orders.write",
    "note": "orders.write",
    "reply": "chat.write",
    "message": "chat.write",
    "assign": "orders.assign",
    "notify": "orders.read",
    "webhook": "automation.manage",
}
STATUS_PERMISSIONS = {
    "confirm": "orders.fulfil",
    "prepare": "orders.fulfil",
    "complete": "orders.fulfil",
    "cancel": "orders.cancel",
}


class RuleIn(StrictModel):
    name: str = Field(min_length=1, max_length=64)
    enabled: bool = True
    trigger: Trigger
    trigger_params: TriggerParams = Field(default_factory=TriggerParams)
    conditions: Conditions = Field(default_factory=Conditions)
    actions: list[Action] = Field(min_length=1, max_length=10)

    @field_validator("name")
    @classmethod
    def _trimmed(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("a name")
        return name.strip()

    @model_validator(mode="after")
    def _params_fit(self) -> RuleIn:
        if self.trigger == "order_status" and self.trigger_params.status is None:
            raise ValueError("order_status needs trigger_params.status")
        return self


class RulePatch(StrictModel):
    enabled: bool
    version: int | None = Field(None, ge=1, le=MAX_ID)


class RuleOut(BaseModel):
    id: int
    name: str
    enabled: bool
    trigger: str
    trigger_params: dict
    conditions: dict
    actions: list[dict]
    preset_key: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class RunOut(BaseModel):
    id: int
    rule_id: int
    event_seq: int
    event_type: str
    order_id: int | None
    depth: int
    matched: bool
    outcome: str
    actions: list[dict]
    created_at: datetime
