"""Retry-safe requests (rule 11 of docs/architecture.md): an ``Idempotency-Key`` names one request.

One mechanism for every request that makes a row (placing an order, recording a payment): the row
keeps the key, unique per shop, and a hash of the request. A retry is answered with what the first
attempt made (200, ``Idempotent-Replayed: true``): found before anything changes, or found after
its INSERT hit the unique index because a copy of it raced it. The same key with another request
is refused.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from shangliao.core.errors import Conflict
from shangliao.core.i18n import N_

# The header that carries the key: what ``Header(alias=HEADER)`` reads.
HEADER = "Idempotency-Key"


def replayed(model: type[BaseModel] | None = None) -> dict[int | str, dict[str, Any]]:
    """How a route that answers 201 documents the 200 of a retry (``responses=replayed(OrderOut)``):
    the body is the route's own model, as it is now."""
    answer: dict[str, Any] = {
        "description": "A retry (same Idempotency-Key and body): what the first request made, as it is now.",
        "headers": {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}}},
    }
    return {200: answer | ({"model": model} if model else {})}


def fingerprint(body: BaseModel, **context: Any) -> bytes:
    """What a key promises: a replay carries the same body, sent to the same place (``context``:
    the path's ids)."""
    request = body.model_dump(mode="json") | context
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).digest()


def check_same_request(stored: bytes | None, request: bytes) -> None:
    if stored != request:
        raise Conflict(
            "idempotency.key_reused", N_("This Idempotency-Key was already used for a different request.")
        )
