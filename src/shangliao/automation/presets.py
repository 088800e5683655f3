"""Rules a merchant switches on in one click (常用自动化), and the preview of what a rule would have
matched among the shop's recent events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.automation import service
from shangliao.automation.conditions import met
from shangliao.automation.engine import order_of, params_hold, triggers_of
from shangliao.automation.models import AutomationRule
from shangliao.automation.schemas import Conditions, Id, RuleIn
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, Invalid, NotFound
from shangliao.core.field_labels import field_names
from shangliao.core.i18n import N_, gettext
from shangliao.core.schemas import StrictModel
from shangliao.events.models import EventLogEntry
from shangliao.replies.models import ReplyTemplate
from shangliao.shops.models import Shop

PREVIEW_EVENTS = 2000  # the newest events of the trigger's types looked at
PREVIEW_ORDERS = 5


class PresetIn(StrictModel):
    """product_tag_note's products and words; the other presets take nothing."""

    product_ids: list[Id] = Field(default_factory=list, max_length=50)
    tag: str = Field("", max_length=32)
    note: str = Field("", max_length=500)


@dataclass(frozen=True)
class Preset:
    key: str
    name: str  # msgid: the rule is named in the merchant's language when switched on
    hint: str
    build: Callable[[Session, int, PresetIn], dict[str, Any]]


def _reply_id(session: Session, shop_id: int, shortcode: str) -> int:
    found = session.scalar(
        select(ReplyTemplate.id).where(
            ReplyTemplate.shop_id == shop_id, ReplyTemplate.shortcode_key == shortcode
        )
    )
    if found is None:
        raise Conflict(
            "rule.preset_reply_missing",
            N_("This preset sends the quick reply /{shortcode}: add it back under quick replies first."),
            shortcode=shortcode,
        )
    return found


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        Preset(
            "paid_confirm", N_("Confirm once paid"), N_("An order paid in full is confirmed at once."),
            lambda s, shop, body: {
                "trigger": "order_paid",
                "conditions": {"items": [{"kind": "paid", "state": "in_full"}, {"kind": "status", "statuses": ["pending"]}]},
                "actions": [{"kind": "status", "action": "confirm"}],
            },
        ),
        Preset(
            "product_tag_note", N_("Tag and note orders of a product"),
            N_("A new order with the product gets the tag and an internal note."),
            lambda s, shop, body: {
                "trigger": "order_created",
                "conditions": {"items": [{"kind": "product", "product_ids": body.product_ids}]},
                "actions": [{"kind": "tag", "tag": body.tag}, *([{"kind": "note", "text": body.note}] if body.note else [])],
            },
        ),
        Preset(
            "shipped_tracking", N_("Send the tracking number when shipped"),
            N_("The customer gets the courier and tracking number in chat as the order ships."),
            lambda s, shop, body: {"trigger": "order_shipped", "actions": [{"kind": "message", "message": "tracking"}]},
        ),
        Preset(
            "unpaid_reminder", N_("Remind after 2 hours unpaid"),
            N_("Two hours after an order is placed, if nothing is paid yet, the customer gets the /fk reminder."),
            lambda s, shop, body: {
                "trigger": "order_created",
                "trigger_params": {"delay_minutes": 120},
                "conditions": {"items": [{"kind": "paid", "state": "unpaid"}, {"kind": "status", "statuses": ["pending"]}]},
                "actions": [{"kind": "reply", "template_id": _reply_id(s, shop, "fk")}],
            },
        ),
    )
}  # fmt: skip


def preset_rules(session: Session, shop_id: int) -> dict[str, AutomationRule]:
    rows = session.scalars(
        select(AutomationRule).where(
            AutomationRule.shop_id == shop_id,
            AutomationRule.preset_key.is_not(None),
            AutomationRule.deleted_at.is_(None),
        )
    )
    return {r.preset_key: r for r in rows}


def do_switch_on_preset(
    session: Session, actor: Actor, key: str, body: PresetIn, locale: str
) -> AutomationRule:
    """The preset's rule, made or brought up to date and switched on (one rule per preset)."""
    preset = PRESETS.get(key)
    if preset is None:
        raise NotFound("rule.unknown_preset", N_("No such preset."))
    try:
        rule_in = RuleIn.model_validate(
            {"name": gettext(preset.name, locale), **preset.build(session, actor.shop_id, body)}
        )
    except ValidationError as exc:  # what the merchant gave (product_tag_note): no product, no tag
        fields = [str(e["loc"][-2] if isinstance(e["loc"][-1], int) else e["loc"][-1]) for e in exc.errors()]
        raise Invalid(
            "rule.preset_incomplete", N_("This preset needs: {fields}."), fields=field_names(fields),
            details={"fields": fields},
        ) from exc  # fmt: skip
    existing = preset_rules(session, actor.shop_id).get(key)
    if existing is None:
        return service.do_create_rule(session, actor, rule_in, preset_key=key)
    return service.do_update_rule(session, actor, existing, rule_in)


def preview(session: Session, keyring: Keyring, shop_id: int, body: RuleIn) -> list[dict[str, Any]]:
    """The orders (at most five, newest first) this rule would have acted on among the shop's
    recent events, judged by their state today; written nowhere."""
    probe = AutomationRule(
        shop_id=shop_id, trigger=body.trigger, trigger_params=body.trigger_params.model_dump()
    )
    conditions = Conditions.model_validate(body.conditions.model_dump())
    timezone = session.scalar(select(Shop.timezone).where(Shop.id == shop_id)) or "Asia/Shanghai"
    events = session.scalars(
        select(EventLogEntry)
        .where(EventLogEntry.shop_id == shop_id, EventLogEntry.type.in_(TRIGGER_TYPES[body.trigger]))
        .order_by(EventLogEntry.seq.desc())
        .limit(PREVIEW_EVENTS)
    )
    found: dict[int, dict[str, Any]] = {}
    for event in events:
        if body.trigger not in triggers_of(event) or not params_hold(session, probe, event):
            continue
        order = order_of(session, event, lock=False)
        if order is None or order.id in found:
            continue
        if met(session, keyring, conditions, order, event.created_at, timezone):
            found[order.id] = {
                "order_id": order.id,
                "number": order.number,
                "seq": event.seq,
                "at": event.created_at,
            }
            if len(found) == PREVIEW_ORDERS:
                break
    return list(found.values())


_STATUS_EVENTS = [
    f"order.{s}" for s in ("pending", "confirmed", "preparing", "shipped", "completed", "cancelled")
]
TRIGGER_TYPES: dict[str, list[str]] = {
    "order_created": ["order.created", "order.pending"],
    "order_paid": ["order.paid"],
    "order_status": ["order.created", *_STATUS_EVENTS],
    "order_shipped": ["order.shipped"],
    "order_cancelled": ["order.cancelled"],
    "aftersale_opened": ["order.aftersale"],
    "message_received": ["message.created"],
    "stock_low": ["stock.low"],
}
