"""A payment method's secrets, sealed at rest (rule 12 of docs/architecture.md).

What each kind keeps (``PaymentMethod.settings`` / sealed secrets):
- ``wechat``: settings ``mchid``, ``appid``, ``merchant_serial``, ``platform_keys`` (a list of
  ``{"serial": …, "public_key": PEM}``: a platform certificate's serial or a WeChat Pay public-key
  id, and its key), ``static_code`` (an uploaded 收款码 image); secrets ``apiv3_key``,
  ``merchant_private_key`` (PEM, to ask for a native QR).
- ``alipay``: settings ``app_id``, ``seller_id``, ``alipay_public_key`` (PEM), ``static_code``;
  secrets ``app_private_key`` (PEM).
- ``bank``: settings ``account_name``, ``bank``, ``account_number``, ``branch``.
- ``gateway``: settings ``name``; secrets ``hmac_secret``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.core.crypto import Keyring
from shangliao.payments.models import PaymentMethod

SECRETS_CONTEXT = b"payment_methods.secrets"


def seal_secrets(keyring: Keyring, secrets: dict[str, Any]) -> bytes | None:
    return keyring.encrypt_json(secrets, SECRETS_CONTEXT) if secrets else None


def open_secrets(keyring: Keyring, method: PaymentMethod) -> dict[str, Any]:
    if method.secrets_enc is None:
        return {}
    return keyring.decrypt_json(method.secrets_enc, SECRETS_CONTEXT)


def find_method(session: Session, shop_id: int, kind: str) -> PaymentMethod | None:
    return session.scalar(
        select(PaymentMethod).where(PaymentMethod.shop_id == shop_id, PaymentMethod.kind == kind)
    )


def enabled_methods(session: Session, shop_id: int) -> list[PaymentMethod]:
    return list(
        session.scalars(
            select(PaymentMethod)
            .where(PaymentMethod.shop_id == shop_id, PaymentMethod.enabled.is_(True))
            .order_by(PaymentMethod.id)
        )
    )
