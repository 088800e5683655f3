"""The shop's after-sales routes (``/api/v1/aftersales``): read, decide, confirm the return's
arrival, record the refund, ship an exchange's replacement. Thin: one unit, one use case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from shangliao.aftersales import exchange, service, settle
from shangliao.aftersales.models import AfterSale
from shangliao.aftersales.schemas import (
    ApproveIn,
    ArrivalIn,
    CloseIn,
    DecisionIn,
    LinkRefundIn,
    RefundIn,
    ShipIn,
)
from shangliao.aftersales.views import staff_dict
from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.auth.scope import within_scope
from shangliao.core.schemas import MAX_ID, PathId
from shangliao.orders.api import IdempotencyKey, IdempotentMoney
from shangliao.orders.models import Order
from shangliao.orders.refunds import find_by_idempotency_key
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.responses import JSONResponse

router = APIRouter(prefix="/aftersales", tags=["aftersales"])
PAGE = 50


@router.get("")
def list_aftersales(
    status: Literal["open", "closed", "all"] = Query("open"),
    order_id: int | None = Query(None, ge=1, le=MAX_ID),
    before_id: int | None = Query(None, ge=1, le=MAX_ID),
    actor: Actor = Depends(staff("orders.read")),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """The shop's requests in the caller's data scope, newest first (``next_before_id`` pages on)."""
    with rt.db.read() as session:
        rows, more = listed(session, actor, status, order_id, before_id)
        return JSONResponse({"items": [staff_dict(r, o) for r, o in rows], "next_before_id": more})


def listed(
    session: Session,
    actor: Actor,
    status: str,
    order_id: int | None,
    before_id: int | None,
    limit: int = PAGE,
) -> tuple[list[tuple[AfterSale, Order]], int | None]:
    stmt = (
        select(AfterSale, Order)
        .join(Order, Order.id == AfterSale.order_id)
        .where(AfterSale.shop_id == actor.shop_id)
    )
    stmt = stmt.where(*within_scope(actor, Order.assignee_id))
    if status == "open":
        stmt = stmt.where(AfterSale.status.in_(service.OPEN))
    elif status == "closed":
        stmt = stmt.where(AfterSale.status.in_(service.CLOSED))
    if order_id is not None:
        stmt = stmt.where(AfterSale.order_id == order_id)
    if before_id is not None:
        stmt = stmt.where(AfterSale.id < before_id)
    rows = [tuple(r) for r in session.execute(stmt.order_by(AfterSale.id.desc()).limit(limit + 1))]
    return rows[:limit], (rows[limit - 1][0].id if len(rows) > limit else None)


@router.get("/{aftersale_id}")
def get_aftersale(
    aftersale_id: PathId, actor: Actor = Depends(staff("orders.read")), rt: Runtime = Depends(get_runtime)
) -> Any:
    with rt.db.read() as session:
        row, order = service.access_aftersale(session, actor, aftersale_id)
        return JSONResponse(staff_dict(row, order))


def change(
    rt: Runtime, actor: Actor, aftersale_id: int, step: Callable[[Session, Order, AfterSale], Any]
) -> Any:
    """Run ``step`` on the request with its order locked, in one unit; answer the request after
    (or what ``step`` answers, e.g. a replay that changed nothing)."""
    try:
        with rt.db.write() as session:
            row, order = service.access_aftersale(session, actor, aftersale_id, lock=True)
            answer = step(session, order, row)
            if isinstance(answer, JSONResponse):
                return answer
            session.flush()
            return JSONResponse(staff_dict(row, order))
    except StaleDataError as exc:
        raise service.changed_meanwhile() from exc


@router.post("/{aftersale_id}/approve")
def approve(
    aftersale_id: PathId,
    body: ApproveIn,
    actor: Actor = Depends(staff("aftersales.manage")),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Accept the request: a refund-only one waits for the refund, a return for the parcel; an
    exchange may get another replacement (``replacements``) than the customer named."""
    chosen = {r.line_id: r.variant_id for r in body.replacements}
    return change(
        rt,
        actor,
        aftersale_id,
        lambda s, o, r: exchange.do_approve(s, actor, o, r, body.message, body.version, chosen),
    )


