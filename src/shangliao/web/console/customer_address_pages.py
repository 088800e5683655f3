"""A customer's address book: add, edit, remove, and which address new orders use by default.

The form reuses the order screens' address fields (province → city → district pickers): one
editor at a time is on the page, because those fields carry fixed element ids.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from shangliao.addresses import divisions
from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import NotFound
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId
from shangliao.customers import service
from shangliao.customers.masking import form_address, may_reveal, view_for
from shangliao.customers.schemas import AddressIn, AddressUpdate
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.address_form import address_from_form, check_filled, fields_for
from shangliao.web.console.customer_profile_pages import bad_fields, change_customer, child_action
from shangliao.web.console.forms import in_thread, read_form
from shangliao.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)
BAD_ADDRESS = ("console.bad_customer", N_("Some customer fields are missing or invalid: {fields}."))


def _editor(request: Request, customer: dict, address: dict | None, **extra: Any):
    context = {
        "c": customer,
        "editing": address,
        "address": fields_for(address),
        "provinces": divisions.provinces(),
        **extra,
    }
    template = "customers/_address_form.html" if is_htmx(request) else "customers/address_edit.html"
    return render(request, template, section="customers", **context)


@router.get("/customers/{customer_id}/addresses/new")
def new_address_form(
    customer_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.read() as session:
        customer = service.access_customer(session, actor.shop_id, customer_id)
        view = {"id": customer.id, "name": customer.name}
    return _editor(request, view, None)


@router.get("/customers/{customer_id}/addresses/{address_id}/edit")
def edit_address_form(
    customer_id: PathId,
    address_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.read() as session:
        customer = service.access_customer(session, actor.shop_id, customer_id)
        row = next((a for a in customer.addresses if a.id == address_id), None)
        if row is None:
            raise NotFound("customer.address_not_found", N_("This customer has no such address."))
        pii = view_for(actor)
        address = form_address(pii, service.address_out(rt.keyring, row, pii).model_dump())
        view = {"id": customer.id, "name": customer.name}
    return _editor(request, view, address, can_reveal=may_reveal(actor) and not pii.full)


def _typed(form, model, **extra: Any):
    typed = address_from_form(form)
    check_filled(typed, *BAD_ADDRESS)
    try:
        return model.model_validate({**typed, **extra})
    except ValidationError as exc:
        raise bad_fields(exc) from exc


@router.post("/customers/{customer_id}/addresses")
async def add_address(
    customer_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    form = await read_form(request)
    label = str(form.get("label") or "").strip()
    make_default = form.get("is_default") == "1"

    def add(session, customer):
        body = _typed(form, AddressIn, label=label, is_default=make_default)
        service.do_add_address(session, rt.keyring, actor, customer, body)

    return await in_thread(change_customer, request, rt, actor, customer_id, add, done=N_("Address added."))


@router.post("/customers/{customer_id}/addresses/{address_id}")
async def update_address(
    customer_id: PathId,
    address_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Replace the address; orders already placed keep the one they were placed with."""
    form = await read_form(request)
    label = str(form.get("label") or "").strip()

    def update(session, customer):
        body = _typed(form, AddressUpdate, label=label)
        service.do_update_address(session, rt.keyring, actor, customer, address_id, body)

    return await in_thread(
        change_customer, request, rt, actor, customer_id, update, done=N_("Address saved.")
    )


child_action(
    router, "/customers/{customer_id}/addresses/{address_id}/remove", "address_id", service.do_remove_address,
    N_("Address removed."),
)  # fmt: skip
child_action(
    router, "/customers/{customer_id}/addresses/{address_id}/default", "address_id",
    service.do_set_default_address, N_("Default address set."),
)  # fmt: skip
