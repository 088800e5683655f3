"""The ``webhooks`` consumer of the event log: each event of a topic a subscription hears becomes
one delivery row for it, in the unit that moves the cursor (jobs/consumers.py), so a crash
re-delivers the event and the row's key keeps it single. Nothing is sent here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.events.models import EventLogEntry
from shangliao.jobs.consumers import consumer
from shangliao.shops.models import Shop
from shangliao.webhooks.models import WebhookSubscription
from shangliao.webhooks.payload import topic_of
from shangliao.webhooks.service import NAME, queue_event


def listening(session: Session, shop_id: int) -> tuple[str, list[WebhookSubscription]]:
    """The shop's slug and switched-on subscriptions, read once per unit of work."""
    cache = session.info.setdefault("webhook_subscriptions", {})
    if shop_id not in cache:
        slug = session.scalar(select(Shop.slug).where(Shop.id == shop_id)) or ""
        subs = session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.shop_id == shop_id, WebhookSubscription.enabled.is_(True))
            .order_by(WebhookSubscription.id)
        ).all()
        cache[shop_id] = (slug, list(subs))
    return cache[shop_id]


@consumer(NAME)
def handle(session: Session, event: EventLogEntry, rt) -> None:
    topic = topic_of(event.type)
    if topic is None:
        return
    slug, subs = listening(session, event.shop_id)
    for sub in subs:
        if topic in sub.topics and sub.active_from_seq < event.seq:
            queue_event(session, sub, event, slug, key=f"e{event.seq}")
