"""批量发货: a sheet of order numbers, couriers and waybill numbers ships many orders at once.

The preview reads every row and says what each would do (ship, already shipped with that number,
or why not, with its row and column); the import ships them all in one unit of work or none. Each
row goes through the same transition a person's 发货 takes (``do_transition(ship)``: the workflow,
the stock, the timeline, the customer's notice). A row whose order is already shipped with that
very waybill number is done already: importing the same file twice ships nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.auth.scope import within_scope
from shangliao.core.errors import Invalid, ShangliaoError
from shangliao.core.i18n import N_, gettext
from shangliao.orders import actions
from shangliao.orders.couriers import courier_from_text, courier_name
from shangliao.orders.models import Order
from shangliao.orders.state import Status, transition_for
from shangliao.orders.workflow import workflow_for
from shangliao.sheets.cells import text_of
from shangliao.sheets.read import Table

ALIASES = {
    "number": ("订单编号", "订单号", "订单号码", "主订单编号", "order id", "order number", "order no"),
    "carrier": ("快递公司", "物流公司", "快递", "承运商", "courier", "carrier"),
    "tracking": ("物流单号", "快递单号", "运单号", "运单编号", "waybill number", "tracking number"),
}
REQUIRED = ("number", "carrier", "tracking")
SHIP, ALREADY, ERROR = "ship", "already", "error"
PROBLEMS = N_("Some rows cannot be shipped: fix them and upload the sheet again.")


@dataclass
class Line:
    row: int
    number: str | None
    carrier_code: str | None
    tracking_number: str | None
    order_id: int | None = None
    outcome: str = SHIP
    problems: list[dict[str, Any]] = field(default_factory=list)

    def refuse(self, table: Table, key: str, code: str, message: str) -> None:
        self.outcome = ERROR
        self.problems.append({"column": table.cell(key), "field": key, "code": code, "message": message})


def plan(session: Session, actor: Actor, table: Table, locale: str) -> list[Line]:
    """What each row would do, read now (nothing is written)."""
    lines = [
        Line(r.number, text_of(r.values.get("number")), courier_from_text(text_of(r.values.get("carrier"))),
             (text_of(r.values.get("tracking")) or "").upper() or None)
        for r in table.rows
    ]  # fmt: skip
    numbers = [line.number for line in lines if line.number]
    orders = {
        o.number: o
        for o in session.scalars(
            select(Order).where(
                Order.shop_id == actor.shop_id,
                Order.number.in_(numbers),
                *within_scope(actor, Order.assignee_id),
            )
        )
    }
    flow = workflow_for(session, actor.shop_id)
    seen: dict[str, int] = {}
    for line, source in zip(lines, table.rows, strict=True):
        _check(table, line, source.values, orders, flow, seen, locale)
    return lines


def _check(table, line: Line, values, orders, flow, seen: dict[str, int], locale: str) -> None:
    def refuse(key: str, code: str, message: str, **params: object) -> None:
        line.refuse(table, key, code, gettext(message, locale, **params))

    if line.number is None:
        return refuse("number", "sheet.ship.no_number", N_("No order number."))
    if line.number in seen:
        return refuse("number", "sheet.ship.repeated", N_("Order {number} is also on row {row}."),
                      number=line.number, row=seen[line.number])  # fmt: skip
    seen[line.number] = line.row
    order = orders.get(line.number)
    if order is None:
        return refuse(
            "number", "sheet.ship.no_order", N_("No order {number} in this shop."), number=line.number
        )
    line.order_id = order.id
    if line.carrier_code is None:
        return refuse("carrier", "sheet.ship.courier", N_("Unknown courier “{name}”."),
                      name=text_of(values.get("carrier")) or "")  # fmt: skip
    if line.tracking_number is None:
        return refuse("tracking", "sheet.ship.no_tracking", N_("No waybill number."))
    if order.status in (Status.SHIPPED, Status.COMPLETED):
        if _same_parcel(order, line):
            line.outcome = ALREADY
            return None
        return refuse("number", "sheet.ship.shipped_otherwise", N_("Order {number} is shipped already, with {courier} {tracking}."),
                      number=line.number, courier=courier_name(order.carrier_code, locale) or "",
                      tracking=order.tracking_number or "")  # fmt: skip
    try:
        transition_for(
            "ship", Status(order.status), _params(line), flow, paid_in_full=order.paid_amount >= order.total
        )
    except ShangliaoError as exc:
        key = "tracking" if exc.code == "order.bad_tracking_number" else "number"
        line.refuse(table, key, exc.code, exc.localized(locale))
    return None


def _same_parcel(order: Order, line: Line) -> bool:
    return (
        order.carrier_code == line.carrier_code
        and (order.tracking_number or "").upper() == line.tracking_number
    )


def _params(line: Line) -> dict[str, Any]:
    return {"carrier_code": line.carrier_code, "tracking_number": line.tracking_number}


def do_ship(session: Session, actor: Actor, lines: list[Line]) -> int:
    """Ship every row marked ``ship``, in the caller's unit; a refusal raises (and undoes them all)."""
    if any(line.outcome == ERROR for line in lines):
        raise Invalid(
            "sheet.ship.problems", N_("Some rows cannot be shipped: fix them and upload the sheet again.")
        )
    todo = {line.order_id: line for line in lines if line.outcome == SHIP}
    # Locked in id order (two imports never wait on each other in a cycle) and read afresh: a
    # second import of the same sheet running meanwhile finds them shipped, not stale.
    orders = session.scalars(
        select(Order)
        .where(Order.id.in_(todo), Order.shop_id == actor.shop_id)
        .order_by(Order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    shipped = 0
    for order in orders:
        line = todo[order.id]
        if order.status in (Status.SHIPPED, Status.COMPLETED) and _same_parcel(order, line):
            line.outcome = ALREADY
            continue
        actions.do_transition(session, actor, order, "ship", _params(line))
        shipped += 1
    return shipped


def summary(lines: list[Line]) -> dict[str, Any]:
    return {
        "rows": [
            {"row": line.row, "number": line.number, "order_id": line.order_id, "carrier_code": line.carrier_code,
             "tracking_number": line.tracking_number, "outcome": line.outcome, "problems": line.problems}
            for line in lines
        ],
        "ship": sum(line.outcome == SHIP for line in lines),
        "already": sum(line.outcome == ALREADY for line in lines),
        "errors": sum(line.outcome == ERROR for line in lines),
    }  # fmt: skip
