"""The audit log's API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    act: str = Field(description="The act's dotted code, e.g. `auth.signed_in`.")
    label: str = Field(description="The act's name in the reader's language.")
    staff_id: int | None = Field(description="Who acted (for sign-in acts: the account signed in as).")
    who: str | None = Field(description="That member's display name; null for the system or the CLI.")
    actor_type: str = Field(description="`staff`, `api`, `system` or `cli`.")
    target_type: str | None
    target_id: int | None
    target_name: str | None = Field(
        None, description="The member's display name when the target is a member."
    )
    data: dict[str, Any] = Field(description="Ids, codes and changed keys; never personal data or secrets.")
    address: str | None = Field(description="The client's address, when the act came over HTTP.")


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
