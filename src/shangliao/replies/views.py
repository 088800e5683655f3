"""How quick replies are answered, over the API and in the console alike."""

from __future__ import annotations

from typing import Any

from shangliao.replies import service
from shangliao.replies.models import ReplyTemplate
from shangliao.replies.schemas import ReplyTemplateOut
from shangliao.runtime import Runtime

# Adding, changing and deleting templates; reading and filling them needs only chat.read.
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
