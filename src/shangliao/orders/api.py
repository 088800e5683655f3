"""HTTP routes for one order: create, read, lifecycle actions, edits, payments, notes, timeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Header
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from shangliao.auth.access import Caller, staff, staff_in_unit
from shangliao.auth.actor import Actor
from shangliao.core.errors import Conflict, Invalid
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId
from shangliao.customers.masking import order_view, view_for
from shangliao.orders import actions, edits, idempotency, payments
from shangliao.orders.archive import do_restore
from shangliao.orders.create import do_create_order, find_by_idempotency_key
from shangliao.orders.schemas import (
    AddressEdit,
    AssignIn,
    ItemsEdit,
    NoteIn,
    NoteOut,
    OrderCreate,
    OrderEventOut,
    OrderOut,
    PaymentIn,
    PriceEdit,
    TagsIn,
    TransitionIn,
)
from shangliao.orders.state import TRANSITION_PERMISSIONS
from shangliao.orders.timeline import access_order, events_of, notes_of
from shangliao.orders.views import created_order_dict, event_dict, order_dict
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.responses import JSONResponse

router = APIRouter(prefix="/orders", tags=["orders"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        max_length=128,
        pattern=r"^[\x21-\x7e]{1,128}$",
        description="Retry-safe: the same key and body are answered with what the first request made.",
    ),
]
IfMatch = Annotated[str | None, Header(alias="If-Match", description='The order version, e.g. "3".')]


def _replayed(content) -> JSONResponse:
    """The answer to a retry (``orders/idempotency.py``): what the first attempt made, as it is now."""
    return JSONResponse(content, status_code=200, headers={"Idempotent-Replayed": "true"})


@dataclass(frozen=True)
class IdempotentMoney:
    """The shape of a money route with an ``Idempotency-Key`` (rule 11 of docs/architecture.md):
    recording a payment, a refund, an after-sales refund. ``find(session, shop_id, key)`` is the
    record an earlier request with this key made; ``request`` is the body's fingerprint."""

    shop_id: int
    key: str | None
    request: str | None
    find: Callable[[Session, int, str], Any]

    @classmethod
    def of(cls, actor: Actor, key: str | None, body: Any, find, **ids: int) -> IdempotentMoney:
        request = idempotency.fingerprint(body, **ids) if key else None
        return cls(actor.shop_id, key, request, find)

    def replay(self, session: Session, content: Callable[[], Any]) -> JSONResponse | None:
        """The answer to a retry (``content()``, what it made as it is now), or None when no
        earlier request used the key. Called under the order's lock, before the checks: a retry of
        the payment or refund that settled the order is answered, not refused."""
        if self.key is None:
            return None
        earlier = self.find(session, self.shop_id, self.key)
        if earlier is None:
            return None
        idempotency.check_same_request(earlier.idempotency_hash, self.request)
        return _replayed(content())

    def record(
        self,
        rt: Runtime,
        unit: Callable[[Callable[..., JSONResponse | None]], JSONResponse],
        do: Callable[..., Any],
        answer: Callable[..., Any],
        reread: Callable[[Session], Any],
    ) -> Any:
        """The whole route. ``unit(step)`` runs ``step(session, *locked)`` in one write unit with
        the order locked; there a retry is answered with ``answer(*locked)``, anything else is
        recorded by ``do(session, *locked)``. When a copy with this key committed meanwhile (on
        another order: the order locks did not meet), it is answered like a retry, ``reread``."""

        def step(session: Session, *locked: Any) -> JSONResponse | None:
            replayed = self.replay(session, lambda: answer(*locked))
            if replayed is not None:
                return replayed
            do(session, *locked)
            return None

        try:
            return unit(step)
        except IntegrityError:
            if self.key is None:
                raise
            with rt.db.read() as session:
                replayed = self.replay(session, lambda: reread(session))
                if replayed is None:
                    raise
                return replayed


def _order_answer(rt: Runtime, actor: Actor, order) -> dict:
    return order_dict(order, rt.keyring, order_view(actor, order.status))


def _money_change(rt: Runtime, actor: Actor, order_id: int, money: IdempotentMoney, do) -> JSONResponse:
    """An order's idempotent money route (a payment, a refund): ``do(session, order)`` records it."""
    return money.record(
        rt,
        lambda step: _change(rt, actor, order_id, step, status_code=201),
        do,
        lambda order: _order_answer(rt, actor, order),
        lambda session: _order_answer(rt, actor, access_order(session, actor, order_id)),
    )


