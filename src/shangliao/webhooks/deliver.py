"""Sending due webhook deliveries, outside any transaction, and recording what came of them.

A send runs in three steps: a short unit claims as many due deliveries as go out at once
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and takes a lease on each (status ``sending``,
``next_attempt_at`` moved to the lease's end, the try counted); the POSTs go out together with no
transaction open; each outcome is then recorded in a short unit of its own (the subscription
locked before the delivery, the order the API's edits and deletes take). A worker that dies
between the two leaves the lease to run out, and the delivery is sent again with the same event
id: at least once on the wire, which is why receivers deduplicate by ``id`` (docs/webhooks.md).
Connections are never reused: two hosts behind one address must each have their certificate
checked against their own name.

A 2xx is success; anything else (a redirect too: none is followed) is retried after 1, 2, 5, 10
and 30 minutes, then 1, 2, 4 and 8 hours, then every 8 hours, each ±20 %, until the delivery is a
day old: then it is dead. A subscription failing for ``webhook_disable_after_days`` with no success
is switched off, the change audited and the managers told.
"""

from __future__ import annotations

import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from shangliao.audit.log import record_audit
from shangliao.core import clock
from shangliao.core.errors import ShangliaoError
from shangliao.core.signing import sign
from shangliao.notifications import service as notifications
from shangliao.runtime import Runtime
from shangliao.webhooks import ssrf
from shangliao.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from shangliao.webhooks.payload import body_of
from shangliao.webhooks.service import DEAD, PENDING, SENDING, SUCCEEDED, secret_of, switched_off

log = logging.getLogger(__name__)

RETRY_MINUTES = (1, 2, 5, 10, 30, 60, 120, 240, 480)  # then every 480
GIVE_UP_AFTER = timedelta(hours=24)
KEEP_FOR = timedelta(days=30)
READ_AT_MOST = 4096  # of a response: enough to finish the exchange, none of it kept
USER_AGENT = "Shangliao-Webhooks/1"


@dataclass(frozen=True)
class Send:
    """What a send needs, read under the lease (no ORM object crosses into the sending threads)."""

    delivery_id: int
    subscription_id: int
    url: str
    secret: str
    payload: dict[str, Any]
    attempt: int


@dataclass(frozen=True)
class Outcome:
    status: int | None
    duration_ms: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try."""
    minutes = RETRY_MINUTES[min(attempts, len(RETRY_MINUTES)) - 1]
    return timedelta(minutes=minutes) * random.uniform(0.8, 1.2)


def lease(rt: Runtime) -> timedelta:
    """Long enough for one send: the timeout bounds each phase (connect, write, each read), so a
    receiver that trickles its answer may take a few of them; DNS has no timeout of ours."""
    return timedelta(seconds=6 * rt.settings.webhook_timeout + 10)


def _due():
    return (
        select(WebhookDelivery.id)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.status.in_((PENDING, SENDING)),
            WebhookDelivery.next_attempt_at <= clock.now(),
            WebhookSubscription.enabled.is_(True),
        )
    )


def anything_due(rt: Runtime) -> bool:
    with rt.db.snapshot() as conn:
        return conn.execute(_due().limit(1)).first() is not None


def claim(rt: Runtime, limit: int) -> list[Send]:
    """Lease up to ``limit`` due deliveries (pending, or sending with a lease run out). One whose
    secret cannot be read (a key missing from the ring) is dead at once, not retried for a day."""
    with rt.db.write() as session:
        ids = list(
            session.scalars(
                _due()
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit)
                .with_for_update(of=WebhookDelivery, skip_locked=True)
            )
        )
        sends = []
        for delivery in session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(ids))):
            sub = session.get(WebhookSubscription, delivery.subscription_id)
            try:
                secret = secret_of(rt.keyring, sub)
            except Exception as exc:
                log.error("webhook %s: its secret cannot be read (%s)", sub.id, type(exc).__name__)
                delivery.status, delivery.last_error = DEAD, "secret_unreadable"
                continue
            delivery.status, delivery.attempts = SENDING, delivery.attempts + 1
            delivery.next_attempt_at = clock.now() + lease(rt)
            sends.append(Send(delivery.id, sub.id, sub.url, secret, delivery.payload, delivery.attempts))
        return sends


def post(client: httpx.Client, send: Send, *, allow_private: bool) -> Outcome:
    """One POST to the vetted address of the subscription's URL (checked again now)."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = ssrf.check_target(send.url, allow_private=allow_private)
    except ShangliaoError as exc:
        return Outcome(None, took(), exc.code)
    body = body_of(send.payload, send.delivery_id, send.attempt)
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Shangliao-Signature": sign(send.secret, int(clock.now().timestamp()), body),
        "X-Shangliao-Event": send.payload["type"],
        "X-Shangliao-Event-Id": send.payload["id"],
        "X-Shangliao-Delivery": str(send.delivery_id),
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        with client.stream(
            "POST", target.connect_url, content=body, headers=headers, extensions=extensions
        ) as response:
            read = 0
            for chunk in response.iter_raw():
                read += len(chunk)
                if read >= READ_AT_MOST:
                    break
            return Outcome(response.status_code, took())
    except httpx.TimeoutException:
        return Outcome(None, took(), "timeout")
    except Exception as exc:  # whatever the URL or the peer did, it is this try's failure only
        return Outcome(None, took(), f"{type(exc).__name__}: {exc}"[:300])


