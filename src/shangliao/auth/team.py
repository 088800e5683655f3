"""Members and roles of a shop: who works there, with which role, and what the shop's own roles grant.

Every use case here takes the acting member (``Actor``) and keeps four rules:
- nobody grants more than they hold: a role given to a member, or a custom role made or edited,
  carries no permission and no wider data scope than the editor's own (so nobody can edit
  themselves into more permissions, and a member can only be managed by someone holding at least
  what the member holds);
- only an owner (signed in as one, not a token narrowed to fewer permissions) makes, changes,
  resets or deactivates an owner;
- the shop's last active owner cannot be demoted or deactivated;
- a change takes effect at once: a new role is recorded as ``auth.staff_changed`` in the shop's
  log (each process drops the member's cached callers and ends their sockets, which reconnect with
  the new permissions); deactivation revokes every credential of the member (rule 20).

Every change is written to the audit log in the same transaction (``audit/log.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shangliao.audit.log import record_audit
from shangliao.auth.actor import Actor
from shangliao.auth.caller_cache import CALLERS, STAFF_CHANGED_EVENT
from shangliao.auth.models import Credential, Role, Staff
from shangliao.auth.permissions import (
    BUILTIN_ROLES,
    CUSTOM,
    DATA_SCOPES,
    OWNER,
    SCOPE_ALL,
    Grant,
    check_permission_names,
)
from shangliao.auth.service import _revoke_where, do_create_staff, do_set_password, role_grant
from shangliao.auth.service import access_token as _access_any_token
from shangliao.core.errors import Conflict, Forbidden, Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.events.log import DomainEvent, record
from shangliao.storage.database import after_commit

ROLE_NAME_MAX = 32


@dataclass(frozen=True)
class RoleChoice:
    """A role as a member holds it: a built-in key, or ``custom`` with the shop's row."""

    role: str
    role_id: int | None
    grant: Grant
    name: str  # a built-in role's msgid (translated when shown), or the custom role's own name

    @property
    def builtin(self) -> bool:
        return self.role != CUSTOM


# --- who may do what ---------------------------------------------------------------------------


def is_owner(actor: Actor) -> bool:
    """Signed in as an owner with the owner's whole grant (a narrowed token is not an owner here)."""
    return actor.role == OWNER and not actor.scoped


def exceeds(grant: Grant, actor: Actor) -> list[str]:
    """What ``grant`` gives beyond ``actor``'s own: permission names, and "data_scope" or
    "sees_unassigned" when it sees rows the actor may not (empty: within the actor's)."""
    beyond = sorted(grant.permissions - actor.permissions)
    if actor.limited and not grant.limited:
        beyond.append("data_scope")
    if actor.limited and grant.sees_unassigned and not actor.sees_unassigned:
        beyond.append("sees_unassigned")
    return beyond


def check_within_own(actor: Actor, grant: Grant) -> None:
    beyond = exceeds(grant, actor)
    if beyond:
        raise Forbidden(
            "team.beyond_own",
            N_("You cannot grant what you do not hold yourself: {names}."),
            names=", ".join(beyond),
            details={"beyond": beyond},
        )


def check_owner_change(actor: Actor, *roles: str) -> None:
    """Only an owner makes, changes or touches an owner."""
    if OWNER in roles and not is_owner(actor):
        raise Forbidden("team.owner_only", N_("Only an owner can make or change an owner."))


def check_may_manage(session: Session, actor: Actor, member: Staff) -> None:
    """Whether ``actor`` may change ``member`` at all: an owner only by an owner, anyone else only
    by someone who holds at least what they hold."""
    check_owner_change(actor, member.role)
    check_within_own(actor, member_role(session, member).grant)


def may_manage(session: Session, actor: Actor, member: Staff) -> bool:
    """:func:`check_may_manage` as a yes or no (for lists that leave out what the actor may not touch)."""
    try:
        check_may_manage(session, actor, member)
    except Forbidden:
        return False
    return True


def token_manageable(session: Session, actor: Actor, cred: Credential) -> bool:
    """Whether ``actor`` may see and revoke the API token ``cred``: their own, or one of a member
    they may manage (an admin does not touch the owner's tokens, nor anyone's holding more)."""
    if cred.staff_id == actor.staff_id:
        return True
    holder = session.get(Staff, cred.staff_id)
    return holder is not None and may_manage(session, actor, holder)


def access_token(session: Session, actor: Actor, token_id: int) -> Credential:
    """One of the shop's API tokens the actor may manage; any other is "no such token" (404)."""
    cred = _access_any_token(session, actor, token_id)
    if not token_manageable(session, actor, cred):
        raise NotFound("token.not_found", N_("No such API token."))
    return cred


