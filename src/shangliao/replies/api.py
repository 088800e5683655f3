"""HTTP routes of quick replies: the shop's templates, and a template filled for a conversation."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from shangliao.auth.access import check_permission, staff
from shangliao.auth.actor import Actor
from shangliao.core.schemas import PathId
from shangliao.replies import service
from shangliao.replies.schemas import (
    Category,
    PreviewIn,
    PreviewOut,
    ReplyTemplateIn,
    ReplyTemplateList,
    ReplyTemplateOut,
    ReplyTemplatePatch,
)
from shangliao.replies.views import MANAGE, template_out, templates
from shangliao.runtime import Runtime, get_runtime

router = APIRouter(tags=["quick replies"])
READ_ORDERS = "orders.read"


@router.get("/reply-templates", response_model=ReplyTemplateList)
def list_templates(
    q: str | None = Query(None, max_length=40, description="The start of a shortcode, or part of a title."),
    category: Category | None = Query(None),
    actor: Actor = Depends(staff("chat.read")),
    rt: Runtime = Depends(get_runtime),
):
    """The shop's quick replies by category, then position (what the composer's `/` lookup shows)."""
    return {"items": templates(rt, actor.shop_id, q, category)}


@router.post("/reply-templates", response_model=ReplyTemplateOut, status_code=201)
def create_template(
    body: ReplyTemplateIn, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    """A new quick reply; its shortcode must be free in the shop (409 `reply_template.shortcode_taken`)."""
    with rt.db.write() as session:
        return template_out(service.do_create_template(session, actor.shop_id, body))


@router.post("/reply-templates/restore-defaults", response_model=ReplyTemplateList)
def restore_defaults(actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    """Add back the default quick replies whose shortcode is free; answers with those added."""
    with rt.db.write() as session:
        return {"items": [template_out(t) for t in service.do_restore_defaults(session, actor.shop_id)]}


@router.get("/reply-templates/{template_id}", response_model=ReplyTemplateOut)
def get_template(
    template_id: PathId, actor: Actor = Depends(staff("chat.read")), rt: Runtime = Depends(get_runtime)
):
    with rt.db.read() as session:
        return template_out(service.access_template(session, actor.shop_id, template_id))


@router.patch("/reply-templates/{template_id}", response_model=ReplyTemplateOut)
def update_template(
    template_id: PathId,
    body: ReplyTemplatePatch,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.write() as session:
        return template_out(service.do_update_template(session, actor.shop_id, template_id, body))


@router.delete("/reply-templates/{template_id}", status_code=204)
def delete_template(
    template_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    with rt.db.write() as session:
        service.do_delete_template(session, actor.shop_id, template_id)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/reply-preview", response_model=PreviewOut)
def reply_preview(
    conversation_id: PathId,
    body: PreviewIn,
    actor: Actor = Depends(staff("chat.read")),
    rt: Runtime = Depends(get_runtime),
):
    """A quick reply filled in for this conversation, to check and edit before sending. Values come
    from `order_id` (an order of this customer) or else the customer's current order; variables
    without a value stay as typed and are listed in `missing`. An order's values need
    `orders.read`: without it, `order_id` is refused (403) and only the customer's name is filled."""
    with_order = READ_ORDERS in actor.permissions
    if body.order_id is not None:
        check_permission(actor, READ_ORDERS)  # the order page would refuse them the same details
    with rt.db.read() as session:
        return service.preview(session, actor, conversation_id, body, with_order=with_order)
