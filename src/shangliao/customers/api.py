"""HTTP routes of the customers domain (thin: validate, open the unit of work, call the service).

Paths carry ids only. Searching by phone or name is a POST with a body, so a phone number never
lands in a URL, a proxy's access log or the browser history (rule 12 of docs/architecture.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.schemas import PathId
from shangliao.customers import service
from shangliao.customers.masking import view_for
from shangliao.customers.schemas import (
    AddressIn,
    AddressOut,
    AddressUpdate,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    CustomerSearch,
    PhoneIn,
    PhoneOut,
    Sort,
    Tag,
)
from shangliao.runtime import Runtime, get_runtime
from shangliao.stats.segments import Segment

router = APIRouter(prefix="/customers", tags=["customers"])

# Ids beyond a 64-bit integer can never exist; refusing them here keeps them away from the driver.


@router.post("", response_model=CustomerOut, status_code=201)
def create_customer(
    body: CustomerIn, actor: Actor = Depends(staff("customers.write")), rt: Runtime = Depends(get_runtime)
):
    """Create a customer with phones (mainland mobiles), addresses, tags and a note."""
    with rt.db.write() as session:
        customer = service.do_create_customer(session, rt.keyring, actor, body)
        return service.customer_out(rt.keyring, customer, view_for(actor))


@router.get("", response_model=CustomerPage)
def list_customers(
    tag: Tag | None = Query(None),
    blocked: bool | None = Query(
        None, description="Only blacklisted (true) or only other (false) customers."
    ),
    segment: Segment | None = Query(
        None, description="Only the buyers of an RFM group: `high_value`, `at_risk`, `new`, `lost`."
    ),
    sort: Sort = Query("-id", description="`-id` newest first, `id` oldest first, `-last_order_at`."),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(20, ge=1, le=100),
    actor: Actor = Depends(staff("customers.read")),
    rt: Runtime = Depends(get_runtime),
):
    """List customers. To search by phone or name use `POST /customers/search` (keeps PII out of URLs)."""
    query = CustomerSearch(tag=tag, blocked=blocked, segment=segment, sort=sort, cursor=cursor, limit=limit)
    with rt.db.read() as session:
        return service.list_customers(session, rt.keyring, actor.shop_id, query)


@router.post("/search", response_model=CustomerPage)
def search_customers(
    body: CustomerSearch, actor: Actor = Depends(staff("customers.read")), rt: Runtime = Depends(get_runtime)
):
    """Search by a whole mobile number, its last 4 digits, or part of the name; filter and page."""
    with rt.db.read() as session:
        return service.list_customers(session, rt.keyring, actor.shop_id, body)


@router.get("/{customer_id}", response_model=CustomerOut)
def get_customer(
    customer_id: PathId, actor: Actor = Depends(staff("customers.read")), rt: Runtime = Depends(get_runtime)
):
    """A customer with phones and addresses decrypted, and their order figures."""
    with rt.db.read() as session:
        customer = service.access_customer(session, actor.shop_id, customer_id)
        return service.customer_out(rt.keyring, customer, view_for(actor))


@router.patch("/{customer_id}", response_model=CustomerOut)
def update_customer(
    customer_id: PathId,
    body: CustomerPatch,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Change name, tags, note or the blacklist flag; fields left out stay as they are."""
    with rt.db.write() as session:
        customer = service.access_customer(session, actor.shop_id, customer_id, lock=True)
        service.do_update_customer(session, actor, customer, body)
        return service.customer_out(rt.keyring, customer, view_for(actor))


# --- phones ---------------------------------------------------------------------------------------


@router.post("/{customer_id}/phones", response_model=PhoneOut, status_code=201)
def add_phone(
    customer_id: PathId,
    body: PhoneIn,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Add a mobile number; one another customer of the shop already has is refused (409)."""
    with rt.db.write() as session:
        customer = service.access_customer(session, actor.shop_id, customer_id, lock=True)
        row = service.do_add_phone(session, rt.keyring, actor, customer, body)
        return service.phone_out(rt.keyring, row, view_for(actor))


@router.delete("/{customer_id}/phones/{phone_id}", status_code=204)
def remove_phone(
    customer_id: PathId,
    phone_id: PathId,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.write() as session:
        customer = service.access_customer(session, actor.shop_id, customer_id, lock=True)
        service.do_remove_phone(session, actor, customer, phone_id)


@router.post("/{customer_id}/phones/{phone_id}/primary", response_model=PhoneOut)
def set_primary_phone(
    customer_id: PathId,
    phone_id: PathId,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.write() as session:
        customer = service.access_customer(session, actor.shop_id, customer_id, lock=True)
        row = service.do_set_primary_phone(session, actor, customer, phone_id)
        return service.phone_out(rt.keyring, row, view_for(actor))


# --- addresses ------------------------------------------------------------------------------------


@router.post("/{customer_id}/addresses", response_model=AddressOut, status_code=201)
def add_address(
    customer_id: PathId,
    body: AddressIn,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Add an address; the customer's first address, or one sent with `is_default`, is the default."""
    with rt.db.write() as session:
        customer = service.access_customer(session, actor.shop_id, customer_id, lock=True)
        row = service.do_add_address(session, rt.keyring, actor, customer, body)
        return service.address_out(rt.keyring, row, view_for(actor))


@router.put("/{customer_id}/addresses/{address_id}", response_model=AddressOut)
def update_address(
    customer_id: PathId,
    address_id: PathId,
    body: AddressUpdate,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Replace an address. Orders already placed keep the address they were placed with."""
    with rt.db.write() as session:
        customer = service.access_customer(session, actor.shop_id, customer_id, lock=True)
        row = service.do_update_address(session, rt.keyring, actor, customer, address_id, body)
        return service.address_out(rt.keyring, row, view_for(actor))


@router.delete("/{customer_id}/addresses/{address_id}", status_code=204)
def remove_address(
    customer_id: PathId,
    address_id: PathId,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.write() as session:
        customer = service.access_customer(session, actor.shop_id, customer_id, lock=True)
        service.do_remove_address(session, actor, customer, address_id)


@router.post("/{customer_id}/addresses/{address_id}/default", response_model=AddressOut)
def set_default_address(
    customer_id: PathId,
    address_id: PathId,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Make this the address new orders for the customer use unless told otherwise."""
    with rt.db.write() as session:
        customer = service.access_customer(session, actor.shop_id, customer_id, lock=True)
        row = service.do_set_default_address(session, actor, customer, address_id)
        return service.address_out(rt.keyring, row, view_for(actor))
