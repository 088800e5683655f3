"""The rules engine: a consumer of the event log (jobs/consumers.py) that runs each shop's rules
on the events that trigger them, in the unit that advances its cursor.

For an event, the enabled rules whose trigger it is (and switched on before it) each get a run:
``depth_limit`` when the event was itself made by a rule acting at ``MAX_DEPTH``; ``not_matched``
when the conditions fail; otherwise each action in turn, each in a savepoint behind its effect key
(rule, event, action), as the shop's automation (timeline: 自动化：<rule name>). An action that is
refused (the order moved on, a step the workflow closed: a 4xx) is logged with its code and not
retried; any other failure is retried by a job with backoff and, once out of tries, logged as
failed. Refused and failed runs tell the members who manage automation, one notification per rule
while unread.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.auth.scope import Scope
from shangliao.automation import actions as acts
from shangliao.automation.conditions import met
from shangliao.automation.models import AutomationRule, AutomationRun
from shangliao.automation.schemas import Action, Conditions, TriggerParams
from shangliao.chat.models import Conversation, Message
from shangliao.core import clock
from shangliao.core.errors import ShangliaoError
from shangliao.events.log import AUTOMATION_DEPTH
from shangliao.events.models import EventLogEntry
from shangliao.jobs import queue
from shangliao.jobs.consumers import consumer, once
from shangliao.jobs.models import Job
from shangliao.notifications import service as notifications
from shangliao.orders.models import Order
from shangliao.replies.variables import current_order
from shangliao.shops.models import Shop

log = logging.getLogger(__name__)

NAME = "rules"
MAX_DEPTH = 3
RETRY_TRIES = 6
STATUSES = ("pending", "confirmed", "preparing", "shipped", "completed", "cancelled")
_ACTION = TypeAdapter(Action)


def triggers_of(event: EventLogEntry) -> set[str]:
    """The triggers an event fires (by its type and the few facts its data carries)."""
    kind, data = event.type, event.data or {}
    fired: set[str] = set()
    if (kind == "order.created" and data.get("status") != "draft") or kind == "order.pending":
        fired |= {"order_created", "order_status"}
    elif kind.startswith("order.") and kind[6:] in STATUSES:
        fired.add("order_status")
    fired |= {
        "order.paid": {"order_paid"},
        "order.shipped": {"order_shipped"},
        "order.cancelled": {"order_cancelled"},
        "stock.low": {"stock_low"},
    }.get(kind, set())
    if kind == "order.aftersale" and data.get("step") == "requested":
        fired.add("aftersale_opened")
    if kind == "message.created" and data.get("sender_type") == "customer":
        fired.add("message_received")
    return fired


def _entered(event: EventLogEntry) -> str | None:
    if event.type == "order.created":
        return (event.data or {}).get("status")
    return event.type[6:] if event.type.startswith("order.") else None


def params_hold(session: Session, rule: AutomationRule, event: EventLogEntry) -> bool:
    params = TriggerParams.model_validate(rule.trigger_params or {})
    if rule.trigger == "order_status":
        return _entered(event) == params.status
    if rule.trigger == "message_received" and params.keywords:
        body = session.scalar(select(Message.body).where(Message.id == event.entity_id)) or ""
        return any(word.lower() in body.lower() for word in params.keywords)
    return True


def order_of(session: Session, event: EventLogEntry, *, lock: bool = True) -> Order | None:
    """The order an event is about: its own, or for a customer's message their current one."""
    if event.entity_type == "order" and event.entity_id is not None:
        stmt = select(Order).where(Order.id == event.entity_id, Order.shop_id == event.shop_id)
        return session.scalar(stmt.with_for_update() if lock else stmt)
    if event.type == "message.created":
        customer_id = session.scalar(
            select(Conversation.customer_id).where(
                Conversation.id == (event.data or {}).get("conversation_id"),
                Conversation.shop_id == event.shop_id,
            )
        )
        if customer_id is not None:
            return current_order(session, Scope.whole_shop(event.shop_id), customer_id)
    return None


