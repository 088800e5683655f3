"""Configuring how a shop is paid: a payment method's switch, settings and sealed secrets, and its
static 收款码 image (issue 13, "Payment methods and the customer's side").

``check_*`` read and validate what a merchant sent (hard: a wrong merchant id would only show itself
when a customer's money never arrives), ``do_*`` store it with an audit row
(``payments.method_changed``: the kind, the switch and the names of the keys that changed, never a
secret's value, rule 22 of docs/architecture.md). Secrets are sealed (rule 12) and write-only: an
answer only says whether each one is set.
"""

from __future__ import annotations

import re
import secrets as random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.audit.log import record_audit
from shangliao.auth.actor import Actor
from shangliao.catalog.images import Encoded
from shangliao.chat.attachments import place_file, shop_folder
from shangliao.core.crypto import Keyring
from shangliao.core.digests import file_sha256
from shangliao.core.errors import Invalid, NotFound
from shangliao.core.field_labels import field_names
from shangliao.core.i18n import N_
from shangliao.payments.keys import read_private_key, read_public_key
from shangliao.payments.methods import (
    CODE_KINDS,
    SECRETS_SET,
    STATIC_CODE,
    find_method,
    native_ready,
    open_secrets,
    seal_secrets,
)
from shangliao.payments.models import METHOD_KINDS, PaymentMethod
from shangliao.payments.schemas import KIND_MODELS, MethodIn, MethodOut, StaticCodeOut
from shangliao.storage.hooks import after_commit

METHOD_CHANGED = "payments.method_changed"

_MCHID = re.compile(r"^[0-9]{6,20}$")
_APPID = re.compile(r"^wx[0-9a-zA-Z]{16}$")
_SERIAL = re.compile(r"^[0-9A-Fa-f]{8,64}$")
_KEY_ID = re.compile(r"^[0-9A-Za-z_]{8,64}$")  # a WeChat Pay public-key id: PUB_KEY_ID_0114…
_ALIPAY_APP_ID = re.compile(r"^[0-9]{16}$")
_SELLER_ID = re.compile(r"^2088[0-9]{12}$")
_ACCOUNT = re.compile(r"^[0-9 ]+$")
APIV3_KEY_LENGTH = 32
MIN_HMAC_SECRET = 32
# What must be there before a method may be switched on; WeChat Pay and Alipay can run on a static
# code alone, so they need nothing here.
REQUIRED_TO_ENABLE = {"bank": ("account_name", "bank", "account_number"), "gateway": ("name",)}


def method_not_found() -> NotFound:
    return NotFound("payment_method.not_found", N_("No such payment method."))


def check_kind(kind: str, *, code: bool = False) -> str:
    """A kind a shop may configure (one with a static code, ``code=True``); another is a 404."""
    if kind not in (CODE_KINDS if code else METHOD_KINDS):
        raise method_not_found()
    return kind


def _bad(code: str, message: str, field: str) -> Invalid:
    return Invalid(code, message, details={"field": field})