def record(session: Session, rt: Runtime, send: Send, outcome: Outcome) -> None:
    """The try's row, and the delivery's and subscription's state after it."""
    subs = WebhookSubscription.__table__
    # The subscription first (FOR NO KEY UPDATE: the consumer's inserts only share its key), then
    # the delivery: the order an edit or a delete of the subscription locks them in.
    found = session.execute(
        select(subs.c.enabled, subs.c.failing_since)
        .where(subs.c.id == send.subscription_id)
        .with_for_update(key_share=True)
    ).first()
    delivery = session.get(WebhookDelivery, send.delivery_id, with_for_update=True)
    if found is None or delivery is None:  # the subscription was deleted meanwhile
        return
    enabled, failing_since = found
    now = clock.now()
    session.add(
        WebhookAttempt(
            shop_id=delivery.shop_id, delivery_id=delivery.id, at=now, status=outcome.status,
            duration_ms=outcome.duration_ms, error=outcome.error,
        )
    )  # fmt: skip
    if delivery.status != SENDING or delivery.attempts != send.attempt:
        return  # the lease ran out and another try has it, or the subscription was switched off
    delivery.last_status, delivery.last_duration_ms, delivery.last_error = (
        outcome.status, outcome.duration_ms, outcome.error,
    )  # fmt: skip
    # The subscription's bookkeeping is written past the ORM: it is not a change of the
    # subscription's, and must not move the version a member's edit is checked against.
    mark = update(subs).where(subs.c.id == send.subscription_id)
    if outcome.ok:
        delivery.status, delivery.delivered_at = SUCCEEDED, now
        session.execute(mark.values(last_success_at=now, failing_since=None))
        return
    after = now + retry_delay(delivery.attempts)
    if after - delivery.created_at > GIVE_UP_AFTER:
        delivery.status = DEAD
    else:
        delivery.status, delivery.next_attempt_at = PENDING, after
    if failing_since is None:
        session.execute(mark.values(failing_since=now))
    elif enabled and now - failing_since >= timedelta(days=rt.settings.webhook_disable_after_days):
        _disable(
            session,
            session.get(WebhookSubscription, delivery.subscription_id),
            rt.settings.webhook_disable_after_days,
        )


def _disable(session: Session, sub: WebhookSubscription, days: int) -> None:
    switched_off(session, sub, "failing")
    record_audit(
        session, sub.shop_id, "webhook.disabled", actor_type="system", target_type="webhook",
        target_id=sub.id, data={"url": sub.url, "days": days},
    )  # fmt: skip
    told = notifications.recipients(session, sub.shop_id, "webhook_disabled", scoped=False)
    notifications.notify(
        session, sub.shop_id, told, "webhook_disabled", "webhook", sub.id, {"url": sub.url[:80], "days": days}
    )


def send_due(rt: Runtime) -> int:
    """Send one batch of due deliveries (as many as go out at once); returns how many were tried."""
    if not anything_due(rt):
        return 0
    settings = rt.settings
    sends = claim(rt, settings.webhook_concurrency)
    if not sends:
        return 0
    client = httpx.Client(
        timeout=httpx.Timeout(settings.webhook_timeout),
        follow_redirects=False,
        trust_env=False,  # HTTP(S)_PROXY would send it elsewhere than the address checked
        limits=httpx.Limits(max_keepalive_connections=0),
    )
    with client, ThreadPoolExecutor(len(sends)) as pool:
        outcomes = list(
            pool.map(lambda s: post(client, s, allow_private=settings.webhook_allow_private), sends)
        )
    for send, outcome in zip(sends, outcomes, strict=True):
        try:
            with rt.db.write() as session:
                record(session, rt, send, outcome)
        except Exception:  # its lease runs out and it is tried again; the others are recorded
            log.exception("recording webhook delivery %s failed", send.delivery_id)
    return len(sends)


def prune(rt: Runtime) -> int:
    """Forget tries, and finished deliveries, older than ``KEEP_FOR``."""
    cutoff = clock.now() - KEEP_FOR
    with rt.db.write() as session:
        gone = session.execute(delete(WebhookAttempt).where(WebhookAttempt.at < cutoff)).rowcount or 0
        gone += (
            session.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.status.in_((SUCCEEDED, DEAD)), WebhookDelivery.created_at < cutoff
                )
            ).rowcount
            or 0
        )
        return gone