def _version(body_version: int | None, if_match: str | None) -> int | None:
    if body_version is not None or if_match is None:
        return body_version
    try:
        return int(if_match.strip().strip("W/").strip('"'))
    except ValueError as exc:
        raise Invalid("order.bad_if_match", N_("If-Match must be the order version number.")) from exc


def _change(rt: Runtime, actor: Actor, order_id: PathId, change, *, status_code: int = 200) -> JSONResponse:
    """Run ``change(session, order)`` in one unit of work and answer with the order afterwards
    (or with the answer ``change`` returns, e.g. a replay that changed nothing)."""
    try:
        with rt.db.write() as session:
            order = access_order(session, actor, order_id, lock=True)
            answer = change(session, order)
            if isinstance(answer, JSONResponse):
                return answer
            session.flush()
            view = order_view(actor, order.status)
            return JSONResponse(order_dict(order, rt.keyring, view), status_code=status_code)
    except StaleDataError as exc:
        raise Conflict(
            "order.version_conflict",
            N_("Someone else changed this order meanwhile. Reload it and try again."),
        ) from exc


@router.post("", response_model=OrderOut, status_code=201, responses=idempotency.replayed(OrderOut))
async def create_order(
    body: OrderCreate,
    idempotency_key: IdempotencyKey = None,
    caller: Caller = Depends(staff_in_unit("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Create an order by hand (pending, or a draft with ``draft: true``); stock is reserved at once."""

    def place(session):
        return do_create_order(session, rt.keyring, caller.actor, body, idempotency_key=idempotency_key)

    # The hot path: one trip to the writer, where concurrent orders share a commit.
    try:
        created = await rt.db.submit(place)
    except IntegrityError:
        if idempotency_key is None:
            raise
        return await to_thread.run_sync(_replay, rt, caller, body, idempotency_key)
    return JSONResponse(created_order_dict(created, view_for(caller.actor)), status_code=201)


def _replay(rt: Runtime, caller: Caller, body: OrderCreate, key: str) -> JSONResponse:
    with rt.db.read() as session:
        order = find_by_idempotency_key(session, caller.actor.shop_id, key)
        if order is None:
            raise Conflict("order.conflict", N_("The order could not be saved; please try again."))
        idempotency.check_same_request(order.idempotency_hash, idempotency.fingerprint(body))
        return _replayed(order_dict(order, rt.keyring, view_for(caller.actor)))


@router.get("/{order_id}", response_model=OrderOut)
def get_order(
    order_id: PathId, actor: Actor = Depends(staff("orders.read")), rt: Runtime = Depends(get_runtime)
):
    with rt.db.read() as session:
        order = access_order(session, actor, order_id)
        return JSONResponse(order_dict(order, rt.keyring, order_view(actor, order.status)))


def _transition_route(action: str, summary: str):
    permission = TRANSITION_PERMISSIONS[action]  # declared from the one lifecycle table

    def run(
        order_id: PathId,
        body: TransitionIn | None = None,
        if_match: IfMatch = None,
        actor: Actor = Depends(staff(permission)),
        rt: Runtime = Depends(get_runtime),
    ):
        body = body or TransitionIn()
        params = body.model_dump(exclude={"version"}, exclude_none=True)
        version = _version(body.version, if_match)
        return _change(
            rt,
            actor,
            order_id,
            lambda s, o: actions.do_transition(s, actor, o, action, params, version=version),
        )

    router.add_api_route(
        f"/{{order_id}}/{action}",
        run,
        methods=["POST"],
        response_model=OrderOut,
        summary=summary,
        name=f"order_{action}",
    )


_transition_route("submit", "Submit a draft (reserves stock; becomes pending)")
_transition_route("confirm", "Confirm a pending order")
_transition_route("prepare", "Start preparing (备货中)")
# An order not marked paid ships too (paid on delivery, or outside Shangliao): the console asks
# its user once, an integrator's call is done as asked.
_transition_route("ship", "Ship with carrier_code and tracking_number (unpaid orders too)")
_transition_route("complete", "Mark as completed (received)")
_transition_route("cancel", "Cancel with a reason code, `other` with reason_note (releases stock)")


@router.post("/{order_id}/archive", response_model=OrderOut)
def archive_order(
    order_id: PathId, actor: Actor = Depends(staff("orders.archive")), rt: Runtime = Depends(get_runtime)
):
    return _change(rt, actor, order_id, lambda s, o: actions.do_archive(s, actor, o))


@router.post("/{order_id}/restore", response_model=OrderOut)
def restore_order(
    order_id: PathId, actor: Actor = Depends(staff("orders.archive")), rt: Runtime = Depends(get_runtime)
):
    """Bring an archived order back, under the status it had; the timeline records it."""
    return _change(rt, actor, order_id, lambda s, o: do_restore(s, actor, o))


@router.put("/{order_id}/address", response_model=OrderOut)
def change_address(
    order_id: PathId,
    body: AddressEdit,
    if_match: IfMatch = None,
    actor: Actor = Depends(staff("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Change the delivery address; refused once the order has shipped."""
    version = _version(body.version, if_match)
    return _change(
        rt,
        actor,
        order_id,
        lambda s, o: edits.do_change_address(s, rt.keyring, actor, o, body.address, version=version),
    )


@router.put("/{order_id}/items", response_model=OrderOut)
def replace_items(
    order_id: PathId,
    body: ItemsEdit,
    if_match: IfMatch = None,
    actor: Actor = Depends(staff("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Replace the items of a draft or pending order (stock holds follow)."""
    version = _version(body.version, if_match)
    return _change(
        rt,
        actor,
        order_id,
        lambda s, o: edits.do_replace_items(s, actor, o, body.items, version=version, keyring=rt.keyring),
    )


@router.patch("/{order_id}/price", response_model=OrderOut)
def change_price(
    order_id: PathId,
    body: PriceEdit,
    if_match: IfMatch = None,
    actor: Actor = Depends(staff("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    """改价: item prices, shipping fee or discount, before the order is paid."""
    version = _version(body.version, if_match)
    return _change(
        rt,
        actor,
        order_id,
        lambda s, o: edits.do_change_price(
            s,
            actor,
            o,
            item_prices=body.item_prices,
            shipping_fee=body.shipping_fee,
            discount=body.discount,
            reason=body.reason,
            version=version,
        ),
    )


@router.post(
    "/{order_id}/payments", response_model=OrderOut, status_code=201, responses=idempotency.replayed(OrderOut)
)
def mark_paid(
    order_id: PathId,
    body: PaymentIn,
    idempotency_key: IdempotencyKey = None,
    actor: Actor = Depends(staff("payments.record")),
    rt: Runtime = Depends(get_runtime),
):
    """Record a payment received outside Shangliao (WeChat, Alipay, bank transfer, cash). With an
    ``Idempotency-Key``, a retried request records nothing more and answers 200 with the order."""
    money = IdempotentMoney.of(
        actor, idempotency_key, body, payments.find_by_idempotency_key, order_id=order_id
    )

    return _money_change(
        rt,
        actor,
        order_id,
        money,
        lambda session, order: actions.do_mark_paid(
            session,
            actor,
            order,
            method=body.method,
            amount=body.amount,
            reference=body.reference,
            note=body.note,
            paid_at=body.paid_at,
            idempotency_key=idempotency_key,
            idempotency_hash=money.request,
        ),
    )


@router.put("/{order_id}/assignee", response_model=OrderOut)
def assign(
    order_id: PathId,
    body: AssignIn,
    if_match: IfMatch = None,
    actor: Actor = Depends(staff("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    version = _version(body.version, if_match)
    return _change(
        rt,
        actor,
        order_id,
        lambda s, o: actions.do_assign(s, actor, o, body.assignee_id, version=version),
    )


@router.post("/{order_id}/tags", response_model=OrderOut)
def tag(
    order_id: PathId,
    body: TagsIn,
    actor: Actor = Depends(staff("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    return _change(rt, actor, order_id, lambda s, o: actions.do_tag(s, actor, o, body.add, body.remove))


@router.post("/{order_id}/notes", response_model=NoteOut, status_code=201)
def add_note(
    order_id: PathId,
    body: NoteIn,
    actor: Actor = Depends(staff("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    """An internal note: visible to the team only, never to the customer."""
    with rt.db.write() as session:
        note = actions.do_add_note(session, actor, access_order(session, actor, order_id), body.body)
        return NoteOut.model_validate(note, from_attributes=True)


@router.get("/{order_id}/notes", response_model=list[NoteOut])
def list_notes(
    order_id: PathId, actor: Actor = Depends(staff("orders.read")), rt: Runtime = Depends(get_runtime)
):
    with rt.db.read() as session:
        notes = notes_of(session, access_order(session, actor, order_id))
        return [NoteOut.model_validate(n, from_attributes=True) for n in notes]


@router.get("/{order_id}/timeline", response_model=list[OrderEventOut])
def timeline(
    order_id: PathId, actor: Actor = Depends(staff("orders.read")), rt: Runtime = Depends(get_runtime)
):
    """Every change, oldest first; encrypted address snapshots are opened for staff."""
    with rt.db.read() as session:
        events = events_of(session, access_order(session, actor, order_id))
        return JSONResponse([event_dict(e, rt.keyring, view_for(actor)) for e in events])
