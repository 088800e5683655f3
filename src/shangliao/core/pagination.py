"""Opaque keyset cursors: the last row's sort value and id, so page N costs the same as page 1."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from shangliao.core import clock
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_

# A cursor comes back from the client: any number in it is compared with a 64-bit column, so a
# larger one is a forged cursor, not an overflow in the database driver.
_INT64 = range(-(2**63), 2**63)


def bad_cursor() -> Invalid:
    return Invalid("pagination.bad_cursor", N_("The page cursor is not valid."))


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_cursor() from exc
    if not isinstance(values, list) or len(values) != length:
        raise bad_cursor()
    if any(isinstance(v, int) and v not in _INT64 for v in values):
        raise bad_cursor()
    return values


def decode_moment(value: Any) -> datetime:
    """A timestamp a cursor carried: ISO text with a zone, in the range the database takes."""
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise bad_cursor() from exc
    if moment.tzinfo is None or not clock.in_range(moment):
        raise bad_cursor()
    return moment
