"""Making, listing and reading notifications, and each member's preferences.

Notifications are made in the transaction of the change they tell of (``triggers.py`` watches
the event log's rows; assignment calls :func:`notify` itself, as only it knows who assigned), and
each one records a ``notification.created`` event carrying its ``staff_id``: the staff socket of
that member alone is shown it (realtime/feed.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select, update
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.auth.scope import within_scope
from shangliao.chat.models import Conversation
from shangliao.core import clock
from shangliao.core.errors import NotFound
from shangliao.core.i18n import N_
from shangliao.events import log
from shangliao.events.log import DomainEvent
from shangliao.notifications.audience import AUDIENCE, Audience, Preferences, audience
from shangliao.notifications.models import Notification, NotificationPreference
from shangliao.orders.models import Order
from shangliao.orders.state import Status
from shangliao.storage.hooks import after_commit

CREATED = "notification.created"

# Each kind: its label in the preferences form, and what a member must hold to be told of it.
KINDS: dict[str, tuple[str, str]] = {
    "order_new": (N_("New pending order"), "orders.read"),
    "order_assigned": (N_("An order is assigned to me"), "orders.read"),
    "conversation_assigned": (N_("A conversation is assigned to me"), "chat.read"),
    "message": (N_("New message in my conversations"), "chat.read"),
    "payment": (N_("Payment recorded"), "orders.read"),
    "payment_proof": (N_("A customer sent a payment proof"), "payments.record"),
    "low_stock": (N_("Low stock"), "catalog.read"),
    "order_status": (N_("An order reaches a status I follow"), "orders.read"),
    "payment_alert": (N_("A payment notification needs a look"), "payments.record"),
    "invoice_requested": (N_("An invoice is requested"), "invoices.manage"),
    "automation": (N_("An automation rule tells me"), "orders.read"),
    "automation_failed": (N_("An automation rule could not act"), "automation.manage"),
    "webhook_disabled": (N_("A webhook is switched off after failing"), "automation.manage"),
}
# The statuses a member may follow (a draft is nobody's news; pending is "order_new").
FOLLOWABLE = tuple(s.value for s in Status if s not in (Status.DRAFT, Status.PENDING))

_note = Notification.__table__
# One statement for every member told (insertmanyvalues), ids back in the order given.
_INSERT = insert(_note).returning(_note.c.id, _note.c.staff_id, sort_by_parameter_order=True)


def preferences_of(session: Session, shop_id: int, staff_ids: Iterable[int]) -> dict[int, Preferences]:
    """Each member's preferences (the defaults for one who never chose)."""
    ids = list(staff_ids)
    found = (
        {
            row.staff_id: Preferences(frozenset(row.muted or ()), frozenset(row.statuses or ()))
            for row in session.scalars(
                select(NotificationPreference).where(
                    NotificationPreference.shop_id == shop_id, NotificationPreference.staff_id.in_(ids)
                )
            )
        }
        if ids
        else {}
    )
    return {i: found.get(i, Preferences()) for i in ids}


def recipients(
    session: Session,
    shop_id: int,
    kind: str,
    *,
    assignee_id: int | None = None,
    scoped: bool = True,
    status: str | None = None,
    only: Iterable[int] | None = None,
    among: Audience | None = None,
) -> list[int]:
    """Who is told of ``kind``: active members holding its permission, who may see the row
    (``scoped``: an order or conversation assigned to ``assignee_id``), and who did not mute it.
    ``among``: the shop's :func:`audience` already read (one read for a batch of events)."""
    permission = KINDS[kind][1]
    pool = among if among is not None else audience(session, shop_id, only)
    return [
        m.id
        for m, prefs in pool
        if (m.may_see(permission, assignee_id) if scoped else m.may_take(permission))
        and prefs.wants(kind, status)
    ]


def new_order_recipients(session: Session, shop_id: int, assignee_id: int | None) -> list[int]:
    """Who is told of a new pending order assigned to ``assignee_id``: on the order's hot path, so
    from the shop's cached audience (audience.py), and recorded with the order's own events."""
    return cached_recipients(session, shop_id, "order_new", assignee_id)


def cached_recipients(session: Session, shop_id: int, kind: str, assignee_id: int | None) -> list[int]:
    """:func:`recipients` of an order's ``kind`` from the shop's cached audience (audience.py): the
    hot paths, a new pending order and a payment (orders/create.py, payments/applied.py), whose
    notifications are numbered with their own events."""
    return recipients(session, shop_id, kind, assignee_id=assignee_id, among=AUDIENCE.get(session, shop_id))


def notify(
    session: Session,
    shop_id: int,
    staff_ids: Iterable[int],
    kind: str,
    target_type: str,
    target_id: int,
    data: dict[str, Any] | None = None,
) -> list[int]:
    """One notification for each member of ``staff_ids`` (already chosen by :func:`recipients`),
    with its ``notification.created`` event; returns their ids. ``data``: no personal data."""
    events = insert_notes(session, shop_id, staff_ids, kind, target_type, target_id, data)
    log.record(session, shop_id, events)
    return [e.entity_id for e in events]


