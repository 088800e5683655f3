"""The console's Webhooks page (settings hub): the shop's endpoints, what each hears, how its
recent deliveries went, with a test send, redelivery, a new secret, on/off and delete. A secret is
shown once, in the answer to the form that made it (never in a URL, never again)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.forms import in_thread, read_form, refused_fields, whole_number
from shangliao.web.render import render
from shangliao.webhooks import service
from shangliao.webhooks.api import NO_STORE
from shangliao.webhooks.models import WebhookDelivery
from shangliao.webhooks.schemas import SubscriptionIn, SubscriptionUpdate

router = APIRouter(include_in_schema=False)
MANAGE = "automation.manage"
PAGE = "/settings/webhooks"
RECENT = 8  # deliveries shown under each webhook

TOPICS = (
    ("order", N_("Orders")),
    ("payment", N_("Payments and refunds")),
    ("aftersales", N_("After-sales requests")),
    ("message", N_("Chat messages")),
    ("stock", N_("Stock")),
)
STATUSES = {
    "pending": N_("Waiting to retry"),
    "sending": N_("Sending"),
    "succeeded": N_("Delivered"),
    "dead": N_("Given up"),
}


def _page(request: Request, rt: Runtime, actor: Actor, **extra: Any):
    """The page, read and drawn in one read unit (its rows are drawn while their session is open)."""
    with rt.db.read() as session:
        subs = service.subscriptions_of(session, actor.shop_id)
        recent = {
            sub.id: list(
                session.scalars(
                    select(WebhookDelivery)
                    .where(
                        WebhookDelivery.shop_id == actor.shop_id, WebhookDelivery.subscription_id == sub.id
                    )
                    .order_by(WebhookDelivery.id.desc())
                    .limit(RECENT)
                )
            )
            for sub in subs
        }
        context = {
            "subs": subs,
            "recent": recent,
            "topics": TOPICS,
            "topic_labels": dict(TOPICS),
            "statuses": STATUSES,
            "allow_private": rt.settings.webhook_allow_private,
            "done": None,
            "secret": None,
        }
        page = render(request, "settings/webhooks.html", section="settings", **(context | extra))
    if extra.get("secret"):
        page.headers.update(NO_STORE)  # the secret is on it: kept in no cache, shown once
    return page


@router.get(PAGE)
def webhooks_page(
    request: Request, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    return _page(request, rt, actor, done=request.query_params.get("done"))


def _body(form, model=SubscriptionIn, **extra: Any):
    raw = {
        "url": str(form.get("url") or ""),
        "topics": [str(t) for t in form.getlist("topic")],
        "description": str(form.get("description") or ""),
        **extra,
    }
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise refused_fields(exc, "console.bad_webhook", N_("Please check: {fields}.")) from exc


@router.post(PAGE)
async def create_webhook(
    request: Request, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    body = _body(await read_form(request, max_fields=20))

    def save() -> tuple[int, str]:
        with rt.db.write() as session:
            sub, secret = service.do_create(
                session, rt.keyring, actor, body, allow_private=rt.settings.webhook_allow_private
            )
            return sub.id, secret

    sub_id, secret = await in_thread(save)
    return _page(request, rt, actor, secret=secret, secret_for=sub_id)


@router.post(f"{PAGE}/{{webhook_id}}")
async def update_webhook(
    webhook_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.read() as session:  # another shop's id is a 404, whatever the form holds
        service.access_subscription(session, actor.shop_id, webhook_id)
    form = await read_form(request, max_fields=20)
    version = whole_number(str(form.get("version") or ""))  # the version the form was drawn from
    body = _body(form, SubscriptionUpdate, enabled=form.get("enabled") == "1", version=version)

    def save() -> None:
        with rt.db.write() as session:
            sub = service.access_subscription(session, actor.shop_id, webhook_id, lock=True)
            service.do_update(session, actor, sub, body, allow_private=rt.settings.webhook_allow_private)

    await in_thread(save)
    return RedirectResponse(f"{PAGE}?done=saved#webhook-{webhook_id}", status_code=303)


@router.post(f"{PAGE}/{{webhook_id}}/rotate")
def rotate_secret(
    webhook_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.write() as session:
        sub = service.access_subscription(session, actor.shop_id, webhook_id, lock=True)
        secret = service.do_rotate_secret(session, rt.keyring, actor, sub)
    return _page(request, rt, actor, secret=secret, secret_for=webhook_id)


@router.post(f"{PAGE}/{{webhook_id}}/ping")
def ping(webhook_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    with rt.db.write() as session:
        sub = service.access_subscription(session, actor.shop_id, webhook_id)
        service.check_enabled(sub)
        service.do_ping(session, sub)
    return RedirectResponse(f"{PAGE}?done=ping#webhook-{webhook_id}", status_code=303)


@router.post(f"{PAGE}/{{webhook_id}}/delete")
def delete_webhook(
    webhook_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    with rt.db.write() as session:
        service.do_delete(
            session, actor, service.access_subscription(session, actor.shop_id, webhook_id, lock=True)
        )
    return RedirectResponse(f"{PAGE}?done=deleted", status_code=303)


@router.post(f"{PAGE}/deliveries/{{delivery_id}}/redeliver")
def redeliver(delivery_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    with rt.db.write() as session:
        delivery = service.do_redeliver(session, service.access_delivery(session, actor.shop_id, delivery_id))
    return RedirectResponse(f"{PAGE}?done=redelivered#webhook-{delivery.subscription_id}", status_code=303)
