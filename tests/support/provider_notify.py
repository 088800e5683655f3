"""Signing notifications as WeChat Pay, Alipay and a gateway do, for the notification tests (and
the bench): RSA keys made here with ``cryptography``, a shop's methods configured with their
public halves, and payment attempts to notify about."""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shangliao.core import signing
from shangliao.orders.payments import next_trade_no
from shangliao.payments import alipay, wechat
from shangliao.payments.methods import find_method, seal_secrets
from shangliao.payments.models import PaymentAttempt, PaymentMethod
from shangliao.runtime import Runtime

MCHID = "1900000109"
APPID = "wx8888888888888888"
APIV3_KEY = "0123456789abcdef0123456789abcdef"  # 32 bytes, as WeChat issues
SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
ALIPAY_APP_ID = "2021000000000001"
ALIPAY_SELLER = "2088000000000001"
GATEWAY_SECRET = "whsec_test_0123456789"


@cache
def private_key(name: str = "platform") -> rsa.RSAPrivateKey:
    """One key per name for the whole run (2048-bit generation is slow)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def set_method(rt: Runtime, shop_id: int, kind: str, settings: dict, secrets: dict) -> None:
    with rt.db.write() as session:
        method = find_method(session, shop_id, kind) or PaymentMethod(shop_id=shop_id, kind=kind)
        method.enabled = True
        method.settings = settings
        method.secrets_enc = seal_secrets(rt.keyring, secrets)
        session.add(method)


def configure_all(rt: Runtime, shop_id: int) -> None:
    """WeChat Pay, Alipay and the gateway, each with the keys this module signs with."""
    set_method(
        rt,
        shop_id,
        "wechat",
        {
            "mchid": MCHID,
            "appid": APPID,
            "platform_keys": [{"serial": SERIAL, "public_key": public_pem(private_key("platform"))}],
        },
        {"apiv3_key": APIV3_KEY},
    )
    bare = "".join(public_pem(private_key("alipay")).splitlines()[1:-1])  # as Alipay's console shows it
    set_method(
        rt,
        shop_id,
        "alipay",
        {"app_id": ALIPAY_APP_ID, "seller_id": ALIPAY_SELLER, "alipay_public_key": bare},
        {},
    )
    set_method(rt, shop_id, "gateway", {"name": "测试网关"}, {"hmac_secret": GATEWAY_SECRET})


def open_attempt(
    rt: Runtime, shop_id: int, order_id: int, method: str, amount: int, currency: str = "CNY"
) -> str:
    """A payment attempt for ``amount`` of the order; its ``out_trade_no``."""
    from shangliao.orders.models import Order

    with rt.db.write() as session:
        order = session.get(Order, order_id, with_for_update=True)
        assert order is not None and order.shop_id == shop_id
        attempt = PaymentAttempt(
            shop_id=shop_id,
            order_id=order_id,
            method=method,
            out_trade_no=next_trade_no(order),
            amount=amount,
            currency=currency,
        )
        session.add(attempt)
        return attempt.out_trade_no


@dataclass
class Signed:
    headers: dict[str, str]
    body: bytes
    content_type: str = "application/json"
    extra: dict[str, Any] = field(default_factory=dict)

    def all_headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type, **self.headers}


def wechat_payment(
    out_trade_no: str,
    amount: int,
    *,
    transaction_id: str | None = None,
    currency: str = "CNY",
    mchid: str = MCHID,
    appid: str = APPID,
    trade_state: str = "SUCCESS",
) -> dict[str, Any]:
    return {
        "mchid": mchid,
        "appid": appid,
        "out_trade_no": out_trade_no,
        "transaction_id": transaction_id or f"4200{os.urandom(8).hex()}",
        "trade_type": "NATIVE",
        "trade_state": trade_state,
        "success_time": "2026-12-07T12:00:00+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": amount, "payer_total": amount, "currency": currency, "payer_currency": currency},
    }


def wechat_refund(
    out_trade_no: str, refund: int, total: int, *, refund_id: str | None = None
) -> dict[str, Any]:
    return {
        "mchid": MCHID,
        "out_trade_no": out_trade_no,
        "transaction_id": f"4200{os.urandom(8).hex()}",
        "out_refund_no": f"R{os.urandom(6).hex()}",
        "refund_id": refund_id or f"5030{os.urandom(8).hex()}",
        "refund_status": "SUCCESS",
        "success_time": "2026-12-07T12:00:00+08:00",
        "amount": {"total": total, "refund": refund, "payer_total": total, "payer_refund": refund},
    }


def wechat_sign(
    resource: dict[str, Any],
    *,
    event_type: str = "TRANSACTION.SUCCESS",
    key: rsa.RSAPrivateKey | None = None,
    serial: str = SERIAL,
    apiv3_key: str = APIV3_KEY,
    timestamp: int | None = None,
) -> Signed:
    """A notification as WeChat Pay sends it: the resource sealed with the APIv3 key, the body
    signed with the platform key."""
    nonce = os.urandom(6).hex()
    associated = "transaction" if event_type.startswith("TRANSACTION") else "refund"
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(
        nonce.encode(), json.dumps(resource).encode(), associated.encode()
    )
    envelope = {
        "id": os.urandom(8).hex(),
        "create_time": "2026-12-07T12:00:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功",
        "resource": {
            "original_type": associated,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(ciphertext).decode(),
            "associated_data": associated,
            "nonce": nonce,
        },
    }
    body = json.dumps(envelope).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    header_nonce = os.urandom(8).hex()
    signature = rsa_sign(key or private_key("platform"), wechat.signed_message(stamp, header_nonce, body))
    return Signed(
        {
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": header_nonce,
            "Wechatpay-Signature": signature,
            "Wechatpay-Serial": serial,
        },
        body,
    )


def alipay_sign(params: dict[str, str], key: rsa.RSAPrivateKey | None = None) -> Signed:
    signed = {**params, "sign_type": "RSA2", "charset": "utf-8"}
    signed["sign"] = rsa_sign(key or private_key("alipay"), alipay.signed_message(signed))
    return Signed({}, urlencode(signed).encode(), "application/x-www-form-urlencoded")


def alipay_payment(out_trade_no: str, total_amount: str, **more: str) -> dict[str, str]:
    return {
        "notify_time": "2026-12-07 12:00:00",
        "notify_type": "trade_status_sync",
        "notify_id": os.urandom(8).hex(),
        "app_id": ALIPAY_APP_ID,
        "seller_id": ALIPAY_SELLER,
        "out_trade_no": out_trade_no,
        "trade_no": f"2026{os.urandom(8).hex()}",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": total_amount,
        "buyer_logon_id": "",
        **more,
    }


def gateway_sign(
    body: dict[str, Any], *, secret: str = GATEWAY_SECRET, timestamp: int | None = None
) -> Signed:
    raw = json.dumps(body).encode()
    stamp = int(time.time()) if timestamp is None else timestamp
    return Signed({"X-Shangliao-Signature": signing.sign(secret, stamp, raw)}, raw)


def url(slug: str, kind: str) -> str:
    return f"/api/v1/providers/{slug}/{kind}"
