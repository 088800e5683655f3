"""Shared request/response building blocks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field


class StrictModel(BaseModel):
    """Request bodies refuse unknown fields (rule 14): a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# Ids are 64-bit: a larger number in a path or body is refused up front (422) instead of
# overflowing the database driver.
MAX_ID = 2**63 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
RowRef = Annotated[int, Field(ge=1, le=MAX_ID)]
