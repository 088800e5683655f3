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

Besides, ``settings`` keeps ``secrets_set`` (the names of the sealed secrets, so a page says
"已设置" and :func:`native_ready` answers without opening them) and, for ``wechat`` and
``alipay``, ``static_code``: ``{key, sha256, mime, width, height}`` of the uploaded image, a file
under ``uploads/<shop_id>/<key>`` (payments/settings.py writes them; payments/api.py serves them).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.core.crypto import Keyring
from shangliao.core.i18n import N_
from shangliao.payments.models import PaymentMethod
from shangliao.shops.models import Shop

SECRETS_CONTEXT = b"payment_methods.secrets"
SECRETS_SET = "secrets_set"
STATIC_CODE = "static_code"
# The kinds a customer may pay by scanning an uploaded 收款码 image.
CODE_KINDS = ("wechat", "alipay")
# What a customer and staff read for each kind (msgids: translate with ``_()`` where shown).
LABELS = {
    "wechat": N_("WeChat Pay"),
    "alipay": N_("Alipay"),
    "bank": N_("Bank transfer"),
    "gateway": N_("Payment gateway"),
}
# What a provider needs before a native QR (``code_url`` / ``qr_code``) can be asked for.
NATIVE_NEEDS = {
    "wechat": (("mchid", "appid", "merchant_serial", "platform_keys"), ("apiv3_key", "merchant_private_key")),
    "alipay": (("app_id", "alipay_public_key"), ("app_private_key",)),
}
BANK_FIELDS = ("account_name", "bank", "account_number", "branch")


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


def native_ready(method: PaymentMethod) -> bool:
    """Whether the merchant's API credentials are complete enough to ask for a native QR."""
    needs = NATIVE_NEEDS.get(method.kind)
    if needs is None:
        return False
    settings = method.settings or {}
    held = set(settings.get(SECRETS_SET) or ())
    return all(settings.get(k) for k in needs[0]) and held.issuperset(needs[1])


def shop_payment_options(
    session: Session, shop_id: int, *, public_base_url: str | None = None
) -> list[dict[str, Any]]:
    """How a customer of the shop may pay, plain data for the pages that draw it (checkout, the
    payment-request card, the customer's order card). One dict per enabled method that has
    something to offer, in the order the shop set them up::

        {"kind": "wechat" | "alipay" | "bank" | "gateway",
         "label": "WeChat Pay",          # an English msgid: the page translates it with _()
         "static_code_url": "/s/<shop slug>/api/payment-codes/wechat?v=<digest>" | None,
                                         # the uploaded 收款码, fetched with the visitor's cookie
         "bank": {"account_name", "bank", "account_number", "branch"} | None,   # bank only
         "native": bool}                 # a native QR may be asked of the provider

    A WeChat Pay or Alipay method with neither a static code nor complete credentials, and a
    gateway (reached by its own checkout, not shown as a choice) are left out. ``native`` is
    False without the server's ``public_base_url`` (config.py): the provider could not be told
    where to notify, and a request's Host header is not trusted for it. Nothing secret
    is ever in it: it is what any customer of the shop may see.
    """
    methods = enabled_methods(session, shop_id)
    if not methods:
        return []
    slug = session.scalar(select(Shop.slug).where(Shop.id == shop_id))
    options = []
    for method in methods:
        settings = method.settings or {}
        code = settings.get(STATIC_CODE) if method.kind in CODE_KINDS else None
        native = bool(public_base_url) and native_ready(method)
        bank = {k: settings.get(k) for k in BANK_FIELDS} if method.kind == "bank" else None
        if method.kind == "gateway" or (method.kind in CODE_KINDS and not (code or native)):
            continue
        options.append(
            {
                "kind": method.kind,
                "label": LABELS[method.kind],
                "static_code_url": f"/s/{slug}/api/payment-codes/{method.kind}?v={code['sha256'][:12]}"
                if code
                else None,
                "bank": bank,
                "native": native,
            }
        )
    return options
