"""API shapes of a shop's payment-method settings (``/api/v1/payment-methods``).

The body of ``PUT /payment-methods/{kind}`` is one shape for every kind; its ``settings`` and
``secrets`` are then read by the kind's own model below (unknown keys refused), so a typo in a
merchant id is a 422 naming the field, never a silently dropped value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from shangliao.core.schemas import StrictModel

# A PEM key is a few hundred characters (RSA 4096: ~3.3k, a certificate chain a little more):
# anything longer is refused before a parser sees it.
MAX_PEM = 8192
MAX_PLATFORM_KEYS = 5


class MethodIn(StrictModel):
    """Create or replace a payment method. Left out: ``enabled`` keeps the switch (a new method
    starts off), ``settings`` keeps the stored ones (so ``{"enabled": false}`` switches a method
    off and keeps its configuration), and each secret left out of ``secrets`` keeps its stored
    value; a secret sent as ``null`` is removed."""

    enabled: bool | None = Field(None, description="On or off; left out keeps it as it is.")
    settings: dict[str, Any] | None = Field(
        None, description="What the kind keeps (see the kind's settings): replaces the stored ones whole."
    )
    secrets: dict[str, str | None] | None = Field(
        None, description="Write-only: a value sets it, null removes it, left out keeps it."
    )


# --- what each kind keeps -----------------------------------------------------------------------------


class PlatformKeyIn(StrictModel):
    serial: str | None = Field(
        None,
        max_length=64,
        description="The platform certificate's serial or the WeChat Pay public-key id (PUB_KEY_ID_…); "
        "taken from the certificate when one is given.",
    )
    public_key: str = Field(
        min_length=1, max_length=MAX_PEM, description="An RSA public key or a platform certificate (PEM)."
    )


class WechatSettings(StrictModel):
    mchid: str | None = Field(None, max_length=32, description="The merchant id: digits.")
    appid: str | None = Field(None, max_length=32, description="The AppID bound to the merchant: wx….")
    merchant_serial: str | None = Field(
        None, max_length=64, description="The serial of the merchant's API certificate (hex)."
    )
    platform_keys: list[PlatformKeyIn] = Field(default_factory=list, max_length=MAX_PLATFORM_KEYS)


class WechatSecrets(StrictModel):
    apiv3_key: str | None = Field(None, max_length=64, description="The APIv3 key: exactly 32 characters.")
    merchant_private_key: str | None = Field(
        None, max_length=MAX_PEM, description="The merchant's API private key (RSA, PEM)."
    )


class AlipaySettings(StrictModel):
    app_id: str | None = Field(None, max_length=32, description="The application's app_id: 16 digits.")
    seller_id: str | None = Field(None, max_length=32, description="The merchant's PID: 2088 and 12 digits.")
    alipay_public_key: str | None = Field(
        None, max_length=MAX_PEM, description="Alipay's public key (PEM, or the bare text Alipay shows)."
    )


class AlipaySecrets(StrictModel):
    app_private_key: str | None = Field(
        None, max_length=MAX_PEM, description="The application's private key (RSA2, PEM or bare text)."
    )


class BankSettings(StrictModel):
    account_name: str | None = Field(None, max_length=64, description="The account holder's name.")
    bank: str | None = Field(None, max_length=64, description="The bank.")
    account_number: str | None = Field(None, max_length=40, description="Digits and spaces.")
    branch: str | None = Field(None, max_length=64, description="The branch (optional).")


class GatewaySettings(StrictModel):
    name: str | None = Field(None, max_length=40, description="The gateway's name, shown to staff.")


class GatewaySecrets(StrictModel):
    hmac_secret: str | None = Field(
        None, max_length=256, description="The shared HMAC-SHA256 secret: at least 32 characters."
    )


class NoSecrets(StrictModel):
    pass


# kind → (settings model, secrets model)
KIND_MODELS: dict[str, tuple[type[StrictModel], type[StrictModel]]] = {
    "wechat": (WechatSettings, WechatSecrets),
    "alipay": (AlipaySettings, AlipaySecrets),
    "bank": (BankSettings, NoSecrets),
    "gateway": (GatewaySettings, GatewaySecrets),
}


# --- answers ------------------------------------------------------------------------------------------


class StaticCodeOut(StrictModel):
    url: str = Field(description="The image, for staff (a customer's phone has its own address).")
    width: int
    height: int


class MethodOut(StrictModel):
    kind: str
    configured: bool = Field(description="Whether the shop saved this method at all.")
    enabled: bool
    settings: dict[str, Any] = Field(description="What staff may read; never a secret.")
    secrets: dict[str, bool] = Field(description='Whether each secret is set ("apiv3_key_set": true).')
    static_code: StaticCodeOut | None = None
    native_ready: bool = Field(
        description="The credentials to ask the provider for a native QR are complete."
    )
    updated_at: datetime | None = None


class MethodList(StrictModel):
    items: list[MethodOut]