@router.post("/{aftersale_id}/refuse")
def refuse(
    aftersale_id: PathId,
    body: DecisionIn,
    actor: Actor = Depends(staff("aftersales.manage")),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Decline the request, telling the customer why (``message``)."""
    return change(
        rt, actor, aftersale_id, lambda s, o, r: service.do_refuse(s, actor, o, r, body.message, body.version)
    )


@router.post("/{aftersale_id}/arrived")
def arrived(
    aftersale_id: PathId,
    body: ArrivalIn,
    actor: Actor = Depends(staff("aftersales.manage")),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """The returned parcel is here: each line back into stock (``restock``) or not (damaged)."""
    restock = {line.line_id: line.restock for line in body.lines}
    return change(
        rt,
        actor,
        aftersale_id,
        lambda s, o, r: service.do_confirm_arrival(s, actor, o, r, restock, body.version),
    )


@router.post("/{aftersale_id}/refund")
def refund(
    aftersale_id: PathId,
    body: RefundIn,
    idempotency_key: IdempotencyKey = None,
    actor: Actor = Depends(staff("payments.refund")),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Record the money given back (by default what the customer asked for); it settles the request.
    With an ``Idempotency-Key`` (as ``POST /orders/{id}/refunds``), a retry records nothing more
    and answers 200 with the request as it is now."""
    money = IdempotentMoney.of(
        actor, idempotency_key, body, find_by_idempotency_key, aftersale_id=aftersale_id
    )

    def record(session: Session, order: Order, row: AfterSale) -> None:
        service.do_refund_request(
            session,
            actor,
            order,
            row,
            method=body.method,
            amount=body.amount,
            reference=body.reference,
            note=body.note,
            version=body.version,
            idempotency_key=idempotency_key,
            idempotency_hash=money.request,
        )

    def reread(session: Session) -> dict:
        row, order = service.access_aftersale(session, actor, aftersale_id)
        return staff_dict(row, order)

    # A retry is answered under the order's lock, before the checks: the retry of the refund that
    # settled the request is answered, not refused because the request is closed.
    return money.record(
        rt, lambda step: change(rt, actor, aftersale_id, step), record, lambda o, r: staff_dict(r, o), reread
    )


@router.post("/{aftersale_id}/link_refund")
def link_refund(
    aftersale_id: PathId,
    body: LinkRefundIn,
    actor: Actor = Depends(staff("payments.refund")),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Settle the request with a refund already on the order that no request claimed (a plain
    refund, or a provider's notification): it closes as refunded, no new money."""
    return change(
        rt,
        actor,
        aftersale_id,
        lambda s, o, r: settle.do_link_refund(s, actor, o, r, body.refund_id, body.version),
    )


@router.post("/{aftersale_id}/close")
def close(
    aftersale_id: PathId,
    body: CloseIn,
    actor: Actor = Depends(staff("payments.refund")),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Close a request waiting for its refund with no money recorded (已线下处理): ``message`` says how."""
    return change(
        rt,
        actor,
        aftersale_id,
        lambda s, o, r: settle.do_close_offline(s, actor, o, r, body.message, body.version),
    )


@router.post("/{aftersale_id}/ship")
def ship(
    aftersale_id: PathId,
    body: ShipIn,
    actor: Actor = Depends(staff("aftersales.manage")),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Send an exchange's replacement in its own parcel; stock is taken, the request closes."""
    return change(
        rt,
        actor,
        aftersale_id,
        lambda s, o, r: exchange.do_ship_exchange(
            s, actor, o, r, body.carrier_code, body.tracking_number, body.version
        ),
    )
