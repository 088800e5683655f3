"""A generic payment gateway's notifications, signed with the shop's HMAC secret (docs/payments.md).

Header ``X-Shangliao-Signature: t=<unix seconds>,v1=<hex>``, where ``v1`` is
HMAC-SHA256(secret, ``t + "." + body``); a ``t`` more than five minutes away is refused. The body
is JSON: ``{"type": "payment.succeeded" | "refund.succeeded", "transaction_id", "out_trade_no",
"amount" (fen), "currency"}``. Answered ``{"received": true}``, or the API's error shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shangliao.core.signing import matches, parts_of
from shangliao.payments.notice import Notice, Refused, check_fresh, fen, text

HEADER = "x-shangliao-signature"
TYPES = {"payment.succeeded": "payment", "refund.succeeded": "refund"}


def check_signature(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    timestamp, given = parts_of(headers.get(HEADER))
    if not timestamp or not given:
        raise Refused("bad_signature", "notify.unsigned")
    if not matches(secret, timestamp, body, given):
        raise Refused("bad_signature", "notify.bad_signature")
    check_fresh(timestamp)


def read(
    headers: Mapping[str, str], body: bytes, settings: Mapping[str, Any], secrets: Mapping[str, Any]
) -> Notice:
    """Verify and read one notification; :class:`Refused` when it cannot be trusted or read."""
    secret = secrets.get("hmac_secret")
    if not isinstance(secret, str) or not secret:
        raise Refused("bad_signature", "notify.method_not_configured")
    check_signature(headers, body, secret)
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise Refused("malformed", "notify.bad_json") from exc
    if not isinstance(data, dict) or data.get("type") not in TYPES:
        raise Refused("malformed", "notify.unknown_event")
    currency = data.get("currency", "CNY")
    return Notice(
        provider="gateway",
        kind=TYPES[data["type"]],
        out_trade_no=text(data.get("out_trade_no")),
        transaction_id=text(data.get("transaction_id")),
        amount=fen(data.get("amount")),
        currency=currency if isinstance(currency, str) else "",
    )


def answer_ok() -> tuple[int, bytes, str]:
    return 200, b'{"received":true}', "application/json"


def answer_fail(status: int, message: str, code: str = "notify.refused") -> tuple[int, bytes, str]:
    body = {"error": {"code": code, "message": message, "details": {}}}
    return status, json.dumps(body, ensure_ascii=False).encode(), "application/json"
