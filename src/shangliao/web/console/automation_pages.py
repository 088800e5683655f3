"""The console's 自动化 page: presets switched on in one click, the shop's rules (made with a form,
switched on and off, previewed), and the run log of what they did."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.automation import presets, service
from shangliao.automation.schemas import RuleIn
from shangliao.catalog.models import Product
from shangliao.core.i18n import N_, current_locale
from shangliao.core.schemas import PathId
from shangliao.orders.cancel_reasons import CANCEL_REASONS
from shangliao.orders.models import Order
from shangliao.replies.models import ReplyTemplate
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.forms import in_thread, read_form, refused_fields, whole_number, yuan_to_fen
from shangliao.web.console.order_pages import CHANNELS, staff_of
from shangliao.web.render import render
from shangliao.webhooks import service as webhooks

router = APIRouter(include_in_schema=False)
MANAGE = "automation.manage"
PAGE = "/automation"

TRIGGERS = (
    ("order_created", N_("A new order is placed")),
    ("order_paid", N_("A payment is recorded")),
    ("order_status", N_("An order enters a status")),
    ("order_shipped", N_("An order ships")),
    ("order_cancelled", N_("An order is cancelled")),
    ("aftersale_opened", N_("An after-sales request is made")),
    ("message_received", N_("A customer writes")),
    ("stock_low", N_("Stock runs low")),
)
STATUS_STEPS = (
    ("confirm", N_("Confirm")),
    ("prepare", N_("To preparing")),
    ("complete", N_("Mark completed")),
    ("cancel", N_("Cancel order")),
)
MESSAGES = (
    ("tracking", N_("Tracking number")),
    ("details", N_("Order details to check")),
    ("inspect", N_("Reminder to inspect on receipt")),
)
OUTCOMES = {
    "done": N_("Done"),
    "partial": N_("Partly done"),
    "refused": N_("Refused"),
    "retrying": N_("Retrying"),
    "failed": N_("Failed"),
    "not_matched": N_("Conditions not met"),
    "depth_limit": N_("Stopped: rules triggering rules"),
}


def _context(session, actor: Actor) -> dict[str, Any]:
    shop_id = actor.shop_id
    rules = service.rules_of(session, shop_id)
    made = presets.preset_rules(session, shop_id)
    runs = service.runs_of(session, shop_id, None)
    numbers = dict(
        session.execute(
            select(Order.id, Order.number).where(Order.id.in_({r.order_id for r in runs if r.order_id}))
        ).all()
    )
    return {
        "presets": [(key, p, made.get(key)) for key, p in presets.PRESETS.items()],
        "rules": rules,
        "rule_names": {r.id: r.name for r in rules} | {r.id: r.name for r in made.values()},
        "runs": runs,
        "numbers": numbers,
        "triggers": TRIGGERS,
        "trigger_labels": dict(TRIGGERS),
        "outcomes": OUTCOMES,
        "status_steps": STATUS_STEPS,
        "messages": MESSAGES,
        "channels": CHANNELS,
        "cancel_reasons": CANCEL_REASONS,
        "products": list(
            session.execute(
                select(Product.id, Product.name)
                .where(Product.shop_id == shop_id, Product.active.is_(True))
                .order_by(Product.name)
                .limit(300)
            )
        ),
        "replies": list(
            session.execute(
                select(ReplyTemplate.id, ReplyTemplate.shortcode, ReplyTemplate.title)
                .where(ReplyTemplate.shop_id == shop_id)
                .order_by(ReplyTemplate.shortcode_key)
            )
        ),
        "members": staff_of(session, shop_id),
        "webhooks": [
            (s.id, s.description or s.url) for s in webhooks.subscriptions_of(session, shop_id) if s.enabled
        ],
    }


@router.get(PAGE)
def automation_page(
    request: Request, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    with rt.db.read() as session:
        context = _context(session, actor)
        return render(request, "automation/page.html", section="automation", **context)


@router.post(f"{PAGE}/presets/{{preset}}")
async def switch_on_preset(
    preset: str, request: Request, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    form = await read_form(request, max_fields=120)
    try:
        body = presets.PresetIn(
            product_ids=[n for n in (whole_number(str(v)) for v in form.getlist("product_id")) if n],
            tag=str(form.get("tag") or "").strip(),
            note=str(form.get("note") or "").strip(),
        )
    except ValidationError as exc:
        raise refused_fields(exc, "console.bad_preset", N_("Please check: {fields}.")) from exc
    locale = current_locale.get()

    def save():
        with rt.db.write() as session:
            presets.do_switch_on_preset(session, actor, preset[:32], body, locale)

    await in_thread(save)
    return RedirectResponse(f"{PAGE}?saved=1", status_code=303)


@router.post(f"{PAGE}/rules/{{rule_id}}/switch")
async def switch_rule(
    rule_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    enabled = (await read_form(request)).get("enabled") == "1"

    def save():
        with rt.db.write() as session:
            service.do_switch_rule(
                session, actor, service.access_rule(session, actor, rule_id, lock=True), enabled
            )

    await in_thread(save)
    return RedirectResponse(PAGE, status_code=303)


@router.post(f"{PAGE}/rules/{{rule_id}}/delete")
def delete_rule(rule_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    with rt.db.write() as session:
        service.do_delete_rule(session, actor, service.access_rule(session, actor, rule_id, lock=True))
    return RedirectResponse(PAGE, status_code=303)


@router.post(f"{PAGE}/rules")
async def create_rule(
    request: Request, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    body = rule_from_form(await read_form(request, max_fields=400))

    def save():
        with rt.db.write() as session:
            service.do_create_rule(session, actor, body)

    await in_thread(save)
    return RedirectResponse(f"{PAGE}?saved=1", status_code=303)


@router.post(f"{PAGE}/preview")
async def preview_rule(
    request: Request, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    body = rule_from_form(await read_form(request, max_fields=400))

    def look():
        with rt.db.read() as session:
            return presets.preview(session, rt.keyring, actor.shop_id, body)

    return render(request, "automation/_preview.html", found=await in_thread(look))


def rule_from_form(form: FormData) -> RuleIn:
    """The editor's fields as the API's ``RuleIn``: a condition or action is made from each group
    filled in; the model decides what is acceptable."""
    text = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    params: dict[str, Any] = {}
    if text.get("status"):
        params["status"] = text["status"]
    if text.get("keywords"):
        params["keywords"] = text["keywords"].replace("，", " ").replace(",", " ").split()
    if text.get("delay_minutes"):
        params["delay_minutes"] = whole_number(text["delay_minutes"]) or text["delay_minutes"]
    conditions: list[dict[str, Any]] = []
    products = [n for n in (whole_number(str(v)) for v in form.getlist("product_id")) if n]
    if products:
        conditions.append({"kind": "product", "product_ids": products})
    low, high = (
        yuan_to_fen(text.get("amount_min", ""), "amount_min"),
        yuan_to_fen(text.get("amount_max", ""), "amount_max"),
    )
    if low is not None or high is not None:
        conditions.append({"kind": "amount", "min": low, "max": high})
    if form.getlist("channel"):
        conditions.append({"kind": "channel", "channels": list(form.getlist("channel"))})
    if text.get("paid"):
        conditions.append({"kind": "paid", "state": text["paid"]})
    if text.get("customer_tags"):
        conditions.append({"kind": "customer_tag", "tags": text["customer_tags"].replace("，", " ").split()})
    if text.get("provinces"):
        conditions.append({"kind": "region", "provinces": text["provinces"].replace("，", " ").split()})
    if text.get("time_start") or text.get("time_end"):
        conditions.append(
            {"kind": "time_of_day", "start": text.get("time_start", ""), "end": text.get("time_end", "")}
        )
    actions: list[dict[str, Any]] = []
    if text.get("step"):
        actions.append(
            {
                "kind": "status",
                "action": text["step"],
                **({"reason": text["reason"]} if text.get("reason") else {}),
            }
        )
    if text.get("tag"):
        actions.append({"kind": "tag", "tag": text["tag"]})
    if text.get("note"):
        actions.append({"kind": "note", "text": text["note"]})
    if text.get("template_id"):
        actions.append({"kind": "reply", "template_id": whole_number(text["template_id"]) or 0})
    if text.get("message"):
        actions.append({"kind": "message", "message": text["message"]})
    if text.get("assignee"):
        rr = text["assignee"] == "round_robin"
        actions.append(
            {
                "kind": "assign",
                "round_robin": rr,
                "assignee_id": None if rr else whole_number(text["assignee"]),
            }
        )
    notify = [n for n in (whole_number(str(v)) for v in form.getlist("notify")) if n]
    if notify:
        actions.append({"kind": "notify", "staff_ids": notify})
    if text.get("webhook_id"):
        actions.append({"kind": "webhook", "webhook_id": whole_number(text["webhook_id"]) or 0})
    raw = {
        "name": text.get("name", ""),
        "trigger": text.get("trigger", ""),
        "trigger_params": params,
        "conditions": {"match": text.get("match") or "all", "items": conditions},
        "actions": actions,
    }
    try:
        return RuleIn.model_validate(raw)
    except ValidationError as exc:
        raise refused_fields(exc, "console.bad_rule", N_("Please check: {fields}."), depth=4) from exc
