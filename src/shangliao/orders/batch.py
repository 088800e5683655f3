"""One action over many orders (confirm 30 orders, tag a day's shipments, archive last month).

Each order runs in its own unit of work (rule 1 of docs/architecture.md): one order refusing — already shipped, someone
else's, a stale state — never undoes or blocks the others, and the answer lists every order with
its outcome. The request itself is checked first: a bad action or missing parameter refuses the
whole batch before any order changes (rule 14 of docs/architecture.md).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from shangliao.assignment.apply import check_assignment
from shangliao.assignment.rules import ASSIGN
from shangliao.auth.access import check_permission
from shangliao.auth.actor import Actor
from shangliao.core.errors import Conflict, ShangliaoError
from shangliao.core.i18n import N_, gettext
from shangliao.core.schemas import MAX_ID, StrictModel
from shangliao.orders import actions, archive
from shangliao.orders.models import Order
from shangliao.orders.schemas import clean_tags
from shangliao.orders.state import TRANSITION_PERMISSIONS, TRANSITIONS, Status, transition_for
from shangliao.orders.timeline import access_order, check_not_archived
from shangliao.orders.workflow import paid_in_full, workflow_for
from shangliao.shipping import parcels
from shangliao.storage.database import Database

log = logging.getLogger(__name__)

MAX_BATCH = 200

BatchAction = Literal[
    "confirm", "prepare", "ship", "complete", "cancel", "archive", "restore", "assign", "tag"
]

# Which parameters each action takes; anything else in ``params`` is a mistake worth refusing.
ACTION_PARAMS: dict[str, frozenset[str]] = {
    "confirm": frozenset(),
    "prepare": frozenset(),
    "complete": frozenset(),
    "archive": frozenset(),
    "restore": frozenset(),
    "ship": frozenset({"carrier_code", "tracking_number"}),
    "cancel": frozenset({"reason", "reason_note"}),
    "assign": frozenset({"assignee_id"}),
    "tag": frozenset({"add", "remove"}),
}

ACTION_PERMISSIONS: dict[str, str] = {
    # Only the steps a batch takes (drafts are submitted one by one): the routes declare this
    # table, and docs/permissions.md lists an action the body cannot name otherwise.
    **{action: p for action, p in TRANSITION_PERMISSIONS.items() if action in ACTION_PARAMS},
    "archive": "orders.archive",
    "restore": "orders.archive",
    "assign": "orders.write",  # and orders.assign to give them to someone else (assignment/rules.py)
    "tag": "orders.write",
}


class BatchParams(StrictModel):
    reason: str | None = Field(
        None, max_length=32, description="cancel: a reason code, as for one order's cancel (required)."
    )
    reason_note: str | None = Field(None, max_length=200, description="cancel: the words for `other`.")
    carrier_code: str | None = Field(None, max_length=16, description="ship: the courier's code.")
    tracking_number: str | None = Field(None, max_length=40, description="ship: the tracking number.")
    assignee_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="assign: a staff member of the shop; null to unassign."
    )
    add: list[str] = Field(default_factory=list, max_length=10, description="tag: tags to add.")
    remove: list[str] = Field(default_factory=list, max_length=10, description="tag: tags to remove.")

    _tags = field_validator("add", "remove")(classmethod(lambda cls, v: clean_tags(v)))


class BatchIn(StrictModel):
    order_ids: list[int] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"Up to {MAX_BATCH} order ids; repeats count once."
    )
    action: BatchAction
    params: BatchParams = Field(default_factory=BatchParams)

    @field_validator("order_ids")
    @classmethod
    def _distinct_ids(cls, ids: list[int]) -> list[int]:
        if any(i < 1 or i > 2**63 - 1 for i in ids):
            raise ValueError("order ids are positive integers")
        return list(dict.fromkeys(ids))

    @model_validator(mode="after")
    def _params_fit_action(self) -> BatchIn:
        given = self.params.model_fields_set
        extra = given - ACTION_PARAMS[self.action]
        if extra:
            raise ValueError(f"{self.action} does not take: {', '.join(sorted(extra))}")
        if self.action == "assign" and "assignee_id" not in given:
            raise ValueError("assign needs assignee_id (null to unassign)")
        if self.action == "tag" and not (self.params.add or self.params.remove):
            raise ValueError("tag needs tags to add or remove")
        return self

    def transition_params(self) -> dict[str, Any]:
        return self.params.model_dump(include=set(ACTION_PARAMS[self.action]), exclude_none=True)


def check_batch(body: BatchIn) -> None:
    """Refuse the whole batch when its parameters could never work (cancel without a reason or with
    one not in the list, "other" without words, a tracking number that does not fit the courier),
    with the same codes as the single-order routes: the preview then never promises what the batch
    would refuse for every order."""
    transition = TRANSITIONS.get(body.action)
    if transition is not None:
        transition.guard(body.transition_params())


def check_batch_caller(actor: Actor, body: BatchIn) -> None:
    """Assigning many orders to someone else needs orders.assign: refused whole, before any unit
    (claiming many unassigned ones for oneself needs only the action's permission)."""
    if body.action == "assign" and body.params.assignee_id not in (None, actor.staff_id):
        check_permission(actor, ASSIGN)


def _apply(session: Session, actor: Actor, order: Order, body: BatchIn) -> None:
    # 404 (not the caller's order) was decided by access_order; 403 comes before any state check.
    check_permission(actor, ACTION_PERMISSIONS[body.action])
    if body.action in TRANSITIONS:
        actions.do_transition(session, actor, order, body.action, body.transition_params())
    elif body.action == "archive":
        actions.do_archive(session, actor, order)
    elif body.action == "restore":
        archive.do_restore(session, actor, order)
    elif body.action == "assign":
        actions.do_assign(session, actor, order, body.params.assignee_id)
    else:
        actions.do_tag(session, actor, order, body.params.add, body.params.remove)


def _error(exc: ShangliaoError, locale: str) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.localized(locale), "status": exc.status, "details": exc.details}


