"""The console's 设置 (settings) hub and its 支付方式 page: one card per payment method with its
switch, its fields, its secrets (shown as 已设置, replaced but never read back) and its 收款码.

The cards post with htmx and are answered with the card redrawn ("已保存"); a refusal shows in the
page's message area (``web/render.py`` ``page_error``). The use cases are the API's
(``payments/settings.py``), so a form and an integration are checked alike.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData

from shangliao.auth.access import staff, staff_any
from shangliao.auth.actor import Actor
from shangliao.core.field_labels import FIELD_LABELS
from shangliao.core.i18n import N_
from shangliao.payments import settings as service
from shangliao.payments.api import CODE_TYPES, upload_code
from shangliao.payments.methods import CODE_KINDS, LABELS, find_method
from shangliao.payments.models import METHOD_KINDS
from shangliao.payments.schemas import MethodIn, MethodOut
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.forms import in_thread, read_form
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)

# The hub's entries: (address, label msgid, hint msgid, permission). Another area adds its page
# with one line here (shipping templates, the payment-notification log …).
LINKS: list[tuple[str, str, str, str]] = [
    (
        "/settings/payments",
        N_("Payment methods"),
        N_("WeChat Pay, Alipay, bank transfer and payment codes"),
        "payments.manage",
    ),
    (
        "/payments/notifications",
        N_("Payment notifications"),
        N_("What providers told the shop"),
        "payments.record",
    ),
    (
        "/settings/shipping",
        N_("Shipping templates"),
        N_("Shipping fees by pieces or weight, by province"),
        "shop.read",
    ),
    (
        "/settings/workflow",
        N_("Order workflow"),
        N_("Steps, automatic cancel and completion, required fields, tag colours"),
        "settings.manage",
    ),
    (
        "/settings/webhooks",
        N_("Webhooks"),
        N_("Send orders, payments and stock events to other systems"),
        "automation.manage",
    ),
    (
        "/settings/assignment",
        N_("Auto-assignment"),
        N_("Who gets new orders and conversations"),
        "settings.manage",
    ),
]
# Who reaches the hub: those who hold a permission of one of its entries (finance, who record
# payments, find the payment-notification log there).
HUB_PERMISSIONS = ("settings.manage", "payments.manage", "payments.record", "automation.manage")

# The form's plain fields per kind (secrets and keys are read apart: empty keeps what is stored).
PLAIN_FIELDS = {
    "wechat": ("mchid", "appid", "merchant_serial"),
    "alipay": ("app_id", "seller_id"),
    "bank": ("account_name", "bank", "account_number", "branch"),
    "gateway": ("name",),
}
SECRET_FIELDS = {
    "wechat": ("apiv3_key", "merchant_private_key"),
    "alipay": ("app_private_key",),
    "bank": (),
    "gateway": ("hmac_secret",),
}
# Keys pasted as several lines of PEM.
MAX_KEY_FIELD = 9000


@router.get("/settings")
def settings_hub(request: Request, actor: Actor = Depends(staff_any(*HUB_PERMISSIONS))):
    links = [link for link in LINKS if link[3] in actor.permissions]
    return render(request, "settings/hub.html", section="settings", links=links)


def _methods(rt: Runtime, actor: Actor) -> list[MethodOut]:
    with rt.db.read() as session:
        return [service.method_out(k, find_method(session, actor.shop_id, k)) for k in METHOD_KINDS]


def _card(request: Request, method: MethodOut, *, saved: bool = False):
    return render(request, "settings/_method.html", m=method, saved=saved, **_card_context())


def _card_context() -> dict[str, Any]:
    return {
        "labels": LABELS,
        "plain_fields": PLAIN_FIELDS,
        "secret_fields": SECRET_FIELDS,
        "code_kinds": CODE_KINDS,
        "code_types": ",".join(sorted(CODE_TYPES)),
        "field_words": FIELD_LABELS,
    }


@router.get("/settings/payments")
def payments_page(
    request: Request, actor: Actor = Depends(staff("payments.manage")), rt: Runtime = Depends(get_runtime)
):
    return render(
        request,
        "settings/payments.html",
        section="settings",
        methods=_methods(rt, actor),
        saved=False,
        # Native QR needs the address providers notify (config.py public_base_url).
        no_public_base=not rt.settings.public_base_url,
        **_card_context(),
    )


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def method_body(kind: str, form: FormData, current: dict[str, Any]) -> MethodIn:
    """The card's form as the API's body. Plain fields replace; an empty secret or public key
    keeps the stored one; a platform key ticked for removal goes, a pasted one is added."""
    settings: dict[str, Any] = {name: _text(form, name) or None for name in PLAIN_FIELDS[kind]}
    if kind == "wechat":
        removed = set(form.getlist("remove_platform_key"))
        keys = [
            {"serial": k["serial"], "public_key": k["public_key"]}
            for k in current.get("platform_keys", [])
            if k["serial"] not in removed
        ]
        if _text(form, "platform_key"):
            keys.append(
                {"serial": _text(form, "platform_serial") or None, "public_key": _text(form, "platform_key")}
            )
        settings["platform_keys"] = keys
    if kind == "alipay":
        settings["alipay_public_key"] = _text(form, "alipay_public_key") or current.get("alipay_public_key")
    secrets = {name: _text(form, name) for name in SECRET_FIELDS[kind] if _text(form, name)}
    return MethodIn(enabled=form.get("enabled") == "1", settings=settings, secrets=secrets)


@router.post("/settings/payments/{kind}")
async def save_method(
    kind: str,
    request: Request,
    actor: Actor = Depends(staff("payments.manage")),
    rt: Runtime = Depends(get_runtime),
):
    service.check_kind(kind)
    form = await read_form(request, max_fields=40, max_part_size=MAX_KEY_FIELD)

    def save() -> MethodOut:
        with rt.db.read() as session:
            method = find_method(session, actor.shop_id, kind)
            current = dict(method.settings or {}) if method else {}
        body = method_body(kind, form, current)
        checked = service.check_method_in(kind, body)  # keys parsed outside the writer (rule 16)
        with rt.db.write() as session:
            return service.method_out(kind, service.do_put_method(session, actor, rt.keyring, checked))

    return _card(request, await in_thread(save), saved=True)


@router.post("/settings/payments/{kind}/code")
async def upload_method_code(
    kind: str,
    request: Request,
    actor: Actor = Depends(staff("payments.manage")),
    rt: Runtime = Depends(get_runtime),
):
    method = await upload_code(request, rt, actor, kind)
    return _card(request, service.method_out(kind, method), saved=True)


@router.post("/settings/payments/{kind}/code/remove")
async def remove_method_code(
    kind: str,
    request: Request,
    actor: Actor = Depends(staff("payments.manage")),
    rt: Runtime = Depends(get_runtime),
):
    service.check_kind(kind, code=True)

    def remove() -> MethodOut:
        with rt.db.write() as session:
            method = service.do_remove_static_code(session, actor, rt.settings.uploads_dir, kind)
            return service.method_out(kind, method)

    return _card(request, await in_thread(remove), saved=True)
