"""What a verified provider notification says, whoever sent it (payments/wechat.py, alipay.py,
gateway.py read their own shapes into a :class:`Notice`), and the checks they share.

The checks are done with ``cryptography`` alone, not with the providers' SDKs: wechatpayv3 and
python-alipay-sdk want the merchant's private key at construction (a notification needs only the
provider's public key) and wechatpayv3 fetches platform certificates over the network on its own.
Verifying a notification is a few lines each: an RSA-SHA256 signature, an AES-GCM decryption or
an HMAC, and a clock window.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shangliao.core import clock
from shangliao.core.money import MAX_AMOUNT

# A notification signed longer ago (or further ahead) than this is a replay, or a clock gone wrong.
MAX_SKEW_SECONDS = 300
YUAN = re.compile(r"[0-9]{1,10}(\.[0-9]{1,2})?")


class Refused(Exception):
    """A notification that is not applied: ``outcome`` is its log outcome (bad_signature, stale,
    malformed), ``reason`` a dotted code saying why."""

    def __init__(self, outcome: str, reason: str) -> None:
        super().__init__(f"{outcome}: {reason}")
        self.outcome = outcome
        self.reason = reason


@dataclass
class Notice:
    """A notification whose signature held. ``kind`` is "payment" or "refund"; ``transaction_id``
    is the provider's id of the payment (or of the refund, for a refund): each is applied once.
    ``merchant_mismatch`` names the merchant id that is not the shop's (it is then only alerted).
    ``settled`` is False for a notification of a trade that did not succeed (nothing to apply)."""

    provider: str
    kind: str
    out_trade_no: str
    transaction_id: str
    amount: int
    currency: str = "CNY"
    settled: bool = True
    merchant_mismatch: str | None = None
    out_refund_no: str | None = None
    # Alipay says how much was refunded in all, not in this refund (payments/alipay.py).
    refund_is_total: bool = False
    at: datetime | None = None


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """A PEM public key, or the bare base64 body Alipay's console hands out."""
    text = (text or "").strip()
    if "-----BEGIN" not in text:
        text = f"-----BEGIN PUBLIC KEY-----\n{text}\n-----END PUBLIC KEY-----"
    try:
        key = serialization.load_pem_public_key(text.encode())
    except ValueError as exc:
        raise Refused("bad_signature", "notify.key_unusable") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise Refused("bad_signature", "notify.key_unusable")
    return key


def check_rsa_sha256(key: rsa.RSAPublicKey, message: bytes, signature_b64: str) -> None:
    """SHA256withRSA (PKCS#1 v1.5), as WeChat Pay v3 and Alipay RSA2 sign."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise Refused("bad_signature", "notify.bad_signature") from exc


def check_fresh(timestamp: str) -> None:
    """Refuse a signing time more than :data:`MAX_SKEW_SECONDS` away from now."""
    try:
        signed = int(timestamp)
    except (TypeError, ValueError) as exc:
        raise Refused("malformed", "notify.bad_timestamp") from exc
    if abs(clock.now().timestamp() - signed) > MAX_SKEW_SECONDS:
        raise Refused("stale", "notify.stale")


def yuan_to_fen(text: object) -> int:
    """``"12.30"`` → 1230, exactly; more than two decimals, a sign, an exponent or junk is
    malformed (a yuan string is digits and at most two decimals, nothing else)."""
    if not isinstance(text, str) or not YUAN.fullmatch(text):
        raise Refused("malformed", "notify.bad_amount")
    whole, _, cents = text.partition(".")
    fen = int(whole) * 100 + int(cents.ljust(2, "0") or 0)
    if fen > MAX_AMOUNT:
        raise Refused("malformed", "notify.bad_amount")
    return fen


def fen(value: object) -> int:
    """An amount the provider sends in fen (an integer, never a bool or a float)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_AMOUNT:
        raise Refused("malformed", "notify.bad_amount")
    return value


def text(value: object, limit: int = 64) -> str:
    """A required identifier: a non-empty string of at most ``limit`` characters."""
    if not isinstance(value, str) or not value or len(value) > limit:
        raise Refused("malformed", "notify.missing_field")
    return value
