"""``/api/v1/webhooks``: the shop's outbound webhooks, their deliveries and tries. Every route
needs ``automation.manage`` (a webhook hands the shop's events to another system)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.schemas import MAX_ID, PathId
from shangliao.runtime import Runtime, get_runtime
from shangliao.webhooks import service
from shangliao.webhooks.models import WebhookDelivery, WebhookSubscription
from shangliao.webhooks.schemas import (
    AttemptOut,
    DeliveryOut,
    SubscriptionIn,
    SubscriptionMade,
    SubscriptionOut,
    SubscriptionUpdate,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
MANAGE = "automation.manage"
NO_STORE = {"Cache-Control": "private, no-store"}  # answers that hold a secret


def subscription_out(sub: WebhookSubscription) -> dict:
    return SubscriptionOut.model_validate(sub, from_attributes=True).model_dump()


def delivery_out(delivery: WebhookDelivery) -> dict:
    out = DeliveryOut.model_validate(delivery, from_attributes=True).model_dump()
    if delivery.status not in (service.PENDING, service.SENDING):
        out["next_attempt_at"] = None
    return out


@router.get("")
def list_webhooks(
    actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
) -> dict[str, list[SubscriptionOut]]:
    with rt.db.read() as session:
        return {"items": [subscription_out(s) for s in service.subscriptions_of(session, actor.shop_id)]}


@router.post("", response_model=SubscriptionMade, status_code=201)
def create_webhook(
    body: SubscriptionIn,
    response: Response,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    """The answer holds the signing secret: the only time it is shown. Events after this moment
    are sent, never history."""
    response.headers.update(NO_STORE)
    with rt.db.write() as session:
        sub, secret = service.do_create(
            session, rt.keyring, actor, body, allow_private=rt.settings.webhook_allow_private
        )
        return {**subscription_out(sub), "secret": secret}


@router.get("/{webhook_id}", response_model=SubscriptionOut)
def get_webhook(
    webhook_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    with rt.db.read() as session:
        return subscription_out(service.access_subscription(session, actor.shop_id, webhook_id))


@router.put("/{webhook_id}", response_model=SubscriptionOut)
def update_webhook(
    webhook_id: PathId,
    body: SubscriptionUpdate,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    """Change the address, topics or name; ``enabled`` switches it (back on: from now on, and a
    webhook switched off for failing gets a fresh start)."""
    with rt.db.write() as session:
        sub = service.access_subscription(session, actor.shop_id, webhook_id, lock=True)
        sub = service.do_update(session, actor, sub, body, allow_private=rt.settings.webhook_allow_private)
        return subscription_out(sub)


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(
    webhook_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
) -> None:
    with rt.db.write() as session:
        service.do_delete(
            session, actor, service.access_subscription(session, actor.shop_id, webhook_id, lock=True)
        )


@router.post("/{webhook_id}/rotate-secret")
def rotate_secret(
    webhook_id: PathId,
    response: Response,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
) -> dict[str, str]:
    """A new signing secret, used from the next send on; the old one stops at once."""
    response.headers.update(NO_STORE)
    with rt.db.write() as session:
        sub = service.access_subscription(session, actor.shop_id, webhook_id, lock=True)
        return {"secret": service.do_rotate_secret(session, rt.keyring, actor, sub)}


@router.post("/{webhook_id}/ping", response_model=DeliveryOut, status_code=202)
def ping(webhook_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    """Queue a ``ping`` event for the endpoint; its delivery shows how the endpoint answered."""
    with rt.db.write() as session:
        sub = service.access_subscription(session, actor.shop_id, webhook_id)
        service.check_enabled(sub)
        return delivery_out(service.do_ping(session, sub))


@router.get("/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: PathId,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
) -> dict[str, list[DeliveryOut]]:
    """Newest first, 50 a page (``before_id``: the last id of the previous page)."""
    with rt.db.read() as session:
        service.access_subscription(session, actor.shop_id, webhook_id)
        found = service.deliveries_of(session, actor.shop_id, webhook_id, before_id=before_id)
        return {"items": [delivery_out(d) for d in found]}


@router.get("/deliveries/{delivery_id}")
def get_delivery(
    delivery_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
) -> dict:
    """The delivery, the body it sends (less its ``delivery`` part) and each try."""
    with rt.db.read() as session:
        delivery = service.access_delivery(session, actor.shop_id, delivery_id)
        attempts = service.attempts_of(session, delivery)
        return {
            **delivery_out(delivery),
            "payload": delivery.payload,
            "attempts_log": [
                AttemptOut.model_validate(a, from_attributes=True).model_dump() for a in attempts
            ],
        }


@router.post("/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut, status_code=202)
def redeliver(delivery_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    """Send the same event (same id, same body) again, as a new delivery."""
    with rt.db.write() as session:
        original = service.access_delivery(session, actor.shop_id, delivery_id)
        return delivery_out(service.do_redeliver(session, original))
