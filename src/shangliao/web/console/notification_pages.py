"""The console's 通知 page: the member's notifications newest first (older pages by keyset), mark
read / all read, and what they want to be told of. The badge and the live toast are alerts.js's
(the count comes with the others from /alerts)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from shangliao.auth.access import signed_in
from shangliao.auth.actor import Actor
from shangliao.core.i18n import N_
from shangliao.core.schemas import MAX_ID, PathId
from shangliao.notifications import service
from shangliao.notifications.schemas import PreferencesIn
from shangliao.notifications.views import link_of, notification_out, title_of
from shangliao.orders.state import STATUS_LABELS, Status
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.forms import in_thread, read_form, refused_fields, save_then_show_saved
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)
PAGE = 30


@router.get("/notifications")
def notifications_page(
    request: Request,
    before: int | None = Query(None, ge=1, le=MAX_ID),
    unread: bool = Query(False),
    actor: Actor = Depends(signed_in()),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.read() as session:
        rows, next_before = service.page(session, actor, before_id=before, limit=PAGE, unread=unread)
        count = service.unread_count(session, actor)
        items = [notification_out(n) | {"title": title_of(n.kind, n.data or {}, n.count)} for n in rows]
    older = (
        f"/notifications?before={next_before}" + ("&unread=true" if unread else "") if next_before else None
    )
    return render(
        request,
        "notifications/list.html",
        section="notifications",
        items=items,
        unread=unread,
        unread_count=count,
        older=older,
        can_set_assignment="settings.manage" in actor.permissions,
    )


def _mark(rt: Runtime, actor: Actor, ids: list[int] | None) -> None:
    with rt.db.write() as session:
        service.do_mark_read(session, actor, ids)


@router.post("/notifications/read-all")
async def read_all(actor: Actor = Depends(signed_in()), rt: Runtime = Depends(get_runtime)):
    await in_thread(_mark, rt, actor, None)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/{notification_id}/open")
async def open_notification(
    notification_id: PathId, actor: Actor = Depends(signed_in()), rt: Runtime = Depends(get_runtime)
):
    """Mark it read and go to what it is about (another member's id: 404)."""

    def mark_and_find() -> str:
        with rt.db.write() as session:
            found = service.access_notification(session, actor, notification_id)
            service.do_mark_read(session, actor, [notification_id])
            return link_of(found.target_type, found.target_id)

    return RedirectResponse(await in_thread(mark_and_find), status_code=303)


def _preferences_page(request: Request, rt: Runtime, actor: Actor, message: str | None = None):
    with rt.db.read() as session:
        prefs = service.own_preferences(session, actor)
    kinds = [
        (kind, label)
        for kind, (label, permission) in service.KINDS.items()
        if permission in actor.permissions
    ]
    statuses = [(s, STATUS_LABELS[Status(s)]) for s in service.FOLLOWABLE]
    return render(
        request,
        "notifications/preferences.html",
        section="notifications",
        kinds=kinds,
        statuses=statuses,
        muted=prefs.muted,
        followed=prefs.statuses,
        can_follow="orders.read" in actor.permissions,
        message=message,
    )


@router.get("/notifications/preferences")
def preferences_page(
    request: Request, actor: Actor = Depends(signed_in()), rt: Runtime = Depends(get_runtime)
):
    return _preferences_page(request, rt, actor)


@router.post("/notifications/preferences")
async def save_preferences(
    request: Request, actor: Actor = Depends(signed_in()), rt: Runtime = Depends(get_runtime)
):
    form = await read_form(request)
    # The form lists the kinds to hear of (checked); muted are the others.
    heard = set(form.getlist("kind"))
    try:
        body = PreferencesIn(
            muted=[k for k in service.KINDS if k not in heard], statuses=list(form.getlist("status"))
        )
    except ValidationError as exc:
        raise refused_fields(
            exc, "console.bad_preferences", N_("Some choices are not known: {fields}.")
        ) from exc

    return await save_then_show_saved(
        rt,
        lambda session: service.do_set_preferences(session, actor, body.muted, body.statuses),
        "/notifications/preferences",
    )