def _conversation_of(event: EventLogEntry) -> int | None:
    """The conversation a message event happened in (a reply goes there, order or not)."""
    return (event.data or {}).get("conversation_id") if event.type == "message.created" else None


def rules_fired(session: Session, event: EventLogEntry) -> list[AutomationRule]:
    """The shop's enabled rules this event triggers (switched on before it)."""
    fired = triggers_of(event)
    if not fired:
        return []
    rules = [
        r
        for r in _enabled_rules(session, event.shop_id)
        if r.trigger in fired and r.active_from_seq < event.seq
    ]
    return [r for r in rules if params_hold(session, r, event)]


def _enabled_rules(session: Session, shop_id: int) -> list[AutomationRule]:
    """Read once per unit of work (a consumer's batch reads the shop's rules once, not per event)."""
    cache = session.info.setdefault("automation_rules", {})
    if shop_id not in cache:
        cache[shop_id] = session.scalars(
            select(AutomationRule)
            .where(
                AutomationRule.shop_id == shop_id,
                AutomationRule.enabled.is_(True),
                AutomationRule.deleted_at.is_(None),
            )
            .order_by(AutomationRule.id)
        ).all()
    return cache[shop_id]


def _timezone(session: Session, shop_id: int) -> str:
    cache = session.info.setdefault("automation_timezones", {})
    if shop_id not in cache:
        cache[shop_id] = session.scalar(select(Shop.timezone).where(Shop.id == shop_id)) or "Asia/Shanghai"
    return cache[shop_id]


@consumer(NAME)
def handle(session: Session, event: EventLogEntry, rt) -> None:
    rules = rules_fired(session, event)
    if not rules:
        return
    order = order_of(session, event)
    timezone = _timezone(session, event.shop_id)
    for rule in rules:
        delay = TriggerParams.model_validate(rule.trigger_params or {}).delay_minutes
        if delay:  # its conditions are asked then, of the order as it is then
            queue.enqueue(
                session, DELAYED, {"rule_id": rule.id, "seq": event.seq}, shop_id=event.shop_id,
                due_at=event.created_at + timedelta(minutes=delay), key=f"rules:delay:{rule.id}:{event.seq}",
                max_attempts=RETRY_TRIES,
            )  # fmt: skip
            continue
        run_rule(session, rt.keyring, rule, event, order, timezone)


def run_rule(
    session: Session, keyring, rule: AutomationRule, event: EventLogEntry, order: Order | None, timezone: str
) -> AutomationRun:
    """The rule's run on ``event``: its conditions, then each action; logged, retries queued,
    managers told of a refusal."""
    depth = int((event.data or {}).get("auto") or 0)
    run = AutomationRun(
        shop_id=event.shop_id, rule_id=rule.id, event_seq=event.seq, event_type=event.type,
        entity_type=event.entity_type, entity_id=event.entity_id, order_id=order.id if order else None,
        depth=depth, matched=False, outcome="not_matched", actions=[],
    )  # fmt: skip
    session.add(run)
    if depth >= MAX_DEPTH:
        run.outcome = "depth_limit"
        return run
    conditions = Conditions.model_validate(rule.conditions or {})
    if not met(session, keyring, conditions, order, event.created_at, timezone):
        return run
    run.matched = True
    ctx = acts.Acting(
        session, keyring, Actor.automation(event.shop_id, rule.name, timezone), rule.id, rule.name,
        event.seq, order, _conversation_of(event), event,
    )  # fmt: skip
    run.actions = [_act(ctx, i, spec, depth) for i, spec in enumerate(rule.actions)]
    run.outcome = outcome_of(run.actions)
    session.flush()
    for i, result in enumerate(run.actions):
        if result["outcome"] == "retrying":
            queue.enqueue(
                session, RETRY, {"run_id": run.id, "index": i}, shop_id=event.shop_id,
                due_at=clock.now() + queue.backoff(1), key=f"rules:retry:{run.id}:{i}", max_attempts=RETRY_TRIES,
            )  # fmt: skip
    if run.outcome in ("refused", "partial"):
        tell_managers(session, event.shop_id, rule, order)
    return run