def _read(model: type, raw: dict[str, Any], where: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        fields = list(dict.fromkeys(".".join(str(p) for p in e["loc"][:1]) for e in exc.errors() if e["loc"]))
        raise Invalid(
            "payment_method.invalid",
            N_("Some fields are not valid: {fields}."),
            fields=field_names(fields),
            details={"fields": [f"{where}.{f}" for f in fields]},
        ) from None


# --- validation -----------------------------------------------------------------------------------


def _check_wechat(settings: dict[str, Any], secrets: dict[str, str]) -> None:
    if settings.get("mchid") and not _MCHID.match(settings["mchid"]):
        raise _bad("payment_method.bad_mchid", N_("The merchant id (mchid) is digits only."), "mchid")
    if settings.get("appid") and not _APPID.match(settings["appid"]):
        raise _bad(
            "payment_method.bad_appid", N_("The AppID is wx followed by 16 letters or digits."), "appid"
        )
    if settings.get("merchant_serial") and not _SERIAL.match(settings["merchant_serial"]):
        raise _bad(
            "payment_method.bad_merchant_serial",
            N_("The merchant certificate serial is written in hexadecimal (0-9, A-F)."),
            "merchant_serial",
        )
    keys = []
    for i, item in enumerate(settings.get("platform_keys") or []):
        field = f"platform_keys.{i}"
        serial, pem = read_public_key(item["public_key"], field)
        given = (item.get("serial") or "").strip()
        if serial and given and given.upper().lstrip("0") != serial.lstrip("0"):
            raise _bad(
                "payment_method.platform_serial_mismatch",
                N_("The serial does not match the certificate's; leave it empty to take the certificate's."),
                field,
            )
        serial = serial or given
        if not serial or not _KEY_ID.match(serial):
            raise _bad(
                "payment_method.platform_serial_required",
                N_("Give the public key's id (PUB_KEY_ID_…) or paste the platform certificate."),
                field,
            )
        if any(k["serial"] == serial for k in keys):
            raise _bad(
                "payment_method.platform_serial_repeated", N_("Each platform key is listed once."), field
            )
        keys.append({"serial": serial, "public_key": pem})
    settings.pop("platform_keys", None)
    if keys:
        settings["platform_keys"] = keys
    key = secrets.get("apiv3_key")
    if key is not None and (len(key) != APIV3_KEY_LENGTH or not key.isascii() or not key.isprintable()):
        raise _bad(
            "payment_method.bad_apiv3_key",
            N_("The APIv3 key is exactly 32 characters (letters and digits)."),
            "apiv3_key",
        )
    if secrets.get("merchant_private_key") is not None:
        secrets["merchant_private_key"] = read_private_key(
            secrets["merchant_private_key"], "merchant_private_key"
        )


def _check_alipay(settings: dict[str, Any], secrets: dict[str, str]) -> None:
    if settings.get("app_id") and not _ALIPAY_APP_ID.match(settings["app_id"]):
        raise _bad("payment_method.bad_app_id", N_("The Alipay app_id is 16 digits."), "app_id")
    if settings.get("seller_id") and not _SELLER_ID.match(settings["seller_id"]):
        raise _bad(
            "payment_method.bad_seller_id",
            N_("The seller id (PID) is 16 digits starting with 2088."),
            "seller_id",
        )
    if settings.get("alipay_public_key"):
        settings["alipay_public_key"] = read_public_key(settings["alipay_public_key"], "alipay_public_key")[1]
    if secrets.get("app_private_key") is not None:
        secrets["app_private_key"] = read_private_key(secrets["app_private_key"], "app_private_key")


def _check_bank(settings: dict[str, Any], secrets: dict[str, str]) -> None:
    number = settings.get("account_number")
    if number:
        digits = number.replace(" ", "")
        if not _ACCOUNT.match(number) or not 8 <= len(digits) <= 32:
            raise _bad(
                "payment_method.bad_account_number",
                N_("The account number is 8 to 32 digits (spaces allowed)."),
                "account_number",
            )
        settings["account_number"] = " ".join(number.split())


def _check_gateway(settings: dict[str, Any], secrets: dict[str, str]) -> None:
    key = secrets.get("hmac_secret")
    if key is not None and len(key) < MIN_HMAC_SECRET:
        raise Invalid(
            "payment_method.bad_hmac_secret",
            N_("The gateway's HMAC secret is at least {count} characters."),
            details={"field": "hmac_secret"},
            count=MIN_HMAC_SECRET,
        )


_CHECKS = {"wechat": _check_wechat, "alipay": _check_alipay, "bank": _check_bank, "gateway": _check_gateway}


@dataclass(frozen=True)
class CheckedMethod:
    """A body read and checked (keys parsed into their normal form), ready for :func:`do_put_method`:
    checking parses RSA keys, which is slow work kept outside the writer (rule 16)."""

    kind: str
    enabled: bool | None
    settings: dict[str, Any] | None  # None: keep the stored ones
    secrets: dict[str, str | None]  # None: remove that secret


def check_method_in(kind: str, body: MethodIn) -> CheckedMethod:
    """The body read by the kind's models and checked. A secret sent as null or empty is removed."""
    settings_model, secrets_model = KIND_MODELS[kind]
    settings = None
    if body.settings is not None:
        read = _read(settings_model, body.settings, "settings").model_dump(exclude_none=True)
        settings = {k: v for k, v in read.items() if v not in ("", [])}
    sent = _read(secrets_model, body.secrets or {}, "secrets").model_dump(exclude_unset=True)
    given = {k: v for k, v in sent.items() if v is not None and v != ""}
    _CHECKS[kind](settings if settings is not None else {}, given)
    removed: dict[str, str | None] = {k: None for k, v in sent.items() if v is None or v == ""}
    return CheckedMethod(kind, body.enabled, settings, {**removed, **given})


# --- storing --------------------------------------------------------------------------------------


def _changed_keys(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _audit(session: Session, actor: Actor, method: PaymentMethod, changed: list[str]) -> None:
    record_audit(
        session, actor.shop_id, METHOD_CHANGED, actor=actor, target_type="payment_method",
        target_id=method.id, data={"kind": method.kind, "enabled": method.enabled, "changed": changed},
    )  # fmt: skip


def _row(session: Session, shop_id: int, kind: str) -> PaymentMethod:
    """The shop's method of ``kind``, its row locked (two saves at once on PostgreSQL each read
    the other's secrets, not the ones before), made switched off and empty if it has none yet."""
    method = session.scalar(
        select(PaymentMethod)
        .where(PaymentMethod.shop_id == shop_id, PaymentMethod.kind == kind)
        .with_for_update()
    )
    if method is None:
        method = PaymentMethod(shop_id=shop_id, kind=kind, enabled=False, settings={})
        session.add(method)
        session.flush()
    return method


def do_put_method(session: Session, actor: Actor, keyring: Keyring, checked: CheckedMethod) -> PaymentMethod:
    """Create or replace the shop's method from a checked body (see :class:`MethodIn`)."""
    kind, settings, sent = checked.kind, checked.settings, checked.secrets
    method = _row(session, actor.shop_id, kind)
    before = dict(method.settings or {})
    kept = {k: before[k] for k in (STATIC_CODE,) if k in before}  # the image has its own route
    new = {k: v for k, v in before.items() if k != SECRETS_SET} if settings is None else settings | kept
    stored = open_secrets(keyring, method)
    secrets = {k: v for k, v in ({**stored, **sent}).items() if v is not None}
    changed = _changed_keys({k: v for k, v in before.items() if k != SECRETS_SET}, new)
    changed += sorted(k for k in sent if stored.get(k) != secrets.get(k))
    enabled = method.enabled if checked.enabled is None else checked.enabled
    if enabled:
        missing = [f for f in REQUIRED_TO_ENABLE.get(kind, ()) if not new.get(f)]
        if kind == "gateway" and "hmac_secret" not in secrets:
            missing.append("hmac_secret")
        if missing:
            raise Invalid(
                "payment_method.incomplete",
                N_("Fill in {fields} before switching this method on."),
                fields=field_names(missing),
                details={"fields": missing},
            )
    if enabled != method.enabled:
        changed.append("enabled")
    # New dicts: the JSON column notices an assignment, not a change inside the old one.
    method.settings = {**new, SECRETS_SET: sorted(secrets)}
    method.secrets_enc = seal_secrets(keyring, secrets)
    method.enabled = enabled
    session.flush()
    _audit(session, actor, method, sorted(changed))
    return method


def do_set_static_code(
    session: Session, actor: Actor, uploads_dir: Path, kind: str, encoded: Encoded
) -> PaymentMethod:
    """Keep an encoded image as the method's 收款码 (the method is made, switched off, if the shop
    has none yet). The file is renamed into place before the caller commits; if the commit fails
    the caller must :meth:`Encoded.discard` it. The image it replaces goes after the commit."""
    method = _row(session, actor.shop_id, kind)
    path = encoded.files[0]
    width, height = encoded.sizes[0]
    code = {
        "key": random.token_hex(16),
        "sha256": file_sha256(path),
        "mime": encoded.mime,
        "width": width,
        "height": height,
    }
    encoded.placed.append(place_file(path, uploads_dir, actor.shop_id, code["key"]))
    _forget_file(session, uploads_dir, method)
    method.settings = {**(method.settings or {}), STATIC_CODE: code}
    session.flush()
    _audit(session, actor, method, [STATIC_CODE])
    return method


def do_remove_static_code(session: Session, actor: Actor, uploads_dir: Path, kind: str) -> PaymentMethod:
    method = find_method(session, actor.shop_id, kind)
    if method is None or STATIC_CODE not in (method.settings or {}):
        raise NotFound("payment_method.no_static_code", N_("This payment method has no payment code image."))
    _forget_file(session, uploads_dir, method)
    method.settings = {k: v for k, v in method.settings.items() if k != STATIC_CODE}
    session.flush()
    _audit(session, actor, method, [STATIC_CODE])
    return method


def _forget_file(session: Session, uploads_dir: Path, method: PaymentMethod) -> None:
    old = (method.settings or {}).get(STATIC_CODE)
    if old:
        path = shop_folder(uploads_dir, method.shop_id) / old["key"]
        after_commit(session, lambda: path.unlink(missing_ok=True))


# --- answers --------------------------------------------------------------------------------------


def method_out(kind: str, method: PaymentMethod | None) -> MethodOut:
    """What staff read of a method: its settings and which secrets are set, never their values."""
    stored = dict(method.settings or {}) if method else {}
    names = list(KIND_MODELS[kind][1].model_fields)
    held = set(stored.pop(SECRETS_SET, []))
    code = stored.pop(STATIC_CODE, None)
    return MethodOut(
        kind=kind,
        configured=method is not None,
        enabled=bool(method and method.enabled),
        settings=stored,
        secrets={f"{name}_set": name in held for name in names},
        static_code=StaticCodeOut(
            url=f"/api/v1/payment-methods/{kind}/static-code?v={code['sha256'][:12]}",
            width=code["width"],
            height=code["height"],
        )
        if code
        else None,
        native_ready=method is not None and native_ready(method),
        updated_at=method.updated_at if method else None,
    )
