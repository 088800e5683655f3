"""``/team``: members, roles and invitation links (auth/team.py, auth/invitations.py).

Everything needs ``team.manage``, except accepting an invitation, which is public: the link's
secret is the permission.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from shangliao.auth import invitations, team
from shangliao.auth.access import public, staff
from shangliao.auth.actor import Actor
from shangliao.auth.models import Invitation, Staff
from shangliao.auth.service import prepare_password
from shangliao.auth.team_schemas import (
    AcceptIn,
    InvitationCreatedOut,
    InvitationIn,
    InvitationOut,
    MemberIn,
    MemberOut,
    PasswordIn,
    RoleIn,
    RoleOut,
    RoleRef,
)
from shangliao.core.i18n import gettext
from shangliao.core.schemas import PathId
from shangliao.runtime import Runtime, get_runtime

router = APIRouter(tags=["team"])
MANAGE = "team.manage"


def member_out(session, member: Staff) -> MemberOut:
    choice = team.member_role(session, member)
    return MemberOut(
        id=member.id,
        username=member.username,
        display_name=member.display_name,
        role=member.role,
        role_id=member.role_id,
        role_name=gettext(choice.name) if choice.builtin else choice.name,
        active=member.active,
        created_at=member.created_at,
        last_login_at=member.last_login_at,
    )


def role_out(role: dict) -> RoleOut:
    return RoleOut(**(role | {"name": gettext(role["name"]) if role["builtin"] else role["name"]}))


def invitation_url(request: Request, raw: str) -> str:
    return str(request.base_url).rstrip("/") + invitations.INVITE_PATH + raw


# --- members -----------------------------------------------------------------------------------


@router.get("/team/members", response_model=list[MemberOut])
def list_members(actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    """The shop's members, active ones first."""
    with rt.db.read() as session:
        return [member_out(session, m) for m in team.list_members(session, actor.shop_id)]


@router.post("/team/members", response_model=MemberOut, status_code=201)
def create_member(body: MemberIn, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    """Add a member with a role and an initial password (they can change it later). Nobody grants
    a role with more than they hold; only an owner makes an owner."""
    hashed = prepare_password(body.password)  # before the unit: argon2 must not hold the writer
    with rt.db.write() as session:
        member = team.do_create_member(
            session,
            actor,
            username=body.username,
            password=hashed,
            display_name=body.display_name,
            role=body.role,
            role_id=body.role_id,
        )
        return member_out(session, member)


@router.put("/team/members/{staff_id}/role", response_model=MemberOut)
def change_role(
    staff_id: PathId, body: RoleRef, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    """Give a member another role; it takes effect on their next request, and their open sockets
    are ended to reconnect with it. The shop's last owner keeps the owner role."""
    with rt.db.write() as session:
        return member_out(
            session, team.do_change_role(session, actor, staff_id, role=body.role, role_id=body.role_id)
        )


@router.put("/team/members/{staff_id}/password", status_code=204)
def reset_password(
    staff_id: PathId,
    body: PasswordIn,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    """Set a member's password; their browser sessions are signed out."""
    with rt.db.read() as session:  # another shop's member is a 404, whatever the password
        team.access_member(session, actor, staff_id)
    hashed = prepare_password(body.password)
    with rt.db.write() as session:
        team.do_reset_password(session, actor, staff_id, hashed)


@router.post("/team/members/{staff_id}/deactivate", response_model=MemberOut)
def deactivate(staff_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    """Close a member's account: signed out everywhere, their API tokens revoked, no sign-in."""
    with rt.db.write() as session:
        return member_out(session, team.do_deactivate(session, actor, staff_id))


@router.post("/team/members/{staff_id}/reactivate", response_model=MemberOut)
def reactivate(staff_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    with rt.db.write() as session:
        return member_out(session, team.do_reactivate(session, actor, staff_id))


# --- roles -------------------------------------------------------------------------------------


@router.get("/team/roles", response_model=list[RoleOut])
def list_roles(actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    """The built-in roles and the shop's own, with their permissions and data scope."""
    with rt.db.read() as session:
        return [role_out(r) for r in team.list_roles(session, actor.shop_id)]


def _one_role(session, shop_id: int, role_id: int) -> RoleOut:
    return role_out(next(r for r in team.list_roles(session, shop_id) if r["id"] == role_id))


@router.post("/team/roles", response_model=RoleOut, status_code=201)
def create_role(body: RoleIn, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    """A role of the shop's own; it cannot hold a permission you lack."""
    with rt.db.write() as session:
        row = team.do_create_role(session, actor, **body.model_dump())
        return _one_role(session, actor.shop_id, row.id)


@router.put("/team/roles/{role_id}", response_model=RoleOut)
def update_role(
    role_id: PathId, body: RoleIn, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    """Change one of the shop's roles; its members get the new grant on their next request."""
    with rt.db.write() as session:
        team.do_update_role(session, actor, role_id, **body.model_dump())
        return _one_role(session, actor.shop_id, role_id)


@router.delete("/team/roles/{role_id}", status_code=204)
def delete_role(role_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    """Delete one of the shop's roles; refused (409 team.role_in_use) while members hold it."""
    with rt.db.write() as session:
        team.do_delete_role(session, actor, role_id)


# --- invitations -----------------------------------------------------------------------------------


def _invitation_out(row: Invitation) -> InvitationOut:
    return InvitationOut.model_validate(row, from_attributes=True)


@router.get("/team/invitations", response_model=list[InvitationOut])
def list_invitations(actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    """Links not yet used, revoked or expired (their secrets are not stored, so not shown)."""
    with rt.db.read() as session:
        return [_invitation_out(r) for r in invitations.pending_invitations(session, actor.shop_id)]


@router.post("/team/invitations", response_model=InvitationCreatedOut, status_code=201)
def create_invitation(
    body: InvitationIn,
    request: Request,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    """A one-time link to join the shop with a role; the link is shown only in this answer."""
    with rt.db.write() as session:
        raw, row = invitations.do_create_invitation(
            session, actor, role=body.role, role_id=body.role_id, days=body.expires_in_days
        )
        out = _invitation_out(row)
    return InvitationCreatedOut(**out.model_dump(), url=invitation_url(request, raw))


@router.delete("/team/invitations/{invitation_id}", status_code=204)
def revoke_invitation(
    invitation_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
):
    with rt.db.write() as session:
        invitations.do_revoke_invitation(session, actor, invitation_id)


@router.post("/invitations/accept", response_model=MemberOut, status_code=201)
def accept_invitation(body: AcceptIn, _=Depends(public()), rt: Runtime = Depends(get_runtime)):
    """Join a shop through an invitation link: pick a username and password; then sign in."""
    with rt.db.read() as session:  # a junk link costs a read, never a password hash
        invitations.open_invitation(session, body.token)
    hashed = prepare_password(body.password)
    with rt.db.write() as session:
        member = invitations.do_accept_invitation(
            session,
            body.token,
            username=body.username,
            password=hashed,
            display_name=body.display_name,
        )
        return member_out(session, member)