def _act(ctx: acts.Acting, index: int, spec: dict[str, Any], depth: int) -> dict[str, Any]:
    """One action in its savepoint, behind its effect key; what became of it."""
    action = _ACTION.validate_python(spec)
    result: dict[str, Any] = {"kind": action.kind, "outcome": "done"}
    ctx.session.info[AUTOMATION_DEPTH] = depth + 1
    try:
        with ctx.session.begin_nested():
            if once(ctx.session, ctx.actor.shop_id, NAME, ctx.event_seq, f"r{ctx.rule_id}.a{index}"):
                acts.apply(ctx, index, action)
    except ShangliaoError as exc:
        if exc.status < 500:
            result.update(outcome="refused", code=exc.code)
        else:
            result.update(outcome="retrying", code=exc.code)
    except Exception as exc:  # anything else may pass: tried again by a job
        log.warning("rule %s, event %s, action %d failed: %r", ctx.rule_id, ctx.event_seq, index, exc)
        result.update(outcome="retrying", error=type(exc).__name__)
    finally:
        ctx.session.info.pop(AUTOMATION_DEPTH, None)
    return result


def outcome_of(results: list[dict[str, Any]]) -> str:
    outcomes = {r["outcome"] for r in results}
    for worst in ("failed", "retrying"):
        if worst in outcomes:
            return worst
    if "refused" in outcomes:
        return "partial" if "done" in outcomes else "refused"
    return "done"


def tell_managers(session: Session, shop_id: int, rule: AutomationRule, order: Order | None) -> None:
    """Tell who manages automation that a rule could not act: one unread note per rule, counted."""
    target = ("automation_rule", rule.id)
    for staff_id in notifications.recipients(session, shop_id, "automation_failed", scoped=False):
        if not notifications.add_to_unread(session, staff_id, "automation_failed", *target):
            notifications.notify(
                session, shop_id, [staff_id], "automation_failed", *target,
                {"rule": rule.name, **({"number": order.number} if order else {})},
            )  # fmt: skip


RETRY = "automation.retry"
DELAYED = "automation.delayed"


def _event(session: Session, shop_id: int, seq: int) -> EventLogEntry | None:
    return session.scalar(
        select(EventLogEntry).where(EventLogEntry.shop_id == shop_id, EventLogEntry.seq == seq)
    )


@queue.handler(DELAYED, with_runtime=True)
def delayed(session: Session, job: Job, rt) -> None:
    """A delayed rule's turn: run it now on the event, if the rule is still on."""
    rule = session.get(AutomationRule, job.payload["rule_id"])
    event = _event(session, job.shop_id, job.payload["seq"])
    if rule is None or event is None or not rule.enabled or rule.deleted_at is not None:
        return
    run_rule(session, rt.keyring, rule, event, order_of(session, event), _timezone(session, job.shop_id))


@queue.handler(RETRY, with_runtime=True)
def retry(session: Session, job: Job, rt) -> None:
    """Try a failed action again; out of tries, the run shows it failed and the managers are told."""
    run = session.get(AutomationRun, job.payload["run_id"])
    rule = session.get(AutomationRule, run.rule_id)
    index = int(job.payload["index"])
    event = _event(session, run.shop_id, run.event_seq)
    order = order_of(session, event) if event is not None else None
    timezone = _timezone(session, run.shop_id)
    ctx = acts.Acting(
        session, rt.keyring, Actor.automation(run.shop_id, rule.name, timezone), rule.id, rule.name,
        run.event_seq, order, _conversation_of(event) if event is not None else None, event,
    )  # fmt: skip
    result = _act(ctx, index, rule.actions[index], run.depth)
    last_try = job.attempts >= job.max_attempts
    if result["outcome"] == "retrying" and not last_try:
        raise RuntimeError(result.get("error") or result.get("code") or "the action failed again")
    if result["outcome"] == "retrying":
        result["outcome"] = "failed"
    result["attempts"] = job.attempts + 1
    run.actions = [*run.actions[:index], result, *run.actions[index + 1 :]]
    run.outcome = outcome_of(run.actions)
    if result["outcome"] != "done":
        tell_managers(session, run.shop_id, rule, order)
