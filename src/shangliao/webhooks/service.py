"""A shop's webhook subscriptions: made, changed, switched, deleted, their secrets rotated; and the
deliveries queued for them (by the consumer, a rule's action, a ping, a redelivery). No HTTP here:
sending is the worker's (webhooks/deliver.py), so no request ever waits on a receiver."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shangliao.audit.log import record_audit
from shangliao.auth.actor import Actor
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, NotFound
from shangliao.core.i18n import N_
from shangliao.events.models import EventLogEntry
from shangliao.jobs.consumers import follow
from shangliao.shops.models import Shop, ShopCounter
from shangliao.webhooks import ssrf
from shangliao.webhooks.models import SECRET_CONTEXT, WebhookAttempt, WebhookDelivery, WebhookSubscription
from shangliao.webhooks.payload import event_payload
from shangliao.webhooks.schemas import SubscriptionIn, SubscriptionUpdate

NAME = "webhooks"  # the event-log consumer (webhooks/consumer.py)
MAX_SUBSCRIPTIONS = 20
PAGE = 50
PENDING, SENDING, SUCCEEDED, DEAD = "pending", "sending", "succeeded", "dead"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def secret_of(keyring: Keyring, sub: WebhookSubscription) -> str:
    return keyring.decrypt(sub.secret_enc, SECRET_CONTEXT).decode()


def access_subscription(
    session: Session, shop_id: int, sub_id: int, *, lock: bool = False
) -> WebhookSubscription:
    stmt = select(WebhookSubscription).where(
        WebhookSubscription.id == sub_id, WebhookSubscription.shop_id == shop_id
    )
    sub = session.scalar(stmt.with_for_update() if lock else stmt)
    if sub is None:
        raise NotFound("webhook.not_found", N_("No such webhook."))
    return sub


def subscriptions_of(session: Session, shop_id: int) -> list[WebhookSubscription]:
    return list(
        session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.shop_id == shop_id)
            .order_by(WebhookSubscription.id)
        )
    )


def _head(session: Session, shop_id: int) -> int:
    return session.scalar(select(ShopCounter.event_seq).where(ShopCounter.shop_id == shop_id)) or 0


def _switched_on(session: Session, sub: WebhookSubscription) -> None:
    """From now on (events after the head), and the consumer follows the shop."""
    sub.active_from_seq = _head(session, sub.shop_id)
    sub.enabled, sub.disabled_reason, sub.failing_since = True, None, None
    follow(session, NAME, sub.shop_id)


def _audit(session: Session, actor: Actor, act: str, sub: WebhookSubscription, **data: Any) -> None:
    record_audit(
        session, sub.shop_id, act, actor=actor, target_type="webhook", target_id=sub.id,
        data={"url": sub.url, **data},
    )  # fmt: skip


def do_create(
    session: Session, keyring: Keyring, actor: Actor, body: SubscriptionIn, *, allow_private: bool
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its secret (the only time the secret is shown)."""
    ssrf.check_target(body.url, allow_private=allow_private)
    if len(subscriptions_of(session, actor.shop_id)) >= MAX_SUBSCRIPTIONS:
        raise Conflict("webhook.too_many", N_("A shop can have at most {n} webhooks."), n=MAX_SUBSCRIPTIONS)
    secret = new_secret()
    sub = WebhookSubscription(
        shop_id=actor.shop_id, url=body.url, description=body.description, topics=body.topics,
        secret_enc=keyring.encrypt(secret.encode(), SECRET_CONTEXT), created_by=actor.staff_id,
        enabled=body.enabled, active_from_seq=_head(session, actor.shop_id),
    )  # fmt: skip
    session.add(sub)
    if body.enabled:
        follow(session, NAME, actor.shop_id)
    session.flush()
    _audit(session, actor, "webhook.created", sub, topics=body.topics)
    return sub, secret


def do_update(
    session: Session, actor: Actor, sub: WebhookSubscription, body: SubscriptionUpdate, *, allow_private: bool
) -> WebhookSubscription:
    if body.version is not None and body.version != sub.version:
        raise Conflict(
            "webhook.version_conflict",
            N_("Someone else changed this webhook meanwhile. Reload it and try again."),
            details={"current_version": sub.version, "your_version": body.version},
        )
    if body.url != sub.url:
        ssrf.check_target(body.url, allow_private=allow_private)
    was_on = sub.enabled
    sub.url, sub.description, sub.topics = body.url, body.description, body.topics
    if body.enabled and not was_on:
        _switched_on(session, sub)
    elif not body.enabled and was_on:
        switched_off(session, sub, None)
    sub.updated_at = clock.now()
    session.flush()
    _audit(session, actor, "webhook.changed", sub, enabled=body.enabled, topics=body.topics)
    return sub


