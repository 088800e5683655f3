"""The HMAC scheme both directions share: a payment gateway signs what it sends us, and we sign what
our webhooks send (docs/payments.md, docs/webhooks.md).

Header value ``t=<unix seconds>,v1=<hex>``, where ``v1`` is HMAC-SHA256(secret, ``t + "." +
body``): the timestamp is inside what is signed, so a captured request cannot be replayed later
with a fresh ``t``.
"""

from __future__ import annotations

import hashlib
import hmac


def digest(secret: str, timestamp: int | str, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={digest(secret, timestamp, body)}"


def parts_of(header: str | None) -> tuple[str | None, str | None]:
    """``(t, v1)`` of a header value (either None when missing)."""
    parts = dict(p.strip().partition("=")[::2] for p in (header or "").split(",") if "=" in p)
    return parts.get("t"), parts.get("v1")


def matches(secret: str, timestamp: str, body: bytes, given: str) -> bool:
    return hmac.compare_digest(digest(secret, timestamp, body), given.lower())
