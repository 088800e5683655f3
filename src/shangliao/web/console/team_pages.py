"""The console's 团队 Team page: members, roles with their permission matrix, invitation links; and
the public page an invitation link opens.

Forms post to the same use cases as the API (``auth/team.py``, ``auth/invitations.py``) and answer
with a redirect to the tab; a refusal (the last owner, a permission the editor lacks ...) shows
the tab again with the reason, so nothing typed is lost on a plain page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from shangliao.auth import invitations, team
from shangliao.auth.access import check_same_origin, public, set_session_cookie, sign_in, staff
from shangliao.auth.actor import Actor
from shangliao.auth.permissions import DATA_SCOPES, PERMISSIONS, SCOPE_ALL
from shangliao.auth.service import prepare_password
from shangliao.auth.team_api import invitation_url
from shangliao.core.errors import ShangliaoError
from shangliao.core.schemas import PathId
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop
from shangliao.web.console.forms import in_thread, read_form, row_id, whole_number
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)
MANAGE = "team.manage"
TABS = ("members", "roles", "invitations")
CUSTOM_PREFIX = "custom:"  # a role picker's value for one of the shop's roles: "custom:<id>"


def role_value(role: dict[str, Any]) -> str:
    """How a role picker names a role: its key, or ``custom:<id>``."""
    return role["key"] if role["builtin"] else f"{CUSTOM_PREFIX}{role['id']}"


def picked_role(value: str) -> tuple[str | None, int | None]:
    """A role picker's value as (built-in key, custom role id); a bad id is a role nobody has."""
    if value.startswith(CUSTOM_PREFIX):
        return None, row_id(value[len(CUSTOM_PREFIX) :]) or 0
    return value, None


def _member(row, role: team.RoleChoice) -> dict[str, Any]:
    fields = ("id", "username", "display_name", "active", "last_login_at")
    return {name: getattr(row, name) for name in fields} | {"role": role}


def _invitation(row, names: dict[str, str]) -> dict[str, Any]:
    value = row.role if row.role_id is None else f"{CUSTOM_PREFIX}{row.role_id}"
    return {"id": row.id, "expires_at": row.expires_at, "role_name": names.get(value, "")}


def _context(rt: Runtime, actor: Actor) -> dict[str, Any]:
    """What the three tabs show, read at one moment (plain data: rendered after the read ends)."""
    with rt.db.read() as session:
        roles = team.list_roles(session, actor.shop_id)
        names = {role_value(r): r["name"] for r in roles}
        members = [
            _member(m, team.member_role(session, m)) for m in team.list_members(session, actor.shop_id)
        ]
        pending = [_invitation(i, names) for i in invitations.pending_invitations(session, actor.shop_id)]
    return {
        "members": members,
        "roles": roles,
        "pending": pending,
        "permissions": PERMISSIONS,
        "scopes": DATA_SCOPES,
        "scope_all": SCOPE_ALL,
        "role_value": role_value,
        "is_owner": team.is_owner(actor),
    }


def show(request: Request, rt: Runtime, actor: Actor, tab: str, status: int = 200, **extra: Any):
    return render(request, "team/page.html", status, section="team", tab=tab, **(_context(rt, actor) | extra))


async def _act(
    request: Request,
    rt: Runtime,
    actor: Actor,
    tab: str,
    change,
    *,
    max_fields: int = 50,
    password: bool = False,
    member_id: int | None = None,
):
    """Run ``change(session, form)`` in a write unit, then go back to ``tab``; a refusal shows the
    tab with its reason. With ``password``, the form's password is checked and hashed before the
    unit opens (rule 16) and handed to ``change`` as ``form["password"]``."""
    form = await read_form(request, max_fields=max_fields)

    def run():
        try:
            fields = dict(form)
            if member_id is not None:  # another shop's member is a 404 before the form is judged
                with rt.db.read() as session:
                    team.access_member(session, actor, member_id)
            if password:
                fields["password"] = prepare_password(str(form.get("password") or ""))
            with rt.db.write() as session:
                change(session, _Form(form, fields))
        except ShangliaoError as exc:
            return show(request, rt, actor, tab, exc.status, error=exc.localized())
        return RedirectResponse("/team" if tab == "members" else f"/team/{tab}", status_code=303)

    return await in_thread(run)


class _Form:
    """The posted form, with some fields replaced (the password by its hash)."""

    def __init__(self, form: FormData, fields: dict[str, Any]) -> None:
        self._form, self._fields = form, fields

    def get(self, name: str) -> Any:
        return self._fields.get(name)

    def getlist(self, name: str) -> list[Any]:
        return self._form.getlist(name)


def _text(form: FormData | _Form, name: str) -> str:
    return str(form.get(name) or "").strip()


# --- the page ------------------------------------------------------------------------------------


