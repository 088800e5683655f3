"""Making, changing and switching rules; reading their run log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.audit.log import record_audit
from shangliao.auth.access import check_permission
from shangliao.auth.actor import Actor
from shangliao.automation.engine import NAME
from shangliao.automation.models import AutomationRule, AutomationRun
from shangliao.automation.schemas import ACTION_PERMISSIONS, STATUS_PERMISSIONS, RuleIn
from shangliao.core import clock
from shangliao.core.errors import Conflict, NotFound
from shangliao.core.i18n import N_
from shangliao.jobs.consumers import follow
from shangliao.orders.timeline import check_version
from shangliao.shops.models import ShopCounter

MAX_RULES = 100
RUNS_PAGE = 50


def check_grants(actor: Actor, body: RuleIn) -> None:
    """Saving a rule needs every permission its actions use: nobody hands automation more than
    they hold themselves (a 403 naming the first one missing)."""
    for action in body.actions:
        if action.kind == "status":
            check_permission(actor, STATUS_PERMISSIONS[action.action])
        else:
            check_permission(actor, ACTION_PERMISSIONS[action.kind])


def access_rule(session: Session, actor: Actor, rule_id: int, *, lock: bool = False) -> AutomationRule:
    stmt = select(AutomationRule).where(
        AutomationRule.id == rule_id,
        AutomationRule.shop_id == actor.shop_id,
        AutomationRule.deleted_at.is_(None),
    )
    rule = session.scalar(stmt.with_for_update() if lock else stmt)
    if rule is None:
        raise NotFound("rule.not_found", N_("No such automation rule."))
    return rule


def rules_of(session: Session, shop_id: int) -> list[AutomationRule]:
    return list(
        session.scalars(
            select(AutomationRule)
            .where(AutomationRule.shop_id == shop_id, AutomationRule.deleted_at.is_(None))
            .order_by(AutomationRule.id)
        )
    )


def _switched_on(session: Session, rule: AutomationRule) -> None:
    """From now on: the rule acts on events after the shop's head, and the engine follows the shop."""
    rule.active_from_seq = (
        session.scalar(select(ShopCounter.event_seq).where(ShopCounter.shop_id == rule.shop_id)) or 0
    )
    follow(session, NAME, rule.shop_id)


def _fill(rule: AutomationRule, body: RuleIn) -> None:
    rule.name, rule.trigger = body.name, body.trigger
    rule.trigger_params = body.trigger_params.model_dump(exclude_defaults=True)
    rule.conditions = body.conditions.model_dump()
    rule.actions = [a.model_dump() for a in body.actions]
    rule.updated_at = clock.now()


def do_create_rule(
    session: Session, actor: Actor, body: RuleIn, *, preset_key: str | None = None
) -> AutomationRule:
    check_grants(actor, body)
    if len(rules_of(session, actor.shop_id)) >= MAX_RULES:
        raise Conflict("rule.too_many", N_("A shop can have at most {n} rules."), n=MAX_RULES)
    rule = AutomationRule(
        shop_id=actor.shop_id, enabled=body.enabled, preset_key=preset_key, created_by=actor.staff_id
    )
    _fill(rule, body)
    session.add(rule)
    if body.enabled:
        _switched_on(session, rule)
    session.flush()
    _audit(session, actor, rule, "automation.rule_created")
    return rule


def do_update_rule(
    session: Session, actor: Actor, rule: AutomationRule, body: RuleIn, *, version: int | None = None
) -> AutomationRule:
    check_version(rule, version)
    check_grants(actor, body)
    was_on = rule.enabled
    _fill(rule, body)
    rule.enabled = body.enabled
    if body.enabled and not was_on:
        _switched_on(session, rule)
    session.flush()
    _audit(session, actor, rule, "automation.rule_changed")
    return rule


def do_switch_rule(
    session: Session, actor: Actor, rule: AutomationRule, enabled: bool, *, version: int | None = None
) -> AutomationRule:
    check_version(rule, version)
    if enabled and not rule.enabled:
        check_grants(actor, RuleIn.model_validate(rule_body(rule)))
        _switched_on(session, rule)
    rule.enabled = enabled
    rule.updated_at = clock.now()
    session.flush()
    _audit(session, actor, rule, "automation.rule_switched", enabled=enabled)
    return rule


def do_delete_rule(session: Session, actor: Actor, rule: AutomationRule) -> None:
    """Kept as a row (its runs name it), gone from every list and from the engine."""
    rule.deleted_at = clock.now()
    rule.enabled = False
    rule.preset_key = None  # its preset can be switched on afresh
    session.flush()
    _audit(session, actor, rule, "automation.rule_deleted")


def rule_body(rule: AutomationRule) -> dict:
    return {
        "name": rule.name,
        "enabled": rule.enabled,
        "trigger": rule.trigger,
        "trigger_params": rule.trigger_params or {},
        "conditions": rule.conditions or {},
        "actions": rule.actions,
    }


def runs_of(
    session: Session, shop_id: int, rule_id: int | None, *, before_id: int | None = None
) -> list[AutomationRun]:
    stmt = select(AutomationRun).where(AutomationRun.shop_id == shop_id)
    if rule_id is not None:
        stmt = stmt.where(AutomationRun.rule_id == rule_id)
    if before_id is not None:
        stmt = stmt.where(AutomationRun.id < before_id)
    return list(session.scalars(stmt.order_by(AutomationRun.id.desc()).limit(RUNS_PAGE)))


def _audit(session: Session, actor: Actor, rule: AutomationRule, act: str, **data) -> None:
    record_audit(
        session, actor.shop_id, act, actor=actor, target_type="automation_rule", target_id=rule.id,
        data={"trigger": rule.trigger, **data},
    )  # fmt: skip
