"""API shapes of customers.

Request bodies check shape and bounds here (phones are normalised on the way in); rules that need
the database (a phone owned by another customer, ids of the shop) live in ``service.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from shangliao.core.schemas import StrictModel
from shangliao.customers.pii import Address, Mobile
from shangliao.stats.segments import Segment

MAX_TAGS = 20
MAX_PHONES = 5
MAX_ADDRESSES = 20


def _dedupe(values: list[str]) -> list[str]:
    """Keep the first of each value: "VIP, VIP" is one tag, "+86 138…" and "138…" one phone."""
    return list(dict.fromkeys(values))


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Note = Annotated[str, StringConstraints(max_length=2000)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_dedupe)]
Phones = Annotated[list[Mobile], Field(max_length=MAX_PHONES), AfterValidator(_dedupe)]
Label = Annotated[str, StringConstraints(max_length=32)]
Sort = Literal["-id", "id", "-last_order_at"]


class AddressIn(Address):
    label: Label = Field(default="", description='A short name for the address, e.g. "家", "公司".')
    is_default: bool = False


class AddressUpdate(Address):
    """Replaces the whole address (and its label); the default is set with its own endpoint."""

    label: Label = ""


class CustomerIn(StrictModel):
    name: Name
    phones: Phones = Field(default_factory=list, description="Mainland mobiles; the first is the primary.")
    addresses: list[AddressIn] = Field(default_factory=list, max_length=MAX_ADDRESSES)
    tags: Tags = Field(default_factory=list)
    note: Note = ""

    @model_validator(mode="after")
    def _one_default(self) -> CustomerIn:
        if sum(a.is_default for a in self.addresses) > 1:
            raise ValueError("only one address can be the default")
        return self


class CustomerPatch(StrictModel):
    """Fields left out stay as they are; ``version`` (optional) refuses a stale edit with 409."""

    name: Name | None = None
    tags: Tags | None = None
    note: Note | None = None
    blocked: bool | None = Field(default=None, description="Blacklisted customers cannot place orders.")
    version: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _no_nulls(self) -> CustomerPatch:
        nulls = sorted(n for n in self.model_fields_set - {"version"} if getattr(self, n) is None)
        if nulls:
            raise ValueError(f"these fields cannot be null: {', '.join(nulls)}")
        return self


class PhoneIn(StrictModel):
    phone: Mobile
    primary: bool = False


class CustomerSearch(StrictModel):
    """Sent as a body, not a query string: a phone number must never appear in a URL (rule 12 of docs/architecture.md)."""

    q: str | None = Field(
        default=None,
        max_length=64,
        description="A whole mobile number, its last 4 digits, or part of the customer's name.",
    )
    tag: Tag | None = None
    blocked: bool | None = None
    segment: Segment | None = Field(
        default=None, description="Only the buyers of an RFM group (the dashboard's, stats/segments.py)."
    )
    sort: Sort = "-id"
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=20, ge=1, le=100)


# --- responses ------------------------------------------------------------------------------------


class PhoneOut(BaseModel):
    id: int
    phone: str
    is_primary: bool


class AddressOut(BaseModel):
    id: int
    label: str
    is_default: bool
    receiver: str
    phone: str
    province: str
    city: str
    district: str
    detail: str


class CustomerOut(BaseModel):
    id: int
    name: str
    tags: list[str]
    note: str
    blocked: bool
    version: int
    phones: list[PhoneOut]
    addresses: list[AddressOut]
    first_order_at: datetime | None
    last_order_at: datetime | None
    order_count: int
    total_spent: int = Field(description="Money paid, in fen.")
    created_at: datetime
    updated_at: datetime


class CustomerSummary(BaseModel):
    """A list row: the primary phone masked (138****5678), enough to recognise a customer."""

    id: int
    name: str
    tags: list[str]
    blocked: bool
    phone: str | None
    order_count: int
    total_spent: int
    last_order_at: datetime | None
    created_at: datetime


class CustomerPage(BaseModel):
    items: list[CustomerSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