def switched_off(session: Session, sub: WebhookSubscription, reason: str | None) -> None:
    """Off: what waits to be sent to it is given up (it would reach an endpoint nobody wants)."""
    sub.enabled, sub.disabled_reason = False, reason
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == sub.id, WebhookDelivery.status.in_((PENDING, SENDING)))
        .values(status=DEAD, last_error="subscription switched off")
    )


def do_delete(session: Session, actor: Actor, sub: WebhookSubscription) -> None:
    _audit(session, actor, "webhook.deleted", sub)
    session.delete(sub)  # its deliveries and their attempts go with it (ON DELETE CASCADE)


def do_rotate_secret(session: Session, keyring: Keyring, actor: Actor, sub: WebhookSubscription) -> str:
    """A new secret, at once: what is sent from now on is signed with it. Written past the ORM's
    version: the edit form does not hold the secret, so a form open meanwhile is not stale."""
    secret = new_secret()
    table = WebhookSubscription.__table__
    session.execute(
        update(table)
        .where(table.c.id == sub.id)
        .values(secret_enc=keyring.encrypt(secret.encode(), SECRET_CONTEXT), updated_at=clock.now())
    )
    _audit(session, actor, "webhook.secret_rotated", sub)
    return secret


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def queue_event(
    session: Session,
    sub: WebhookSubscription,
    event: EventLogEntry,
    slug: str,
    *,
    key: str,
    rule: dict[str, Any] | None = None,
) -> bool:
    """Queue ``event`` for ``sub`` once under ``key`` (a second call with the same key, as after a
    crash re-delivers the event to the consumer, adds nothing); returns whether it was added."""
    payload = event_payload(event, slug, rule=rule)
    values = dict(
        shop_id=sub.shop_id, subscription_id=sub.id, dedupe_key=key, event_seq=event.seq,
        event_id=payload["id"], event_type=event.type, rule_id=(rule or {}).get("id"), payload=payload,
        status=PENDING, attempts=0, next_attempt_at=clock.now(), created_at=clock.now(),
    )  # fmt: skip
    statement = (
        _insert(session)(WebhookDelivery)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["subscription_id", "dedupe_key"])
        .returning(WebhookDelivery.id)
    )
    return session.execute(statement).first() is not None


def do_ping(session: Session, sub: WebhookSubscription) -> WebhookDelivery:
    """A ``ping`` event for the endpoint to answer (the first thing to try on a new receiver)."""
    slug = session.scalar(select(Shop.slug).where(Shop.id == sub.shop_id))
    token = secrets.token_hex(8)
    payload = {
        "id": f"evt_ping_{token}", "api_version": 1, "type": "ping",
        "created_at": clock.now().isoformat().replace("+00:00", "Z"),
        "shop": {"id": sub.shop_id, "slug": slug}, "seq": None, "entity": None, "data": {},
    }  # fmt: skip
    return _add(session, sub, payload, event_seq=None)


def _add(
    session: Session, sub: WebhookSubscription, payload: dict[str, Any], **values: Any
) -> WebhookDelivery:
    delivery = WebhookDelivery(
        shop_id=sub.shop_id, subscription_id=sub.id, event_id=payload["id"], event_type=payload["type"],
        payload=payload, status=PENDING, attempts=0, next_attempt_at=clock.now(), **values,
    )  # fmt: skip
    session.add(delivery)
    session.flush()
    return delivery


def check_enabled(sub: WebhookSubscription) -> None:
    if not sub.enabled:
        raise Conflict("webhook.disabled", N_("Switch the webhook on before sending to it."))


def do_redeliver(session: Session, original: WebhookDelivery) -> WebhookDelivery:
    """The same event (same id and body) again, as a new delivery with its own tries."""
    sub = session.get(WebhookSubscription, original.subscription_id)
    check_enabled(sub)
    return _add(
        session, sub, original.payload, event_seq=original.event_seq, rule_id=original.rule_id,
        redelivery_of=original.id,
    )  # fmt: skip


def access_delivery(session: Session, shop_id: int, delivery_id: int) -> WebhookDelivery:
    delivery = session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id, WebhookDelivery.shop_id == shop_id)
    )
    if delivery is None:
        raise NotFound("webhook.delivery_not_found", N_("No such delivery."))
    return delivery


def deliveries_of(
    session: Session, shop_id: int, sub_id: int, *, before_id: int | None = None
) -> list[WebhookDelivery]:
    stmt = select(WebhookDelivery).where(
        WebhookDelivery.shop_id == shop_id, WebhookDelivery.subscription_id == sub_id
    )
    if before_id is not None:
        stmt = stmt.where(WebhookDelivery.id < before_id)
    return list(session.scalars(stmt.order_by(WebhookDelivery.id.desc()).limit(PAGE)))


def attempts_of(session: Session, delivery: WebhookDelivery) -> list[WebhookAttempt]:
    return list(
        session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery.id)
            .order_by(WebhookAttempt.id)
        )
    )
