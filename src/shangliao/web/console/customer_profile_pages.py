"""One customer: phones, addresses, tags, note, the blacklist, their figures and their orders.

Every change runs through the customers service, which records its event; the page is drawn
again with what changed. A link to a customer merged into another leads to the one that lives on.
"""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from shangliao.addresses import divisions
from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId
from shangliao.customers import service
from shangliao.customers.masking import may_reveal, view_for
from shangliao.customers.merge import merged_into
from shangliao.customers.schemas import CustomerPatch, PhoneIn
from shangliao.orders.listing import OrderQuery, list_orders
from shangliao.orders.payments import payment_status
from shangliao.orders.state import Status
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.forms import form_version, in_thread, read_form, refused_fields
from shangliao.web.console.order_pages import PAYMENT_STATUSES
from shangliao.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

ORDER_PAGE = 20


def bad_fields(exc: ValidationError) -> Invalid:
    return refused_fields(
        exc, "console.bad_customer", N_("Some customer fields are missing or invalid: {fields}.")
    )


def order_history(session, rt: Runtime, actor: Actor, customer_id: int, cursor: str | None) -> dict:
    """The customer's orders, newest first, drafts and archived ones included."""
    query = OrderQuery(
        customer_id=customer_id, status=list(Status), archived="all", limit=ORDER_PAGE, cursor=cursor
    )
    page = list_orders(session.connection(), rt.keyring, actor, actor.timezone, query)
    rows = [
        {
            "id": o.id,
            "number": o.number,
            "status": o.status,
            "total": o.total,
            "payment": payment_status(o.total, o.paid_amount, o.refunded_amount),
            "archived": o.archived_at is not None,
            "created_at": o.created_at,
            "customer_name": o.customer_name,
        }
        for o in page.orders
    ]
    return {"orders": rows, "orders_cursor": page.next_cursor, "payment_labels": dict(PAYMENT_STATUSES)}


def profile_context(session, rt: Runtime, actor: Actor, customer_id: int) -> dict[str, Any]:
    customer = service.access_customer(session, actor.shop_id, customer_id)
    pii = view_for(actor)
    context: dict[str, Any] = {
        "c": service.customer_out(rt.keyring, customer, pii),
        # 显示 (static/console/reveal.js) where the page shows a mask the reader may lift.
        "can_reveal": may_reveal(actor) and not pii.full,
        "can_write": "customers.write" in actor.permissions,
        "can_see_orders": "orders.read" in actor.permissions,
        "provinces": divisions.provinces(),
    }
    if context["can_see_orders"]:
        context.update(order_history(session, rt, actor, customer_id, None))
    return context


def show_profile(
    request: Request, rt: Runtime, actor: Actor, customer_id: int, *, message: str | None = None
):
    with rt.db.read() as session:
        try:
            context = profile_context(session, rt, actor, customer_id)
        except NotFound:
            # An old link to a customer merged away leads to the one that lives on.
            target = merged_into(session, actor.shop_id, customer_id) if request.method == "GET" else None
            if target is None:
                raise
            return RedirectResponse(f"/customers/{target}", status_code=303)
    template = "customers/_profile.html" if is_htmx(request) else "customers/profile.html"
    return render(request, template, section="customers", message=message, **context)


def change_customer(request: Request, rt: Runtime, actor: Actor, customer_id: int, change, done: str):
    """Apply ``change(session, customer)`` under the row lock, then show the customer again."""
    with rt.db.write() as session:
        customer = service.access_customer(session, actor.shop_id, customer_id, lock=True)
        change(session, customer)
    if not is_htmx(request):
        return RedirectResponse(f"/customers/{customer_id}", status_code=303)
    return show_profile(request, rt, actor, customer_id, message=done)


def patch(**fields: Any) -> CustomerPatch:
    try:
        return CustomerPatch.model_validate(fields)
    except ValidationError as exc:
        raise bad_fields(exc) from exc


@router.get("/customers/{customer_id}")
def customer_page(
    customer_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("customers.read")),
    rt: Runtime = Depends(get_runtime),
):
    return show_profile(request, rt, actor, customer_id)


