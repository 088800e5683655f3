"""HTTP routes of 运费模板: read with ``shop.read``, change with ``settings.manage``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.schemas import PathId
from shangliao.runtime import Runtime, get_runtime
from shangliao.shipping import templates as service
from shangliao.shipping.templates import ShippingTemplateIn, ShippingTemplateList, ShippingTemplateOut

router = APIRouter(tags=["shipping templates"])
READ, MANAGE = "shop.read", "settings.manage"


@router.get("/shipping-templates", response_model=ShippingTemplateList)
def list_templates(actor: Actor = Depends(staff(READ)), rt: Runtime = Depends(get_runtime)):
    """The shop's shipping templates, the default first."""
    with rt.db.read() as session:
        return {"items": [service.template_out(t) for t in service.list_templates(session, actor.shop_id)]}


@router.post("/shipping-templates", response_model=ShippingTemplateOut, status_code=201)
def create_template(
    body: ShippingTemplateIn, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    """A new template; the shop's first one becomes its default. Names are unique in the shop
    (409 `conflict.duplicate`)."""
    with rt.db.write() as session:
        return service.template_out(service.do_create_template(session, actor, body))


@router.get("/shipping-templates/{shipping_template_id}", response_model=ShippingTemplateOut)
def get_template(
    shipping_template_id: PathId, actor: Actor = Depends(staff(READ)), rt: Runtime = Depends(get_runtime)
):
    with rt.db.read() as session:
        return service.template_out(service.access_template(session, actor.shop_id, shipping_template_id))


@router.put("/shipping-templates/{shipping_template_id}", response_model=ShippingTemplateOut)
def replace_template(
    shipping_template_id: PathId,
    body: ShippingTemplateIn,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    """Replace the whole template. Orders already placed keep the fee they were charged."""
    with rt.db.write() as session:
        return service.template_out(service.do_replace_template(session, actor, shipping_template_id, body))


@router.delete("/shipping-templates/{shipping_template_id}", status_code=204)
def delete_template(
    shipping_template_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    """Products that named it fall back to the shop's default template."""
    with rt.db.write() as session:
        service.do_delete_template(session, actor, shipping_template_id)
    return Response(status_code=204)