def insert_notes(
    session: Session,
    shop_id: int,
    staff_ids: Iterable[int],
    kind: str,
    target_type: str,
    target_id: int,
    data: dict[str, Any] | None = None,
) -> list[DomainEvent]:
    """:func:`notify`'s rows, without recording their events: the caller records them (a new
    order numbers them with its own, from one counter bump)."""
    ids = list(dict.fromkeys(staff_ids))
    if not ids:
        return []
    now = clock.now()
    data = data or {}
    rows = [
        {
            "shop_id": shop_id,
            "staff_id": staff_id,
            "kind": kind,
            "target_type": target_type,
            "target_id": target_id,
            "data": data,
            "count": 1,
            "created_at": now,
            "read_at": None,
        }
        for staff_id in ids
    ]
    return [
        DomainEvent(
            CREATED,
            "notification",
            row.id,
            {
                "staff_id": row.staff_id,
                "kind": kind,
                "target_type": target_type,
                "target_id": target_id,
                **data,
            },
        )
        for row in session.execute(_INSERT, rows)
    ]


def add_to_unread(session: Session, staff_id: int, kind: str, target_type: str, target_id: int) -> bool:
    """Count one more into the member's unread notification of this kind about this row, if
    there is one (new messages coalesce per conversation while unread)."""
    bumped = session.execute(
        update(Notification)
        .where(
            Notification.staff_id == staff_id,
            Notification.target_type == target_type,
            Notification.target_id == target_id,
            Notification.read_at.is_(None),
            Notification.kind == kind,
        )
        .values(count=Notification.count + 1, created_at=clock.now())
    )
    return bool(bumped.rowcount)


# --- the member's own ------------------------------------------------------------------------------


def _shown(actor: Actor) -> list[ColumnElement[bool]]:
    """Which of the member's notifications they may still be shown, checked as they are read: a
    notification was made for the grant the member held then, and a role, a narrowed token or an
    assignment may have changed since. Kinds whose permission the caller holds now (KINDS), and
    for an assigned-only member, orders and conversations still in their data scope."""
    kinds = [kind for kind, (_label, permission) in KINDS.items() if permission in actor.permissions]
    shown = [
        Notification.staff_id == actor.staff_id,
        Notification.shop_id == actor.shop_id,
        Notification.kind.in_(kinds),
    ]
    if actor.limited:
        for model, target_type in ((Order, "order"), (Conversation, "conversation")):
            in_scope = (
                select(model.id)
                .where(model.id == Notification.target_id, model.shop_id == actor.shop_id)
                .where(*within_scope(actor, model.assignee_id))
                .exists()
            )
            shown.append(or_(Notification.target_type != target_type, in_scope))
    return shown


def page(
    session: Session, actor: Actor, *, before_id: int | None, limit: int, unread: bool = False
) -> tuple[list[Notification], int | None]:
    """The member's notifications they may still be shown (:func:`_shown`), newest first,
    ``limit`` at a time (keyset on id)."""
    query = select(Notification).where(*_shown(actor))
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    rows = list(session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


def unread_count(session: Session, actor: Actor) -> int:
    return (
        session.scalar(
            select(func.count(Notification.id)).where(*_shown(actor), Notification.read_at.is_(None))
        )
        or 0
    )


def access_notification(session: Session, actor: Actor, notification_id: int) -> Notification:
    """The member's own notification; anyone else's (another member's, another shop's) is a 404."""
    found = session.scalar(
        select(Notification).where(
            Notification.id == notification_id,
            Notification.staff_id == actor.staff_id,
            Notification.shop_id == actor.shop_id,
        )
    )
    if found is None:
        raise NotFound("notification.not_found", N_("No such notification."))
    return found


def do_mark_read(session: Session, actor: Actor, ids: list[int] | None = None) -> int:
    """Mark the member's own notifications read (``ids``; all unread when None); returns how many
    changed. Another member's ids change nothing."""
    query = update(Notification).where(
        Notification.staff_id == actor.staff_id,
        Notification.shop_id == actor.shop_id,
        Notification.read_at.is_(None),
    )
    if ids is not None:
        if not ids:
            return 0
        query = query.where(Notification.id.in_(ids))
    return session.execute(query.values(read_at=clock.now())).rowcount or 0


def own_preferences(session: Session, actor: Actor) -> Preferences:
    return preferences_of(session, actor.shop_id, [actor.staff_id])[actor.staff_id]


def do_set_preferences(
    session: Session, actor: Actor, muted: Iterable[str], statuses: Iterable[str]
) -> Preferences:
    row = session.get(NotificationPreference, actor.staff_id)
    muted, statuses = sorted(set(muted)), sorted(set(statuses))
    if row is None:
        session.add(
            NotificationPreference(
                shop_id=actor.shop_id, staff_id=actor.staff_id, muted=muted, statuses=statuses
            )
        )
    else:
        row.muted, row.statuses = muted, statuses
    session.flush()
    shop_id = actor.shop_id
    after_commit(session, lambda: AUDIENCE.forget(shop_id))
    return Preferences(frozenset(muted), frozenset(statuses))