def check_not_last_owner(session: Session, member: Staff) -> None:
    """Refuse to take the shop's last active owner away. The owners' rows are locked (PostgreSQL)
    so two owners demoting each other at once cannot both pass; SQLite has one writer anyway."""
    if member.role != OWNER or not member.active:
        return
    owners = session.scalars(
        select(Staff.id)
        .where(Staff.shop_id == member.shop_id, Staff.role == OWNER, Staff.active.is_(True))
        .with_for_update()
    ).all()
    if list(owners) == [member.id]:
        raise Conflict(
            "team.last_owner",
            N_("{name} is the shop's last owner: make someone else an owner first."),
            name=member.display_name,
        )


# --- roles ---------------------------------------------------------------------------------------


def builtin_choice(key: str) -> RoleChoice:
    found = BUILTIN_ROLES[key]
    return RoleChoice(key, None, found.grant, found.name)


def custom_choice(row: Role) -> RoleChoice:
    grant = role_grant(CUSTOM, row.permissions, row.data_scope, row.sees_unassigned)
    return RoleChoice(CUSTOM, row.id, grant, row.name)


def member_role(session: Session, member: Staff) -> RoleChoice:
    if member.role != CUSTOM:
        return (
            builtin_choice(member.role)
            if member.role in BUILTIN_ROLES
            else RoleChoice(member.role, None, Grant(frozenset()), member.role)
        )
    row = session.get(Role, member.role_id) if member.role_id else None
    return custom_choice(row) if row else RoleChoice(CUSTOM, None, Grant(frozenset()), "")


def member_actor(session: Session, member: Staff) -> Actor:
    """``member`` as they would act signed in now, with their role's whole current grant (to
    re-check something they did earlier against what they hold today)."""
    grant = member_role(session, member).grant
    return Actor(
        shop_id=member.shop_id,
        staff_id=member.id,
        role=member.role,
        permissions=grant.permissions,
        via="session",
        display_name=member.display_name,
        data_scope=grant.data_scope,
        sees_unassigned=grant.sees_unassigned,
    )


def access_role(session: Session, shop_id: int, role_id: int) -> Role:
    row = session.get(Role, role_id)
    if row is None or row.shop_id != shop_id:
        raise NotFound("team.role_not_found", N_("No such role."))
    return row


def choose_role(session: Session, shop_id: int, role: str | None, role_id: int | None) -> RoleChoice:
    """The role named by a form or request: a built-in key, or the id of one of the shop's roles."""
    if role_id is not None:
        return custom_choice(access_role(session, shop_id, role_id))
    if role in BUILTIN_ROLES:
        return builtin_choice(role)
    raise Invalid("auth.unknown_role", N_("Unknown role {role}."), role=role or "")


def list_roles(session: Session, shop_id: int) -> list[dict[str, Any]]:
    """The built-in roles, then the shop's own, each with its grant and how many members hold it."""
    held = dict(
        session.execute(
            select(func.coalesce(Staff.role_id, -1), func.count())
            .where(Staff.shop_id == shop_id, Staff.role == CUSTOM)
            .group_by(Staff.role_id)
        ).all()
    )
    builtin_held = dict(
        session.execute(
            select(Staff.role, func.count())
            .where(Staff.shop_id == shop_id, Staff.role != CUSTOM)
            .group_by(Staff.role)
        ).all()
    )
    rows = session.scalars(select(Role).where(Role.shop_id == shop_id).order_by(Role.name, Role.id))
    out = [_role_out(builtin_choice(k), builtin_held.get(k, 0)) for k in BUILTIN_ROLES]
    out += [_role_out(custom_choice(r), held.get(r.id, 0)) for r in rows]
    return out


def _role_out(choice: RoleChoice, members: int) -> dict[str, Any]:
    return {
        "key": choice.role if choice.builtin else None,
        "id": choice.role_id,
        "name": choice.name,
        "builtin": choice.builtin,
        "permissions": sorted(choice.grant.permissions),
        "data_scope": choice.grant.data_scope,
        "sees_unassigned": choice.grant.sees_unassigned,
        "members": members,
    }


def check_role_fields(name: str, permissions: list[str], data_scope: str) -> str:
    name = name.strip()
    if not name or len(name) > ROLE_NAME_MAX:
        raise Invalid("team.bad_role_name", N_("A role's name is 1-{n} characters."), n=ROLE_NAME_MAX)
    unknown = check_permission_names(permissions)
    if unknown:
        raise Invalid("auth.unknown_scope", N_("Unknown permission: {names}."), names=", ".join(unknown))
    if data_scope not in DATA_SCOPES:
        raise Invalid("team.bad_data_scope", N_("Unknown data scope {scope}."), scope=data_scope)
    return name