def run_one(db: Database, actor: Actor, order_id: int, body: BatchIn, locale: str) -> dict[str, Any]:
    """Apply the batch's action to one order in its own unit of work and describe the outcome."""
    try:
        with db.write() as session:
            order = access_order(session, actor, order_id, lock=True)
            _apply(session, actor, order, body)
            session.flush()
            outcome = {
                "id": order_id,
                "ok": True,
                "status": order.status,
                "version": order.version,
                "archived": order.archived_at is not None,
            }
    except ShangliaoError as exc:
        return {"id": order_id, "ok": False, "error": _error(exc, locale)}
    except StaleDataError:
        conflict = Conflict(
            "order.version_conflict",
            N_("Someone else changed this order meanwhile. Reload it and try again."),
        )
        return {"id": order_id, "ok": False, "error": _error(conflict, locale)}
    except Exception:
        # One order's unexpected failure must not hide what happened to the others (already
        # committed): it is logged for the operator and reported for this order only.
        log.exception("batch %s failed on order %s", body.action, order_id)
        message = gettext(N_("Something went wrong on our side. Please try again."), locale)
        return {
            "id": order_id,
            "ok": False,
            "error": {"code": "server.error", "message": message, "status": 500, "details": {}},
        }
    return outcome


def run_batch(db: Database, actor: Actor, body: BatchIn, locale: str) -> dict[str, Any]:
    """Every order of ``body`` in turn; the answer keeps the order of the request.

    A caller without the action's permission is refused as a whole (403) before any unit opens:
    two hundred refused write transactions would only hold the writer for nothing.
    """
    check_permission(actor, ACTION_PERMISSIONS[body.action])
    check_batch(body)
    check_batch_caller(actor, body)
    results = [run_one(db, actor, order_id, body, locale) for order_id in body.order_ids]
    succeeded = sum(1 for r in results if r["ok"])
    return {
        "action": body.action,
        "succeeded": succeeded,
        "failed": len(results) - succeeded,
        "results": results,
    }


def _check_one(session: Session, actor: Actor, order: Order, body: BatchIn) -> None:
    """What would refuse ``body``'s action on ``order``, found without changing anything: the
    state checks the ``do_*`` functions make first (they make them again when the batch runs)."""
    if body.action == "assign":
        check_assignment(session, actor, order.shop_id, "order", order.assignee_id, body.params.assignee_id)
    elif body.action == "restore":
        archive.check_restorable(order)
    elif body.action in TRANSITIONS:
        check_not_archived(order)
        flow = workflow_for(session, order.shop_id)
        t = transition_for(
            body.action,
            Status(order.status),
            body.transition_params(),
            flow,
            paid_in_full=paid_in_full(order),
        )
        if t.target == Status.CANCELLED:
            parcels.check_nothing_shipped(session, order)  # as do_transition: goods on the road stay
    elif body.action == "archive":
        actions.check_archivable(order)


def preview_batch(db: Database, actor: Actor, body: BatchIn, locale: str) -> dict[str, Any]:
    """What ``run_batch`` would do, read in one snapshot and written nowhere: which orders would
    change and which would be skipped, and why. Shown before a cancel or archive of many orders.

    Someone may change an order between the preview and the batch; the batch checks each order
    again, so a preview can only be too hopeful about an order, never make it change wrongly.
    """
    check_permission(actor, ACTION_PERMISSIONS[body.action])
    check_batch(body)
    check_batch_caller(actor, body)
    results: list[dict[str, Any]] = []
    with db.read() as session:
        for order_id in body.order_ids:
            try:
                order = access_order(session, actor, order_id)
                _check_one(session, actor, order, body)
            except ShangliaoError as exc:
                results.append({"id": order_id, "ok": False, "error": _error(exc, locale)})
            else:
                results.append({"id": order_id, "ok": True, "status": order.status})
    will_change = sum(1 for r in results if r["ok"])
    return {
        "action": body.action,
        "will_change": will_change,
        "will_skip": len(results) - will_change,
        "results": results,
    }
