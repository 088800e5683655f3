"""Merging a duplicate into the customer on screen: find it, see what would move, confirm.

The preview is worked out by the same ``plan_merge`` the merge runs, so what it promises is what
happens; the confirmation carries both customers' versions, so a change made meanwhile to either
of them refuses the merge (409) instead of merging something nobody looked at.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import Invalid, ShangliaoError
from shangliao.core.i18n import N_, gettext
from shangliao.core.phones import mask_mobile
from shangliao.core.schemas import MAX_ID, PathId
from shangliao.customers import service
from shangliao.customers.masking import view_for
from shangliao.customers.merge import do_merge_customers, orders_of, plan_merge
from shangliao.customers.schemas import CustomerSearch
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.customer_profile_pages import show_profile
from shangliao.web.console.forms import form_version, in_thread, read_form, whole_number
from shangliao.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)


def _other_id(value: object) -> int:
    other = whole_number(str(value or ""))
    if other is None or not 1 <= other <= MAX_ID:
        raise Invalid("customer.merge_pick", N_("Pick the customer to merge into this one first."))
    return other


@router.post("/customers/{customer_id}/merge/search")
async def merge_candidates(
    customer_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Other customers matching a name, a whole phone or its last 4 (posted: phones stay out of URLs)."""
    q = str((await read_form(request)).get("mq") or "").strip()[:64]

    def search():
        with rt.db.read() as session:
            service.access_customer(session, actor.shop_id, customer_id)
            found = []
            if q:
                query = CustomerSearch(q=q, sort="-last_order_at", limit=11)
                page = service.list_customers(session, rt.keyring, actor.shop_id, query)
                found = [c for c in page.items if c.id != customer_id][:10]
        return render(request, "customers/_merge_pick.html", found=found, q=q, c={"id": customer_id})

    return await in_thread(search)


@router.get("/customers/{customer_id}/merge/preview")
def merge_preview(
    customer_id: PathId,
    request: Request,
    other_id: str = "",
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    """What merging the other customer into this one would move, and the button that does it."""
    with rt.db.read() as session:
        keep = service.access_customer(session, actor.shop_id, customer_id)
        drop = service.access_customer(session, actor.shop_id, _other_id(other_id))
        refusal = plan = None
        if keep.id == drop.id:
            refusal = gettext(N_("A customer cannot be merged into themselves."))
        else:
            try:
                plan = plan_merge(rt.keyring, keep, drop)
            except ShangliaoError as exc:
                refusal = exc.localized()
        other = service.customer_out(rt.keyring, drop, view_for(actor))
        context = {
            "c": service.customer_out(rt.keyring, keep, view_for(actor)),
            "other": other,
            "plan": plan,
            "refusal": refusal,
            "orders_moving": orders_of(session, actor.shop_id, drop.id),
            "phones_moving": [mask_mobile(p.phone) for p in other.phones if plan and p.id in plan.phone_ids],
            "addresses_moving": plan and len(plan.address_ids),
            "addresses_skipped": plan and len(plan.duplicate_address_ids),
        }
    return render(request, "customers/_merge_preview.html", **context)


@router.post("/customers/{customer_id}/merge")
async def merge_confirm(
    customer_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    form = await read_form(request)

    def merge():
        with rt.db.write() as session:
            keep = service.access_customer(session, actor.shop_id, customer_id)
            drop = service.access_customer(session, actor.shop_id, _other_id(form.get("other_id")))
            do_merge_customers(
                session,
                rt.keyring,
                actor,
                keep,
                drop,
                keep_version=form_version(form),
                drop_version=form_version({"version": form.get("other_version")}),
            )
        if not is_htmx(request):
            return RedirectResponse(f"/customers/{customer_id}", status_code=303)
        return show_profile(request, rt, actor, customer_id, message=N_("Merged."))

    return await in_thread(merge)
