"""``/api/v1/notifications``: a member's own notifications and preferences. Any signed-in member
has them (what they are told of was already limited to what they may see)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from shangliao.auth.access import signed_in
from shangliao.auth.actor import Actor
from shangliao.core.schemas import MAX_ID, PathId
from shangliao.notifications import service
from shangliao.notifications.schemas import NotificationPage, PreferencesIn, PreferencesOut, ReadOut
from shangliao.notifications.views import notification_out
from shangliao.runtime import Runtime, get_runtime

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("", response_model=NotificationPage)
def list_notifications(
    before: int | None = Query(None, ge=1, le=MAX_ID, description="An id from `next_before`."),
    limit: int = Query(20, ge=1, le=100),
    unread: bool = Query(False, description="Only the unread ones."),
    actor: Actor = Depends(signed_in()),
    rt: Runtime = Depends(get_runtime),
):
    """The caller's notifications, newest first."""
    with rt.db.read() as session:
        rows, next_before = service.page(session, actor, before_id=before, limit=limit, unread=unread)
        return {
            "items": [notification_out(n) for n in rows],
            "next_before": next_before,
            "unread": service.unread_count(session, actor),
        }


def _read(rt: Runtime, actor: Actor, ids: list[int] | None) -> dict:
    with rt.db.write() as session:
        changed = service.do_mark_read(session, actor, ids)
        return {"changed": changed, "unread": service.unread_count(session, actor)}


@router.post("/{notification_id}/read", response_model=ReadOut)
def mark_read(
    notification_id: PathId, actor: Actor = Depends(signed_in()), rt: Runtime = Depends(get_runtime)
):
    """Mark one of the caller's notifications read (another member's id: 404)."""
    with rt.db.write() as session:
        service.access_notification(session, actor, notification_id)
        changed = service.do_mark_read(session, actor, [notification_id])
        return {"changed": changed, "unread": service.unread_count(session, actor)}


@router.post("/read-all", response_model=ReadOut)
def mark_all_read(actor: Actor = Depends(signed_in()), rt: Runtime = Depends(get_runtime)):
    """Mark every notification of the caller read."""
    return _read(rt, actor, None)


@router.get("/preferences", response_model=PreferencesOut)
def get_preferences(actor: Actor = Depends(signed_in()), rt: Runtime = Depends(get_runtime)):
    """The kinds the caller muted and the order statuses they follow."""
    with rt.db.read() as session:
        prefs = service.own_preferences(session, actor)
    return {"muted": sorted(prefs.muted), "statuses": sorted(prefs.statuses)}


@router.put("/preferences", response_model=PreferencesOut)
def put_preferences(
    body: PreferencesIn, actor: Actor = Depends(signed_in()), rt: Runtime = Depends(get_runtime)
):
    """Choose what to be told of: every kind is on unless muted; no status is followed unless named."""
    with rt.db.write() as session:
        prefs = service.do_set_preferences(session, actor, body.muted, body.statuses)
    return {"muted": sorted(prefs.muted), "statuses": sorted(prefs.statuses)}
