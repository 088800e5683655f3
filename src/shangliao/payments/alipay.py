"""Alipay asynchronous notifications (异步通知), verified with ``cryptography`` only (why not the
SDK: payments/notice.py).

The body is form-encoded. RSA2 is SHA256withRSA over every parameter but ``sign`` and
``sign_type``, empty values left out, sorted by name and joined ``k=v&k=v`` (values as decoded),
with the Alipay public key of the method's settings. The parameters name the app (``app_id``),
the merchant (``seller_id``), the ``out_trade_no`` and the amount in yuan (``total_amount``,
taken to fen exactly). ``TRADE_SUCCESS`` / ``TRADE_FINISHED`` mean paid; a notification carrying
``refund_fee`` with ``out_biz_no`` tells of a refund, ``refund_fee`` being all refunded so far.

Alipay expects the text ``success``, and retries on anything else (``fail``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from shangliao.payments.notice import Notice, Refused, check_rsa_sha256, load_public_key, text, yuan_to_fen

PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")


def signed_message(params: Mapping[str, str]) -> bytes:
    pairs = sorted((k, v) for k, v in params.items() if k not in ("sign", "sign_type") and v != "")
    return "&".join(f"{k}={v}" for k, v in pairs).encode()


def parse(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused("malformed", "notify.bad_form") from exc
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:  # a repeated name could sign one value and apply another
            raise Refused("malformed", "notify.bad_form")
        params[key] = value
    return params


def read(
    headers: Mapping[str, str], body: bytes, settings: Mapping[str, Any], secrets: Mapping[str, Any]
) -> Notice:
    """Verify and read one notification; :class:`Refused` when it cannot be trusted or read."""
    params = parse(body)
    if not params.get("sign"):
        raise Refused("bad_signature", "notify.unsigned")
    if params.get("sign_type", "RSA2") != "RSA2":
        raise Refused("bad_signature", "notify.weak_signature")
    if not settings.get("alipay_public_key"):
        raise Refused("bad_signature", "notify.method_not_configured")
    check_rsa_sha256(load_public_key(settings["alipay_public_key"]), signed_message(params), params["sign"])
    mismatch = next((f for f in ("app_id", "seller_id") if params.get(f) != settings.get(f)), None)
    out_trade_no = text(params.get("out_trade_no"))
    if params.get("refund_fee") and params.get("out_biz_no"):
        return Notice(
            provider="alipay",
            kind="refund",
            out_trade_no=out_trade_no,
            transaction_id=text(params["out_biz_no"]),
            amount=yuan_to_fen(params["refund_fee"]),
            merchant_mismatch=mismatch,
            out_refund_no=params["out_biz_no"],
            refund_is_total=True,
        )
    return Notice(
        provider="alipay",
        kind="payment",
        out_trade_no=out_trade_no,
        transaction_id=text(params.get("trade_no")),
        amount=yuan_to_fen(params.get("total_amount")),
        settled=params.get("trade_status") in PAID,
        merchant_mismatch=mismatch,
    )


def answer_ok() -> tuple[int, bytes, str]:
    return 200, b"success", "text/plain"


def answer_fail(status: int, message: str) -> tuple[int, bytes, str]:
    # Alipay reads only the word; the status and the log say why.
    return status, b"fail", "text/plain"
