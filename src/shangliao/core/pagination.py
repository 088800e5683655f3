"""Opaque keyset cursors: the last row's sort value and id, so page N costs the same as page 1."""

from __future__ import annotations

import base64
import json
from typing import Any

from shangliao.core.errors import Invalid


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("pagination.bad_cursor", "The page cursor is not valid.") from exc
    if not isinstance(values, list) or len(values) != length:
        raise Invalid("pagination.bad_cursor", "The page cursor is not valid.")
    return values
