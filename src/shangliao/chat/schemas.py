"""API shapes for conversations and messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from shangliao.core.schemas import MAX_ID, RowRef, StrictModel
from shangliao.orders.schemas import ItemIn

# A client's own id for a message, so a retried send is recognised (a UUID fits).
ClientId = Annotated[
    str | None,
    Field(
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="The sender's own id for the message: a retry with the same id is not sent twice.",
    ),
]
MAX_TEXT = 2000
MAX_QUOTE_LINES = 50


class MessageIn(StrictModel):
    kind: Literal["text", "product_card", "order_card", "payment_request", "quote_card"] = "text"
    body: str = Field("", max_length=MAX_TEXT, description="The text (for a card, an optional note).")
    product_id: RowRef | None = Field(None, description="The product of a `product_card`.")
    order_id: RowRef | None = Field(None, description="The order of an `order_card` or a `payment_request`.")
    amount: int | None = Field(
        None,
        gt=0,
        le=100_000_000,
        description="`payment_request`: the fen asked for; omitted = all that is still unpaid.",
    )
    items: list[ItemIn] | None = Field(
        None,
        min_length=1,
        max_length=MAX_QUOTE_LINES,
        description="`quote_card`: the lines quoted (unit_price omitted = the catalog price).",
    )
    client_id: ClientId = None

    @model_validator(mode="after")
    def _complete(self) -> MessageIn:
        if self.kind == "text" and not self.body.strip():
            raise ValueError("a text message needs some text")
        if self.kind == "product_card" and self.product_id is None:
            raise ValueError("a product card needs product_id")
        if self.kind in ("order_card", "payment_request") and self.order_id is None:
            raise ValueError(f"a {self.kind} needs order_id")
        if self.kind == "quote_card" and self.items is None:
            raise ValueError("a quote card needs items")
        # A field another kind uses would be silently dropped: refuse it so the sender notices.
        if self.amount is not None and self.kind != "payment_request":
            raise ValueError("amount belongs to a payment_request")
        if self.items is not None and self.kind != "quote_card":
            raise ValueError("items belong to a quote_card")
        return self


class MessageOut(BaseModel):
    id: int
    conversation_id: int
    seq: int
    kind: str
    sender_type: str
    sender_id: int | None
    client_id: str | None = Field(description="The sender's own id for it, when it gave one.")
    body: str = Field(description="Empty once recalled.")
    data: dict = Field(description="A card's snapshot; empty once recalled.")
    recalled: bool
    created_at: datetime
    replayed: bool = Field(False, description="True when this answered a retried send.")


class ClaimOut(BaseModel):
    """A customer that a device in this conversation says it is (by typing their phone), not yet
    confirmed: ``POST /conversations/{id}/link-claimed`` links it."""

    customer_id: int
    name: str
    phone: str = Field(description="Masked: enough to recognise the number.")


class LinkClaimIn(StrictModel):
    customer_id: RowRef | None = Field(
        None, description="The claimed customer to link to; may be left out when there is one claim."
    )


class ConversationOut(BaseModel):
    id: int
    customer_id: int
    customer_name: str
    assignee_id: int | None
    status: str
    message_count: int
    last_message_at: datetime
    staff_unread: int
    customer_unread: int
    staff_read_seq: int
    customer_read_seq: int
    last_message: MessageOut | None
    # Two customers merged into one keep both chats: the one that lives on lists the other(s),
    # each readable as before; a merged-away one names where the talk goes on.
    merged_into_id: int | None = None
    merged_ids: list[int] = []
    # Filled where one conversation is read (not in the inbox list): who its devices say they are.
    claims: list[ClaimOut] = []


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None


class ReadIn(StrictModel):
    seq: int = Field(ge=0, le=MAX_ID, description="The last message seq seen.")


class ConversationAssignIn(StrictModel):
    assignee_id: RowRef | None


InboxFilter = Literal["all", "mine", "unassigned", "open_orders", "closed"]


class ConversationStatusIn(StrictModel):
    status: Literal["open", "closed"]


class SocketFrame(StrictModel):
    """A frame a client sends on its socket."""

    type: Literal["send", "typing", "read", "ping"]
    conversation_id: RowRef | None = Field(
        None, description="Staff: which conversation (customers have one)."
    )
    body: str = Field("", max_length=MAX_TEXT)
    client_id: ClientId = None
    seq: int | None = Field(None, ge=0, le=MAX_ID, description="`read`: the last message seq seen.")

    @model_validator(mode="after")
    def _complete(self) -> SocketFrame:
        if self.type == "send" and not self.body.strip():
            raise ValueError("a message needs some text")
        return self
