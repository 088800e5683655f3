"""The order lifecycle (rule 7 of docs/architecture.md): one table of allowed transitions, each with its guard.

草稿 draft → 待确认 pending → 已确认 confirmed → 备货中 preparing → 已发货 shipped → 已完成 completed,
and 已取消 cancelled (with a reason) from any state before shipping. Small shops often pack right
after confirming, so confirmed → shipped is allowed too. Archiving is not a state: a completed or
cancelled order gets ``archived_at`` and keeps its final status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shangliao.core.errors import Invalid, ShangliaoError
from shangliao.core.field_labels import field_names
from shangliao.core.i18n import N_, Msg
from shangliao.orders.workflow import DEFAULT as DEFAULT_FLOW
from shangliao.orders.workflow import Workflow


class Status(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    CONFIRMED = "confirmed"
    PREPARING = "preparing"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


STATUS_LABELS: dict[Status, str] = {
    Status.DRAFT: N_("Draft"),
    Status.PENDING: N_("Pending"),
    Status.CONFIRMED: N_("Confirmed"),
    Status.PREPARING: N_("Preparing"),
    Status.SHIPPED: N_("Shipped"),
    Status.COMPLETED: N_("Completed"),
    Status.CANCELLED: N_("Cancelled"),
}

ACTION_LABELS: dict[str, str] = {
    "submit": N_("submitted"),
    "confirm": N_("confirmed"),
    "prepare": N_("moved to preparing"),
    "ship": N_("shipped"),
    "complete": N_("completed"),
    "cancel": N_("cancelled"),
}

# States whose stock is held for the order (reserved or backordered) until shipping or cancelling.
HOLDS_STOCK = frozenset({Status.PENDING, Status.CONFIRMED, Status.PREPARING})
BEFORE_SHIPPING = frozenset({Status.DRAFT, *HOLDS_STOCK})
FINAL = frozenset({Status.COMPLETED, Status.CANCELLED})


def partly_shipped(status: str, parcels_shipped: int | None) -> bool:
    """部分发货: a parcel left while the order still waits for others (the last one ships it)."""
    return bool(parcels_shipped) and status in (Status.CONFIRMED, Status.PREPARING)


def _need(params: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if not params.get(n)]
    if missing:
        raise Invalid(
            "order.missing_fields",
            N_("This step needs: {fields}."),
            fields=field_names(missing),
            details={"fields": missing},
        )


def _guard_ship(params: dict[str, Any]) -> None:
    from shangliao.orders.couriers import check_tracking

    _need(params, "carrier_code", "tracking_number")
    check_tracking(params["carrier_code"], params["tracking_number"])


def _guard_cancel(params: dict[str, Any]) -> None:
    from shangliao.orders.cancel_reasons import check_cancel_reason

    _need(params, "reason")
    # The code itself is checked here, not only when the order changes: a batch and its preview
    # run the guard once up front, so a reason no order would take refuses the whole batch.
    check_cancel_reason(params["reason"], params.get("reason_note"))


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[Status]
    target: Status
    permission: str
    guard: Callable[[dict[str, Any]], None] = field(default=lambda params: None)
    # A customer may take this step on their own order from the shop page (no staff permission).
    by_customer: bool = False


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("submit", frozenset({Status.DRAFT}), Status.PENDING, "orders.write"),
        Transition("confirm", frozenset({Status.PENDING}), Status.CONFIRMED, "orders.fulfil"),
        Transition("prepare", frozenset({Status.CONFIRMED}), Status.PREPARING, "orders.fulfil"),
        Transition(
            "ship",
            frozenset({Status.CONFIRMED, Status.PREPARING}),
            Status.SHIPPED,
            "orders.fulfil",
            _guard_ship,
        ),
        # The customer confirms receipt, or the shop marks it completed.
        Transition(
            "complete", frozenset({Status.SHIPPED}), Status.COMPLETED, "orders.fulfil", by_customer=True
        ),
        Transition("cancel", BEFORE_SHIPPING, Status.CANCELLED, "orders.cancel", _guard_cancel),
    )
}


# What each step needs: routes declare it from here (rule 5 of docs/architecture.md) and refuse
# a caller without it before any write transaction opens.
TRANSITION_PERMISSIONS: dict[str, str] = {a: t.permission for a, t in TRANSITIONS.items()}


def transition_for(
    action: str,
    current: Status,
    params: dict[str, Any],
    flow: Workflow = DEFAULT_FLOW,
    *,
    paid_in_full: bool = True,
) -> Transition:
    """The transition ``action`` from ``current``, guards and the shop's workflow checked; a clear
    refusal otherwise."""
    t = TRANSITIONS.get(action)
    if t is None:
        raise Invalid("order.unknown_action", N_("Unknown order action {action}."), action=action)
    if current not in t.sources:
        raise ShangliaoError(
            "order.invalid_transition",
            N_("An order that is {current} cannot be {action}."),
            http_status=409,
            details={
                "from": current.value,
                "action": action,
                "allowed_from": sorted(s.value for s in t.sources),
            },
            current=Msg(STATUS_LABELS[current]),
            action=Msg(ACTION_LABELS[action]),
        )
    refused = flow.refusal(action, paid_in_full=paid_in_full)
    if refused is not None:
        raise refused
    t.guard(params)
    return t


def allowed_actions(
    current: Status, flow: Workflow = DEFAULT_FLOW, *, paid_in_full: bool = True
) -> list[str]:
    """What the console may offer for an order in ``current`` (the buttons it shows), as the
    shop's workflow has it."""
    return [
        a
        for a, t in TRANSITIONS.items()
        if current in t.sources and flow.refusal(a, paid_in_full=paid_in_full) is None
    ]
