"""WeChat Pay API v3 notifications (支付通知 and 退款通知), verified with ``cryptography`` only
(why not the SDK: payments/notice.py).

1. The headers ``Wechatpay-Timestamp``, ``Wechatpay-Nonce``, ``Wechatpay-Signature`` and
   ``Wechatpay-Serial``: the signature is SHA256withRSA over ``timestamp\\nnonce\\nbody\\n`` by the
   platform key the serial names (the method's ``platform_keys``); a time more than five minutes
   away is a replay.
2. The body's ``resource`` is AEAD_AES_256_GCM, keyed by the merchant's APIv3 key, with its own
   nonce and associated data.
3. The plain resource names the merchant (``mchid``, and ``appid`` for a payment), the
   ``out_trade_no`` and the amount in fen.

WeChat expects 200/204 with an empty body (or ``{"code": "SUCCESS"}``) and retries on anything
else; a refusal answers 4xx with ``{"code": "FAIL", "message": …}``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shangliao.payments.notice import (
    Notice,
    Refused,
    check_fresh,
    check_rsa_sha256,
    fen,
    load_public_key,
    text,
)

PAYMENT_EVENT = "TRANSACTION.SUCCESS"
REFUND_EVENTS = ("REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED")


def signed_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def _platform_key(settings: Mapping[str, Any], serial: str) -> str:
    for entry in settings.get("platform_keys") or ():
        if isinstance(entry, dict) and entry.get("serial") == serial and entry.get("public_key"):
            return entry["public_key"]
    raise Refused("bad_signature", "notify.unknown_serial")


def check_signature(headers: Mapping[str, str], body: bytes, settings: Mapping[str, Any]) -> None:
    """Steps 1: the platform key's signature, then the clock window."""
    timestamp = headers.get("wechatpay-timestamp")
    nonce = headers.get("wechatpay-nonce")
    signature = headers.get("wechatpay-signature")
    serial = headers.get("wechatpay-serial")
    if not (timestamp and nonce and signature and serial):
        raise Refused("bad_signature", "notify.unsigned")
    key = load_public_key(_platform_key(settings, serial))
    check_rsa_sha256(key, signed_message(timestamp, nonce, body), signature)
    check_fresh(timestamp)


def decrypt_resource(resource: object, apiv3_key: str) -> dict[str, Any]:
    """Step 2: the resource's plain JSON."""
    if not isinstance(resource, dict) or resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise Refused("malformed", "notify.bad_resource")
    try:
        nonce = text(resource.get("nonce"), 64).encode()
        associated = (resource.get("associated_data") or "").encode()
        ciphertext = base64.b64decode(text(resource.get("ciphertext"), 1 << 16), validate=True)
        plain = AESGCM(apiv3_key.encode()).decrypt(nonce, ciphertext, associated)
    except (InvalidTag, ValueError, binascii.Error) as exc:
        # Signed by WeChat but not sealed with this shop's APIv3 key: forged, or a wrong key set.
        raise Refused("bad_signature", "notify.undecryptable") from exc
    try:
        found = json.loads(plain)
    except ValueError as exc:
        raise Refused("malformed", "notify.bad_resource") from exc
    if not isinstance(found, dict):
        raise Refused("malformed", "notify.bad_resource")
    return found


def _mismatch(plain: Mapping[str, Any], settings: Mapping[str, Any], *fields: str) -> str | None:
    for field in fields:
        if plain.get(field) != settings.get(field):
            return field
    return None


def read(
    headers: Mapping[str, str], body: bytes, settings: Mapping[str, Any], secrets: Mapping[str, Any]
) -> Notice:
    """Verify and read one notification; :class:`Refused` when it cannot be trusted or read."""
    check_signature(headers, body, settings)
    try:
        envelope = json.loads(body)
    except ValueError as exc:
        raise Refused("malformed", "notify.bad_json") from exc
    if not isinstance(envelope, dict):
        raise Refused("malformed", "notify.bad_json")
    event = envelope.get("event_type")
    apiv3_key = secrets.get("apiv3_key")
    if not isinstance(apiv3_key, str) or len(apiv3_key.encode()) != 32:
        raise Refused("bad_signature", "notify.method_not_configured")
    plain = decrypt_resource(envelope.get("resource"), apiv3_key)
    amount = plain.get("amount")
    if not isinstance(amount, dict):
        raise Refused("malformed", "notify.bad_amount")
    if event in REFUND_EVENTS:
        return Notice(
            provider="wechat",
            kind="refund",
            out_trade_no=text(plain.get("out_trade_no")),
            transaction_id=text(plain.get("refund_id")),
            amount=fen(amount.get("refund")),
            currency=str(amount.get("currency") or "CNY"),
            settled=event == "REFUND.SUCCESS" and plain.get("refund_status") == "SUCCESS",
            merchant_mismatch=_mismatch(plain, settings, "mchid"),
            out_refund_no=text(plain.get("out_refund_no")),
        )
    if event != PAYMENT_EVENT and plain.get("trade_state") is None:
        raise Refused("malformed", "notify.unknown_event")
    currency = amount.get("currency")
    return Notice(
        provider="wechat",
        kind="payment",
        out_trade_no=text(plain.get("out_trade_no")),
        transaction_id=text(plain.get("transaction_id")),
        amount=fen(amount.get("total")),
        currency=currency if isinstance(currency, str) else "",
        settled=plain.get("trade_state") == "SUCCESS",
        merchant_mismatch=_mismatch(plain, settings, "mchid", "appid"),
    )


def answer_ok() -> tuple[int, bytes, str]:
    return 200, b'{"code":"SUCCESS"}', "application/json"


def answer_fail(status: int, message: str) -> tuple[int, bytes, str]:
    body = json.dumps({"code": "FAIL", "message": message}, ensure_ascii=False).encode()
    return status, body, "application/json"