@router.get("/team")
def members_tab(request: Request, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    return show(request, rt, actor, "members")


@router.get("/team/roles")
def roles_tab(request: Request, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    return show(request, rt, actor, "roles")


@router.get("/team/invitations")
def invitations_tab(
    request: Request, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    return show(request, rt, actor, "invitations")


# --- members -------------------------------------------------------------------------------------


@router.post("/team/members")
async def add_member(
    request: Request, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    def change(session, form):
        role, role_id = picked_role(_text(form, "role"))
        team.do_create_member(
            session,
            actor,
            username=_text(form, "username"),
            password=form.get("password"),
            display_name=_text(form, "display_name"),
            role=role,
            role_id=role_id,
        )

    return await _act(request, rt, actor, "members", change, password=True)


@router.post("/team/members/{staff_id}/role")
async def change_role(
    staff_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    def change(session, form):
        role, role_id = picked_role(_text(form, "role"))
        team.do_change_role(session, actor, staff_id, role=role, role_id=role_id)

    return await _act(request, rt, actor, "members", change)


@router.post("/team/members/{staff_id}/password")
async def reset_password(
    staff_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    def change(session, form):
        team.do_reset_password(session, actor, staff_id, form.get("password"))

    return await _act(request, rt, actor, "members", change, password=True, member_id=staff_id)


@router.post("/team/members/{staff_id}/deactivate")
async def deactivate(
    staff_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    return await _act(request, rt, actor, "members", lambda s, _f: team.do_deactivate(s, actor, staff_id))


@router.post("/team/members/{staff_id}/reactivate")
async def reactivate(
    staff_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    return await _act(request, rt, actor, "members", lambda s, _f: team.do_reactivate(s, actor, staff_id))


# --- roles ---------------------------------------------------------------------------------------


def _role_fields(form: FormData | _Form) -> dict[str, Any]:
    return {
        "name": _text(form, "name"),
        "permissions": [str(p) for p in form.getlist("permissions")],
        "data_scope": _text(form, "data_scope") or SCOPE_ALL,
        "sees_unassigned": form.get("sees_unassigned") == "on",
    }


# One field per permission, and a few more.
_ROLE_FIELDS = len(PERMISSIONS) + 10


@router.post("/team/roles")
async def create_role(
    request: Request, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    return await _act(
        request,
        rt,
        actor,
        "roles",
        lambda s, form: team.do_create_role(s, actor, **_role_fields(form)),
        max_fields=_ROLE_FIELDS,
    )


@router.post("/team/roles/{role_id}")
async def update_role(
    role_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    return await _act(
        request,
        rt,
        actor,
        "roles",
        lambda s, form: team.do_update_role(s, actor, role_id, **_role_fields(form)),
        max_fields=_ROLE_FIELDS,
    )


@router.post("/team/roles/{role_id}/delete")
async def delete_role(
    role_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    return await _act(request, rt, actor, "roles", lambda s, _f: team.do_delete_role(s, actor, role_id))


# --- invitations ---------------------------------------------------------------------------------


@router.post("/team/invitations")
async def create_invitation(
    request: Request, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    """The new link is shown on this answer only (its secret is not stored), with a copy button."""
    form = await read_form(request)

    def run():
        role, role_id = picked_role(_text(form, "role"))
        days = whole_number(_text(form, "days")) or invitations.INVITATION_DAYS
        try:
            with rt.db.write() as session:
                raw, _row = invitations.do_create_invitation(
                    session, actor, role=role, role_id=role_id, days=days
                )
        except ShangliaoError as exc:
            return show(request, rt, actor, "invitations", exc.status, error=exc.localized())
        return show(request, rt, actor, "invitations", created_url=invitation_url(request, raw))

    return await in_thread(run)


@router.post("/team/invitations/{invitation_id}/revoke")
async def revoke_invitation(
    invitation_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    return await _act(
        request,
        rt,
        actor,
        "invitations",
        lambda s, _f: invitations.do_revoke_invitation(s, actor, invitation_id),
    )


# --- the invitee's page ------------------------------------------------------------------------------


def _invited(rt: Runtime, token: str) -> dict[str, Any]:
    """The shop and role a live link offers (or the "no longer valid" refusal)."""
    with rt.db.read() as session:
        row = invitations.open_invitation(session, token)
        choice = invitations.invitation_role(session, row)
        shop = session.get(Shop, row.shop_id)
        return {"shop_name": shop.name, "role_name": choice.name, "builtin": choice.builtin}


@router.get("/join/{token}")
def join_page(token: str, request: Request, _=Depends(public()), rt: Runtime = Depends(get_runtime)):
    return render(
        request, "team/join.html", invited=_invited(rt, token[:128]), username="", display_name="", error=None
    )


@router.post("/join/{token}")
async def join(token: str, request: Request, _=Depends(public()), rt: Runtime = Depends(get_runtime)):
    """Make the account through the link, then sign the newcomer in."""
    check_same_origin(request)
    form = await read_form(request)
    token = token[:128]
    username, display_name = _text(form, "username"), _text(form, "display_name")
    password = str(form.get("password") or "")

    def run():
        invited = _invited(rt, token)  # a junk link costs a read, never a password hash
        try:
            hashed = prepare_password(password)
            with rt.db.write() as session:
                invitations.do_accept_invitation(
                    session, token, username=username, password=hashed, display_name=display_name
                )
        except ShangliaoError as exc:
            if exc.status == 404:
                raise
            context = {"username": username, "display_name": display_name, "error": exc.localized()}
            return render(request, "team/join.html", exc.status, invited=invited, **context)
        return None

    refused = await in_thread(run)
    if refused is not None:
        return refused
    raw, _staff_id, _shop_id = await run_in_threadpool(sign_in, request, username, password)
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, request, raw, days=rt.settings.session_days)
    return response