@router.get("/customers/{customer_id}/orders")
def customer_orders(
    customer_id: PathId,
    request: Request,
    cursor: str | None = None,
    actor: Actor = Depends(staff("orders.read")),
    rt: Runtime = Depends(get_runtime),
):
    """More of the customer's orders (the cursor holds a time and an id, nothing personal)."""
    with rt.db.read() as session:
        customer = service.access_customer(session, actor.shop_id, customer_id)
        view = {"id": customer.id, "name": customer.name}
        context = order_history(session, rt, actor, customer_id, (cursor or "")[:300] or None)
    return render(request, "customers/_orders.html", c=view, **context)


@router.post("/customers/{customer_id}/note")
async def customer_note(
    customer_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    """The note, refused (409) when someone changed the customer since the page was drawn."""
    form = await read_form(request)
    note, version = str(form.get("note") or "").strip(), form_version(form)
    return await in_thread(
        change_customer,
        request,
        rt,
        actor,
        customer_id,
        lambda s, c: service.do_update_customer(s, actor, c, patch(note=note, version=version)),
        done=N_("Note saved."),
    )


@router.post("/customers/{customer_id}/tags")
async def customer_add_tag(
    customer_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    tag = str((await read_form(request)).get("tag") or "").strip()

    def add(session, customer):
        if not tag:
            raise Invalid("customer.empty_tag", N_("Write the tag first."))
        service.do_update_customer(session, actor, customer, patch(tags=[*customer.tags, tag]))

    return await in_thread(change_customer, request, rt, actor, customer_id, add, done=N_("Tag added."))


@router.post("/customers/{customer_id}/tags/remove")
async def customer_remove_tag(
    customer_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    tag = str((await read_form(request)).get("tag") or "").strip()

    def remove(session, customer):
        kept = [t for t in customer.tags if t != tag]
        service.do_update_customer(session, actor, customer, patch(tags=kept))

    return await in_thread(change_customer, request, rt, actor, customer_id, remove, done=N_("Tag removed."))


def _blacklist(request: Request, customer_id: int, actor: Actor, rt: Runtime, blocked: bool):
    return change_customer(
        request,
        rt,
        actor,
        customer_id,
        lambda s, c: service.do_update_customer(s, actor, c, patch(blocked=blocked)),
        done=N_("Added to the blacklist.") if blocked else N_("Removed from the blacklist."),
    )


@router.post("/customers/{customer_id}/block")
def customer_block(
    customer_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Blacklist the customer: orders can no longer be placed for them."""
    return _blacklist(request, customer_id, actor, rt, True)


@router.post("/customers/{customer_id}/unblock")
def customer_unblock(
    customer_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    return _blacklist(request, customer_id, actor, rt, False)


# --- phones ---------------------------------------------------------------------------------------


@router.post("/customers/{customer_id}/phones")
async def customer_add_phone(
    customer_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    phone = str((await read_form(request)).get("phone") or "").strip()[:32]

    def add(session, customer):
        try:
            body = PhoneIn(phone=phone)
        except ValidationError as exc:
            raise bad_fields(exc) from exc
        service.do_add_phone(session, rt.keyring, actor, customer, body)

    return await in_thread(change_customer, request, rt, actor, customer_id, add, done=N_("Phone added."))


def child_action(router: APIRouter, path: str, child: str, do, done: str) -> None:
    """A POST that applies ``do(session, actor, customer, child_id)`` to one of a customer's phones
    or addresses (``child`` names the path parameter) and shows the profile again."""

    def route(
        customer_id: PathId,
        request: Request,
        actor: Actor = Depends(staff("customers.write")),
        rt: Runtime = Depends(get_runtime),
        **ids: int,
    ):
        child_id = ids[child]
        return change_customer(
            request, rt, actor, customer_id, lambda s, c: do(s, actor, c, child_id), done=done
        )

    # FastAPI reads the parameters from the signature: name the child id as the path does.
    signature = inspect.signature(route)
    parameters = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    parameters.append(inspect.Parameter(child, inspect.Parameter.KEYWORD_ONLY, annotation=PathId))
    route.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    router.add_api_route(path, route, methods=["POST"])


child_action(
    router, "/customers/{customer_id}/phones/{phone_id}/remove", "phone_id", service.do_remove_phone,
    N_("Phone removed."),
)  # fmt: skip
child_action(
    router, "/customers/{customer_id}/phones/{phone_id}/primary", "phone_id", service.do_set_primary_phone,
    N_("Saved."),
)  # fmt: skip
