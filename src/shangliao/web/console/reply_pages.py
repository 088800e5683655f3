"""Quick replies in the console: the shop's templates by category, added, edited and deleted here,
each previewed with sample values. The inbox composer offers the same templates as ``/shortcode``.

Forms post to the same services as the API (``replies.service``); an HTMX request gets the list
fragment back, a plain form post a redirect to the page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.i18n import N_, gettext
from shangliao.core.schemas import PathId
from shangliao.replies import service
from shangliao.replies.schemas import MAX_PREVIEW, ReplyTemplateIn, ReplyTemplatePatch
from shangliao.replies.variables import NAMES, SAMPLE
from shangliao.replies.views import MANAGE, template_out, templates
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.forms import in_thread, read_form, refused_fields
from shangliao.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

FIELDS = ("category", "shortcode", "title", "body")


def _sample(body: str) -> dict[str, Any]:
    """``body`` filled with made-up values, and the ``{…}`` in it that are no variable."""
    return {"text": service.render(body, SAMPLE).text, "unknown": service.unknown_variables(body)}


def _context(rt: Runtime, actor: Actor) -> dict[str, Any]:
    items = [{**t, "sample": _sample(t["body"])} for t in templates(rt, actor.shop_id)]
    groups = [
        (code, label, [t for t in items if t["category"] == code])
        for code, label in service.CATEGORIES.items()
    ]
    return {
        "groups": groups,
        "count": len(items),
        "can_manage": MANAGE in actor.permissions,
        "categories": service.CATEGORIES,
        "variables": NAMES,
    }


def show_list(request: Request, rt: Runtime, actor: Actor, message: str | None = None):
    template = "replies/_list.html" if is_htmx(request) else "replies/list.html"
    return render(request, template, section="replies", message=message, **_context(rt, actor))


def _done(request: Request, rt: Runtime, actor: Actor, message: str):
    if not is_htmx(request):
        return RedirectResponse("/replies", status_code=303)
    return show_list(request, rt, actor, message)


def _typed(model: type[BaseModel], form: FormData) -> Any:
    fields = {name: str(form.get(name) or "") for name in FIELDS}
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise refused_fields(
            exc, "console.bad_reply", N_("Some quick reply fields are missing or too long: {fields}.")
        ) from exc


def _form(request: Request, template: dict[str, Any] | None):
    """The editor of ``template`` (None: a new one): inline in the list for HTMX, else a page."""
    context = {
        "t": template,
        "key": template["id"] if template else "new",
        "categories": service.CATEGORIES,
        "variables": NAMES,
        "preview": _sample(template["body"]) if template else None,
    }
    page = "replies/_form.html" if is_htmx(request) else "replies/edit.html"
    return render(request, page, section="replies", **context)


@router.get("/replies")
def replies_page(
    request: Request, actor: Actor = Depends(staff("chat.read")), rt: Runtime = Depends(get_runtime)
):
    return show_list(request, rt, actor)


# The fixed paths come before /replies/{template_id}, which would otherwise take them.


@router.post("/replies/preview")
async def preview_sample(
    request: Request, actor: Actor = Depends(staff("chat.read")), rt: Runtime = Depends(get_runtime)
):
    """The text being typed, filled with sample values (the editor's live preview)."""
    body = str((await read_form(request, max_part_size=MAX_PREVIEW * 4)).get("body") or "")[:MAX_PREVIEW]
    return render(request, "replies/_preview.html", preview=_sample(body))


@router.post("/replies/restore-defaults")
def restore_defaults(
    request: Request, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    with rt.db.write() as session:
        added = len(service.do_restore_defaults(session, actor.shop_id))
    if added:
        message = gettext(N_("{n} default quick replies added back."), n=added)
    else:
        message = gettext(N_("All the default quick replies are already there."))
    return _done(request, rt, actor, message)


@router.get("/replies/new")
def new_reply(request: Request, actor: Actor = Depends(staff(MANAGE))):
    return _form(request, None)


@router.post("/replies")
async def create_reply(
    request: Request, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    form = await read_form(request, max_part_size=MAX_PREVIEW * 4)

    def create():
        body = _typed(ReplyTemplateIn, form)
        with rt.db.write() as session:
            row = service.do_create_template(session, actor.shop_id, body)
            shortcode = row.shortcode
        return _done(request, rt, actor, gettext(N_("Quick reply /{shortcode} added."), shortcode=shortcode))

    return await in_thread(create)


@router.get("/replies/{template_id}/edit")
def edit_reply(
    template_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.read() as session:
        template = template_out(service.access_template(session, actor.shop_id, template_id))
    return _form(request, template)


@router.post("/replies/{template_id}")
async def update_reply(
    template_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    form = await read_form(request, max_part_size=MAX_PREVIEW * 4)

    def update():
        with rt.db.write() as session:
            service.access_template(session, actor.shop_id, template_id)  # another shop's: 404 first
            service.do_update_template(session, actor.shop_id, template_id, _typed(ReplyTemplatePatch, form))
        return _done(request, rt, actor, gettext(N_("Saved.")))

    return await in_thread(update)


@router.post("/replies/{template_id}/delete")
def delete_reply(
    template_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.write() as session:
        service.do_delete_template(session, actor.shop_id, template_id)
    return _done(request, rt, actor, gettext(N_("Quick reply deleted.")))