def _grant(permissions: list[str], data_scope: str, sees_unassigned: bool) -> Grant:
    # "Sees unassigned" only means something for an assigned-only role.
    return Grant(frozenset(permissions), data_scope, sees_unassigned and data_scope != SCOPE_ALL)


def _check_name_free(session: Session, shop_id: int, name: str, role_id: int | None = None) -> None:
    clash = session.scalar(
        select(Role.id).where(Role.shop_id == shop_id, Role.name == name, Role.id != (role_id or 0))
    )
    if clash is not None:
        raise Conflict("team.role_name_taken", N_("There is already a role named {name}."), name=name)


def do_create_role(
    session: Session,
    actor: Actor,
    *,
    name: str,
    permissions: list[str],
    data_scope: str,
    sees_unassigned: bool,
) -> Role:
    name = check_role_fields(name, permissions, data_scope)
    grant = _grant(permissions, data_scope, sees_unassigned)
    check_within_own(actor, grant)
    _check_name_free(session, actor.shop_id, name)
    row = Role(
        shop_id=actor.shop_id,
        name=name,
        permissions=sorted(grant.permissions),
        data_scope=grant.data_scope,
        sees_unassigned=grant.sees_unassigned,
    )
    session.add(row)
    session.flush()
    _audit(session, actor, "team.role_created", "role", row.id, _grant_data(grant) | {"name": name})
    return row


def do_update_role(
    session: Session,
    actor: Actor,
    role_id: int,
    *,
    name: str,
    permissions: list[str],
    data_scope: str,
    sees_unassigned: bool,
) -> Role:
    """Change a custom role; its members' new grant takes effect at once (their cached callers
    dropped, their sockets ended to reconnect). An editor can neither widen a role beyond their
    own grant nor edit one that already exceeds it."""
    row = access_role(session, actor.shop_id, role_id)
    before = custom_choice(row).grant
    check_within_own(actor, before)
    name = check_role_fields(name, permissions, data_scope)
    grant = _grant(permissions, data_scope, sees_unassigned)
    check_within_own(actor, grant)
    _check_name_free(session, actor.shop_id, name, row.id)
    row.name = name
    row.permissions = sorted(grant.permissions)
    row.data_scope = grant.data_scope
    row.sees_unassigned = grant.sees_unassigned
    session.flush()
    holders = session.scalars(
        select(Staff.id).where(Staff.shop_id == actor.shop_id, Staff.role_id == row.id)
    ).all()
    staff_changed(session, actor.shop_id, list(holders))
    _audit(
        session,
        actor,
        "team.role_changed",
        "role",
        row.id,
        _grant_data(grant) | {"name": name, "before": _grant_data(before)},
    )
    return row


def do_delete_role(session: Session, actor: Actor, role_id: int) -> None:
    row = access_role(session, actor.shop_id, role_id)
    check_within_own(actor, custom_choice(row).grant)
    holders = session.scalar(select(func.count()).where(Staff.role_id == row.id)) or 0
    if holders:
        raise Conflict(
            "team.role_in_use",
            N_("{n} members still hold the role {name}: give them another role first."),
            n=holders,
            name=row.name,
            details={"members": holders},
        )
    _audit(session, actor, "team.role_deleted", "role", row.id, {"name": row.name})
    session.delete(row)
    session.flush()


def _grant_data(grant: Grant) -> dict[str, Any]:
    return {
        "permissions": sorted(grant.permissions),
        "data_scope": grant.data_scope,
        "sees_unassigned": grant.sees_unassigned,
    }


# --- members -------------------------------------------------------------------------------------


def list_members(session: Session, shop_id: int) -> list[Staff]:
    return list(
        session.scalars(select(Staff).where(Staff.shop_id == shop_id).order_by(Staff.active.desc(), Staff.id))
    )


def staff_of(session: Session, shop_id: int, *, active_only: bool = True) -> list[tuple[int, str]]:
    """``(id, display name)`` of the shop's members in id order (a picker's choices); with
    ``active_only=False`` former colleagues too (the names of who did what, in a history)."""
    stmt = select(Staff.id, Staff.display_name).where(Staff.shop_id == shop_id).order_by(Staff.id)
    rows = session.execute(stmt.where(Staff.active.is_(True)) if active_only else stmt)
    return [(r.id, r.display_name) for r in rows]


def access_member(session: Session, actor: Actor, staff_id: int) -> Staff:
    member = session.get(Staff, staff_id)
    if member is None or member.shop_id != actor.shop_id:
        raise NotFound("team.member_not_found", N_("No such member."))
    return member


