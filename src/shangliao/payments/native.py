"""Asking a provider for a native payment QR: WeChat Pay API v3 ``/v3/pay/transactions/native``
(answers a ``code_url``) and Alipay ``alipay.trade.precreate`` (answers a ``qr_code``).

Both requests are signed with the merchant's own private key (RSA-SHA256, PKCS#1 v1.5) with
``cryptography`` alone: the SDKs would fetch certificates over the network at construction, and
the signing is a few lines. Alipay's answer is verified with the Alipay public key the merchant
configured, so a tampered answer never becomes a QR the customer pays into. WeChat Pay's answer
is verified as its notifications are (payments/wechat.py ``check_signature``: the platform key its
``Wechatpay-Serial`` names, and the clock window); an unverified one is no QR. Either way the money
is credited through the verified notification, never through this answer.

These functions do network I/O and nothing else: the caller runs them outside the writer and the
event loop (rule 16 of docs/architecture.md) and records what came back in its own unit.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shangliao.payments import notice, wechat

# Seconds a provider may take: the customer is waiting on the page, and a hung provider must not
# hold a server thread for long.
TIMEOUT = 6.0
WECHAT_NATIVE_PATH = "/v3/pay/transactions/native"
ALIPAY_PRECREATE = "alipay.trade.precreate"
ALIPAY_ANSWER_KEY = "alipay_trade_precreate_response"
BEIJING = ZoneInfo("Asia/Shanghai")
# What we keep of a provider's error (the attempt's ``error`` column holds 200 characters).
ERROR_CHARS = 200


class ProviderError(Exception):
    """The provider could not give a QR: ``reason`` is short and safe to store on the attempt (a
    code and the provider's message, never a key or the request)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:ERROR_CHARS]


@dataclass(frozen=True)
class TradeRequest:
    """What one native QR is asked for: the attempt's ``out_trade_no`` and amount, and the URL the
    provider tells when it is paid."""

    out_trade_no: str
    amount: int  # fen
    description: str
    notify_url: str
    expires_at: datetime


# --- signing ------------------------------------------------------------------------------------


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ProviderError("config.private_key_unreadable") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ProviderError("config.private_key_not_rsa")
    return key


def rsa_sign(private_pem: str, message: bytes) -> str:
    key = load_private_key(private_pem)
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(public_text: str, message: bytes, signature_b64: str) -> bool:
    """SHA256withRSA with the key as the merchant pasted it (PEM or Alipay's bare base64), checked
    the way notifications are (payments/notice.py)."""
    try:
        notice.check_rsa_sha256(notice.load_public_key(public_text), message, signature_b64)
    except notice.Refused:
        return False
    return True


def wechat_message(method: str, url_path: str, timestamp: str, nonce: str, body: str) -> bytes:
    """What WeChat Pay v3 signs: method, path with query, timestamp, nonce and body, each ending in
    a newline."""
    return f"{method}\n{url_path}\n{timestamp}\n{nonce}\n{body}\n".encode()


def wechat_authorization(
    mchid: str, serial: str, private_pem: str, method: str, url_path: str, body: str
) -> str:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    signature = rsa_sign(private_pem, wechat_message(method, url_path, timestamp, nonce, body))
    return (
        f'WECHATPAY2-SHA256-RSA2048 mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial}"'
    )


def alipay_content(params: dict[str, str]) -> bytes:
    """What Alipay's RSA2 signs: the parameters sorted by name, ``sign`` and empty values left out,
    joined as ``k=v&k=v`` (values as sent, not URL-encoded)."""
    pairs = sorted((k, v) for k, v in params.items() if k != "sign" and v not in ("", None))
    return "&".join(f"{k}={v}" for k, v in pairs).encode()


def yuan_text(fen: int) -> str:
    """Fen as Alipay's ``total_amount``: yuan with two decimals, exactly."""
    return f"{fen // 100}.{fen % 100:02d}"


# --- WeChat Pay -----------------------------------------------------------------------------------


def wechat_native(
    base_url: str, settings: dict[str, Any], secrets_: dict[str, Any], trade: TradeRequest
) -> str:
    """Ask WeChat Pay for a native QR; answer its ``code_url``."""
    body = json.dumps(
        {
            "appid": settings["appid"],
            "mchid": settings["mchid"],
            "description": trade.description,
            "out_trade_no": trade.out_trade_no,
            "time_expire": trade.expires_at.astimezone(BEIJING).isoformat(timespec="seconds"),
            "notify_url": trade.notify_url,
            "amount": {"total": trade.amount, "currency": "CNY"},
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    url = base_url.rstrip("/") + WECHAT_NATIVE_PATH
    path = urlsplit(url).path or WECHAT_NATIVE_PATH
    auth = wechat_authorization(
        settings["mchid"], settings["merchant_serial"], secrets_["merchant_private_key"], "POST", path, body
    )
    headers = {
        "Authorization": auth,
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": "Shangliao",
    }
    answer = _post(url, content=body.encode(), headers=headers)
    data = _json(answer)
    if answer.status_code != 200:
        raise ProviderError(f"wechat.{data.get('code') or answer.status_code}: {data.get('message') or ''}")
    try:
        wechat.check_signature(answer.headers, answer.content, settings)
    except notice.Refused as exc:
        raise ProviderError(f"wechat.answer_{exc.reason.removeprefix('notify.')}") from exc
    code_url = data.get("code_url")
    if not isinstance(code_url, str) or not code_url.startswith("weixin://"):
        raise ProviderError("wechat.no_code_url")
    return code_url


# --- Alipay ---------------------------------------------------------------------------------------


def alipay_precreate(
    gateway: str, settings: dict[str, Any], secrets_: dict[str, Any], trade: TradeRequest
) -> str:
    """Ask Alipay for a precreated trade's QR; answer its ``qr_code`` once Alipay's signature on
    the answer checks out."""
    biz = {
        "out_trade_no": trade.out_trade_no,
        "total_amount": yuan_text(trade.amount),
        "subject": trade.description,
        "time_expire": trade.expires_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
    }
    params = {
        "app_id": settings["app_id"],
        "method": ALIPAY_PRECREATE,
        "format": "JSON",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
        "version": "1.0",
        "notify_url": trade.notify_url,
        "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
    }
    params["sign"] = rsa_sign(secrets_["app_private_key"], alipay_content(params))
    answer = _post(gateway, data=params, headers={"Accept": "application/json", "User-Agent": "Shangliao"})
    if answer.status_code != 200:
        raise ProviderError(f"alipay.http_{answer.status_code}")
    text = answer.text
    signed = signed_part(text, ALIPAY_ANSWER_KEY)
    sign = _json(answer).get("sign")
    if signed is None or not isinstance(sign, str):
        raise ProviderError("alipay.malformed_answer")
    if not rsa_verify(settings["alipay_public_key"], signed.encode(), sign):
        raise ProviderError("alipay.bad_signature")
    result = json.loads(signed)
    if result.get("code") != "10000":
        raise ProviderError(
            f"alipay.{result.get('sub_code') or result.get('code')}: {result.get('sub_msg') or ''}"
        )
    if result.get("out_trade_no") not in (None, trade.out_trade_no):
        raise ProviderError("alipay.other_trade")
    qr = result.get("qr_code")
    if not isinstance(qr, str) or not qr.startswith("https://"):
        raise ProviderError("alipay.no_qr_code")
    return qr


def signed_part(text: str, key: str) -> str | None:
    """The exact text of ``key``'s object in Alipay's answer: its signature covers those bytes as
    sent, so the object is cut out of the answer rather than dumped again."""
    marker = f'"{key}"'
    start = text.find(marker)
    if start < 0:
        return None
    colon = text.find(":", start + len(marker))
    if colon < 0:
        return None
    begin = colon + 1
    while begin < len(text) and text[begin] in " \t\r\n":
        begin += 1
    try:
        value, end = json.JSONDecoder().raw_decode(text, begin)
    except ValueError:
        return None
    return text[begin:end] if isinstance(value, dict) else None


# --- the wire -------------------------------------------------------------------------------------


def _post(url: str, **kwargs: Any) -> httpx.Response:
    try:
        return httpx.post(url, timeout=TIMEOUT, follow_redirects=False, **kwargs)
    except httpx.TimeoutException as exc:
        raise ProviderError("provider.timeout") from exc
    except httpx.HTTPError as exc:
        raise ProviderError(f"provider.unreachable: {type(exc).__name__}") from exc


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        data = answer.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
