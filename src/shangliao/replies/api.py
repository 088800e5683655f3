"""HTTP routes of quick replies: the shop's templates, and a template filled for a conversation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.chat.service import access_conversation
from shangliao.core.schemas import PathId
from shangliao.replies import service, variables
from shangliao.replies.models import ReplyTemplate
from shangliao.replies.schemas import (
    Category,
    PreviewIn,
    PreviewOut,
    ReplyTemplateIn,
    ReplyTemplateList,
    ReplyTemplateOut,
    ReplyTemplatePatch,
)
from shangliao.runtime import Runtime, get_runtime

router = APIRouter(tags=["quick replies"])

MANAGE = "chat.templates"


def template_out(row: ReplyTemplate) -> dict[str, Any]:
    return ReplyTemplateOut.model_validate(row, from_attributes=True).model_dump()


def templates(rt: Runtime, shop_id: int, q: str | None = None, category: str | None = None) -> list[dict]:
    """The shop's templates; a shop that predates quick replies gets its defaults on this first read."""
    with rt.db.read() as session:
        if service.defaults_seeded(session, shop_id):
            return [template_out(t) for t in service.list_templates(session, shop_id, q, category)]
    with rt.db.write() as session:
        service.ensure_defaults(session, shop_id)
        return [template_out(t) for t in service.list_templates(session, shop_id, q, category)]


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


def preview(
    session: Session, rt: Runtime, shop_id: int, conversation_id: int, body: PreviewIn
) -> dict[str, Any]:
    """``body``'s template (or text) filled with the values of the conversation's current order."""
    conversation = access_conversation(session, shop_id, conversation_id)
    text = body.body
    if body.template_id is not None:
        text = service.access_template(session, shop_id, body.template_id).body
    values, order_id = variables.values_for(session, shop_id, conversation, body.order_id)
    rendered = service.render(text or "", values)
    return {
        "text": rendered.text,
        "variables": {name: values.get(name) for name in variables.NAMES},
        "missing": rendered.missing,
        "order_id": order_id,
    }


@router.post("/conversations/{conversation_id}/reply-preview", response_model=PreviewOut)
def reply_preview(
    conversation_id: PathId,
    body: PreviewIn,
    actor: Actor = Depends(staff("chat.read")),
    rt: Runtime = Depends(get_runtime),
):
    """A quick reply filled in for this conversation, to check and edit before sending. Values come
    from `order_id` (an order of this customer) or else the customer's current order; variables
    without a value stay as typed and are listed in `missing`."""
    with rt.db.read() as session:
        return preview(session, rt, actor.shop_id, conversation_id, body)