def do_create_member(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    display_name: str,
    role: str | None,
    role_id: int | None,
) -> Staff:
    choice = choose_role(session, actor.shop_id, role, role_id)
    check_owner_change(actor, choice.role)
    check_within_own(actor, choice.grant)
    member = join(
        session, actor.shop_id, choice, username=username, password=password, display_name=display_name
    )
    _audit(session, actor, "team.member_created", "staff", member.id, _role_data(choice))
    return member


def join(
    session: Session, shop_id: int, choice: RoleChoice, *, username: str, password: str, display_name: str
) -> Staff:
    """A new member with ``choice`` (the rules were checked by whoever chose it)."""
    return do_create_staff(
        session,
        shop_id,
        username=username,
        password=password,
        display_name=display_name,
        role=choice.role,
        role_id=choice.role_id,
    )


def do_change_role(
    session: Session, actor: Actor, staff_id: int, *, role: str | None, role_id: int | None
) -> Staff:
    member = access_member(session, actor, staff_id)
    choice = choose_role(session, actor.shop_id, role, role_id)
    before = member_role(session, member)
    if (before.role, before.role_id) == (choice.role, choice.role_id):
        return member  # nothing changes: no event, no audit entry, no socket ended
    check_may_manage(session, actor, member)
    check_owner_change(actor, choice.role)
    check_within_own(actor, choice.grant)
    if choice.role != OWNER:
        check_not_last_owner(session, member)
    member.role, member.role_id = choice.role, choice.role_id
    session.flush()
    staff_changed(session, actor.shop_id, [member.id])
    _audit(
        session,
        actor,
        "team.member_role_changed",
        "staff",
        member.id,
        _role_data(choice) | {"before": _role_data(before)} | _links_closed(session, member),
    )
    return member


def do_reset_password(session: Session, actor: Actor, staff_id: int, password: str) -> Staff:
    """Set a member's password; their browser sessions are signed out (API tokens stay)."""
    member = access_member(session, actor, staff_id)
    if member.id != actor.staff_id:
        check_may_manage(session, actor, member)
    do_set_password(session, member, password)
    _audit(session, actor, "team.member_password_reset", "staff", member.id)
    return member


def do_deactivate(session: Session, actor: Actor, staff_id: int) -> Staff:
    """Close a member's account: every credential (sessions and API tokens) revoked, so each
    process forgets their callers and ends their sockets; they can no longer sign in."""
    member = access_member(session, actor, staff_id)
    if not member.active:
        return member
    check_may_manage(session, actor, member)
    check_not_last_owner(session, member)
    member.active = False
    session.flush()
    _revoke_where(session, Credential.staff_id == member.id, Credential.revoked_at.is_(None))
    _audit(session, actor, "team.member_deactivated", "staff", member.id, _links_closed(session, member))
    return member


def do_reactivate(session: Session, actor: Actor, staff_id: int) -> Staff:
    """Open a closed account again; they sign in anew (their old credentials stay revoked)."""
    member = access_member(session, actor, staff_id)
    if member.active:
        return member
    check_may_manage(session, actor, member)
    member.active = True
    session.flush()
    _audit(session, actor, "team.member_reactivated", "staff", member.id)
    return member


def _links_closed(session: Session, member: Staff) -> dict[str, Any]:
    """Revoke the pending invitation links ``member`` could no longer make; their ids for the audit
    entry of the change that closed them (none: nothing added)."""
    # Imported here: invitations.py builds on this module's rules.
    from shangliao.auth.invitations import revoke_links_beyond

    revoked = revoke_links_beyond(session, member)
    return {"invitations_revoked": revoked} if revoked else {}


def _role_data(choice: RoleChoice) -> dict[str, Any]:
    return {"role": choice.role, "role_id": choice.role_id}


# --- taking effect ---------------------------------------------------------------------------------


def staff_changed(session: Session, shop_id: int, staff_ids: list[int]) -> None:
    """Record that these members' grant changed: each process drops their cached callers and
    ends their staff sockets (which reconnect with the new permissions), once this commits."""
    if not staff_ids:
        return
    ids = sorted(staff_ids)
    after_commit(session, lambda: CALLERS.forget_staff(ids))  # this process at once
    record(session, shop_id, [DomainEvent(STAFF_CHANGED_EVENT, "staff", i, {"staff_id": i}) for i in ids])


def _audit(
    session: Session,
    actor: Actor,
    act: str,
    target_type: str,
    target_id: int,
    data: dict[str, Any] | None = None,
) -> None:
    record_audit(
        session, actor.shop_id, act, actor=actor, target_type=target_type, target_id=target_id, data=data
    )
