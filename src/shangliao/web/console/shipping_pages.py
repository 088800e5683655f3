"""The console's 运费模板 page (``/settings/shipping``): the shop's shipping templates, each as a
card with its fees in words and a form to change it (with ``settings.manage``), and a form for a
new one. The forms go through the API's use cases (``shipping/templates.py``), so a form and an
integration are checked alike; fees are typed in yuan, units in pieces or grams."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from shangliao.addresses import divisions
from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId
from shangliao.runtime import Runtime, get_runtime
from shangliao.shipping import templates as service
from shangliao.shipping.templates import ShippingTemplateIn
from shangliao.web.console.forms import (
    read_form,
    refused_fields,
    save_then_show_saved,
    whole_number,
    yuan_to_fen,
)
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)
PAGE = "/settings/shipping"
# A template's form: its fields, a rule per province group (those it has and one blank), and a
# tick per province for each rule and for the excluded list.
MAX_RULES = 8
MAX_FIELDS = 20 + (MAX_RULES + 2) * 40
BAD_TEMPLATE = ("console.bad_shipping_template", N_("Some fields are missing or invalid: {fields}."))


@router.get(PAGE)
def shipping_page(
    request: Request, actor: Actor = Depends(staff("shop.read")), rt: Runtime = Depends(get_runtime)
):
    with rt.db.read() as session:
        templates = [service.template_out(t) for t in service.list_templates(session, actor.shop_id)]
    return render(
        request,
        "settings/shipping.html",
        section="settings",
        templates=templates,
        provinces=divisions.provinces(),
        saved=request.query_params.get("saved") == "1",
    )


@router.post(PAGE)
async def create_template(
    request: Request, actor: Actor = Depends(staff("settings.manage")), rt: Runtime = Depends(get_runtime)
):
    body = template_from_form(await read_form(request, max_fields=MAX_FIELDS))
    return await save_then_show_saved(rt, lambda s: service.do_create_template(s, actor, body), PAGE)


@router.post(PAGE + "/{shipping_template_id}")
async def replace_template(
    shipping_template_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("settings.manage")),
    rt: Runtime = Depends(get_runtime),
):
    body = template_from_form(await read_form(request, max_fields=MAX_FIELDS))
    return await save_then_show_saved(
        rt, lambda s: service.do_replace_template(s, actor, shipping_template_id, body), PAGE
    )


@router.post(PAGE + "/{shipping_template_id}/delete")
async def delete_template(
    shipping_template_id: PathId,
    actor: Actor = Depends(staff("settings.manage")),
    rt: Runtime = Depends(get_runtime),
):
    return await save_then_show_saved(
        rt, lambda s: service.do_delete_template(s, actor, shipping_template_id), PAGE
    )


def _fen(form: FormData, name: str) -> int | None:
    return yuan_to_fen(str(form.get(name) or ""), name)


def _count(form: FormData, name: str) -> int | None:
    text = str(form.get(name) or "").strip()
    return whole_number(text) if text else None


def template_from_form(form: FormData) -> ShippingTemplateIn:
    """The posted fields as the API's ``ShippingTemplateIn``: blank fees are ¥0, blank 包邮 fields
    are "never", a rule without a ticked province is left out."""
    raw: dict[str, Any] = {
        "name": str(form.get("name") or "").strip(),
        "basis": str(form.get("basis") or "piece"),
        "first_units": _count(form, "first_units"),
        "first_fee": _fen(form, "first_fee") or 0,
        "further_units": _count(form, "further_units"),
        "further_fee": _fen(form, "further_fee") or 0,
        "free_over_amount": _fen(form, "free_over_amount"),
        "free_over_count": _count(form, "free_over_count"),
        "excluded_provinces": list(form.getlist("excluded")),
        "is_default": form.get("is_default") == "1",
        "province_rules": [
            {
                "provinces": list(form.getlist(f"rule{i}_province")),
                "first_fee": _fen(form, f"rule{i}_first_fee") or 0,
                "further_fee": _fen(form, f"rule{i}_further_fee") or 0,
            }
            for i in range(MAX_RULES)
            if form.getlist(f"rule{i}_province")
        ],
    }
    # A unit left blank (or not a number) is refused by the model as missing rather than guessed.
    raw = {k: v for k, v in raw.items() if v is not None or k in ("free_over_amount", "free_over_count")}
    try:
        return ShippingTemplateIn.model_validate(raw)
    except ValidationError as exc:
        raise refused_fields(exc, *BAD_TEMPLATE) from exc
