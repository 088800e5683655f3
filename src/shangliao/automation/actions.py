"""What a rule does, each action through the same step a person takes (so stock, timeline,
events and notifications follow as usual), acting as the shop's automation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.assignment import round_robin
from shangliao.auth.actor import Actor
from shangliao.auth.models import Staff
from shangliao.auth.scope import Scope
from shangliao.automation.schemas import (
    AssignAction,
    MessageAction,
    NoteAction,
    NotifyAction,
    ReplyAction,
    StatusAction,
    TagAction,
    WebhookAction,
)
from shangliao.chat import service as chat
from shangliao.chat.checkpoints import do_send_checkpoint, ensure_conversation
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_
from shangliao.events.models import EventLogEntry
from shangliao.notifications import service as notifications
from shangliao.orders import actions as orders
from shangliao.orders.models import Order
from shangliao.replies.service import access_template, render
from shangliao.replies.variables import values_for
from shangliao.shops.models import Shop
from shangliao.webhooks.models import WebhookSubscription
from shangliao.webhooks.service import queue_event


@dataclass(frozen=True)
class Acting:
    """Who acts and on what: the rule (as the shop's automation), the event it reacts to."""

    session: Session
    keyring: Keyring
    actor: Actor
    rule_id: int
    rule_name: str
    event_seq: int
    order: Order | None
    conversation_id: int | None = None  # the conversation a message trigger came from
    event: EventLogEntry | None = None


def apply(ctx: Acting, index: int, action) -> None:
    """Carry out ``action`` (the rule's ``index``-th); a refusal raises ``ShangliaoError``."""
    if isinstance(action, NotifyAction):
        _notify(ctx, action)
        return
    if isinstance(action, ReplyAction):
        _reply(ctx, index, action)
        return
    if isinstance(action, WebhookAction):
        _webhook(ctx, index, action)
        return
    order = ctx.order
    if order is None:
        raise Invalid("rule.no_order", N_("This event has no order to act on."))
    session, actor = ctx.session, ctx.actor
    if isinstance(action, StatusAction):
        params = {"reason": action.reason} if action.action == "cancel" else {}
        orders.do_transition(session, actor, order, action.action, params)
    elif isinstance(action, TagAction):
        orders.do_tag(session, actor, order, [action.tag], [])
    elif isinstance(action, NoteAction):
        orders.do_add_note(session, actor, order, action.text)
    elif isinstance(action, MessageAction):
        do_send_checkpoint(session, ctx.keyring, actor, order, action.message)
    elif isinstance(action, AssignAction):
        assignee = action.assignee_id
        if action.round_robin:
            assignee = round_robin.pick(session, order.shop_id, "order", forced=True)
            if assignee is None:
                raise Invalid("rule.nobody_online", N_("Nobody who could take it is online."))
        orders.do_assign(session, actor, order, assignee)
    else:
        raise TypeError(f"unknown action {action!r}")


def _reply(ctx: Acting, index: int, action: ReplyAction) -> None:
    """The quick reply, its variables filled, to the customer: in the conversation the message
    came in, else the order's (opened for its customer the first time)."""
    session, shop_id, order = ctx.session, ctx.actor.shop_id, ctx.order
    template = access_template(session, shop_id, action.template_id)
    conversation_id = ctx.conversation_id
    if conversation_id is None:
        if order is None or order.customer_id is None:
            raise Invalid("rule.no_customer", N_("There is no customer to write to."))
        conversation_id = ensure_conversation(session, order)
    conversation = chat.access_conversation(session, Scope.whole_shop(shop_id), conversation_id)
    values, _ = values_for(session, Scope.whole_shop(shop_id), conversation, order.id if order else None)
    rendered = render(template.body, values)
    if rendered.missing:
        raise Invalid(
            "rule.reply_missing_variables",
            N_("The quick reply needs values this order does not have: {names}."),
            names="、".join(rendered.missing),
            details={"missing": rendered.missing},
        )
    chat.do_send(
        session, ctx.keyring, shop_id, conversation_id, sender_type="staff", sender_id=None, kind="text",
        body=rendered.text, client_id=f"auto:{ctx.rule_id}:{ctx.event_seq}:{index}",
    )  # fmt: skip


def _notify(ctx: Acting, action: NotifyAction) -> None:
    session, shop_id = ctx.session, ctx.actor.shop_id
    active = set(
        session.scalars(
            select(Staff.id).where(
                Staff.shop_id == shop_id, Staff.id.in_(action.staff_ids), Staff.active.is_(True)
            )
        )
    )
    told = [i for i in action.staff_ids if i in active]
    target_type, target_id = ("order", ctx.order.id) if ctx.order is not None else ("rule", ctx.rule_id)
    data = {"rule": ctx.rule_name, **({"number": ctx.order.number} if ctx.order is not None else {})}
    notifications.notify(session, shop_id, told, "automation", target_type, target_id, data)


def _webhook(ctx: Acting, index: int, action: WebhookAction) -> None:
    """The event, queued for the webhook (sent by the worker, signed and retried like any other)."""
    session, shop_id = ctx.session, ctx.actor.shop_id
    sub = session.get(WebhookSubscription, action.webhook_id)
    if sub is None or sub.shop_id != shop_id or not sub.enabled or ctx.event is None:
        raise Invalid("rule.webhook_off", N_("The rule's webhook is deleted or switched off."))
    slug = session.scalar(select(Shop.slug).where(Shop.id == shop_id)) or ""
    queue_event(
        session, sub, ctx.event, slug, key=f"e{ctx.event_seq}.r{ctx.rule_id}.a{index}",
        rule={"id": ctx.rule_id, "name": ctx.rule_name},
    )  # fmt: skip
