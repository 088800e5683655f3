"""Invitation links: a member with ``team.manage`` makes a one-time link for a role; whoever opens
it picks a username and password and joins the shop with that role.

The link's secret is 256-bit random and only its SHA-256 is stored (like a credential's). A link
works once, until it expires or is revoked; accepting it marks it used in the same transaction
that creates the account, with a conditional update, so two people opening it at once cannot both
join. The role is checked against the inviter's grant when the link is made (auth/team.py rules),
and again, against the grant they hold by then, when it is opened or accepted: a link made by a
member since demoted is gone, and lowering a member's role or closing their account revokes the
pending links they could no longer make.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shangliao.audit.log import record_audit
from shangliao.auth.actor import Actor
from shangliao.auth.models import Invitation, Role, Staff
from shangliao.auth.permissions import CUSTOM
from shangliao.auth.service import digest, new_secret
from shangliao.auth.team import (
    RoleChoice,
    builtin_choice,
    check_owner_change,
    check_within_own,
    choose_role,
    custom_choice,
    join,
    member_actor,
)
from shangliao.core import clock
from shangliao.core.errors import Forbidden, NotFound
from shangliao.core.i18n import N_

INVITATION_DAYS = 7  # how long a link works unless another lifetime is asked for
MAX_DAYS = 30
INVITE_PATH = "/join/"  # the public page a link opens (web/console/team_pages.py)


def invitation_role(session: Session, invitation: Invitation) -> RoleChoice:
    if invitation.role == CUSTOM:
        row = session.get(Role, invitation.role_id) if invitation.role_id else None
        if row is None:
            raise _gone()
        return custom_choice(row)
    return builtin_choice(invitation.role)


def do_create_invitation(
    session: Session, actor: Actor, *, role: str | None, role_id: int | None, days: int = INVITATION_DAYS
) -> tuple[str, Invitation]:
    """A new link for ``role``: ``(secret, row)``; the secret is shown once, to the inviter."""
    choice = choose_role(session, actor.shop_id, role, role_id)
    check_owner_change(actor, choice.role)
    check_within_own(actor, choice.grant)
    raw = new_secret()
    now = clock.now()
    row = Invitation(
        shop_id=actor.shop_id,
        token_hash=digest(raw),
        role=choice.role,
        role_id=choice.role_id,
        created_by=actor.staff_id,
        created_at=now,
        expires_at=now + timedelta(days=max(1, min(days, MAX_DAYS))),
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor.shop_id,
        "team.invitation_created",
        actor=actor,
        target_type="invitation",
        target_id=row.id,
        data={"role": choice.role, "role_id": choice.role_id, "expires_at": row.expires_at.isoformat()},
    )
    return raw, row


def pending_invitations(session: Session, shop_id: int) -> list[Invitation]:
    """Links not yet used, revoked or expired, newest first."""
    return list(
        session.scalars(
            select(Invitation)
            .where(
                Invitation.shop_id == shop_id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > clock.now(),
            )
            .order_by(Invitation.id.desc())
        )
    )


def do_revoke_invitation(session: Session, actor: Actor, invitation_id: int) -> None:
    row = session.get(Invitation, invitation_id)
    if row is None or row.shop_id != actor.shop_id:
        raise NotFound("team.invitation_not_found", N_("No such invitation."))
    if row.revoked_at is None and row.accepted_at is None:
        row.revoked_at = clock.now()
        # Only a live link's revocation is an act; revoking a used or revoked one changes nothing.
        record_audit(
            session,
            actor.shop_id,
            "team.invitation_revoked",
            actor=actor,
            target_type="invitation",
            target_id=row.id,
            data={"role": row.role, "role_id": row.role_id},
        )


def open_invitation(session: Session, raw: str) -> Invitation:
    """The live invitation a link's secret names, or "gone" (unknown, used, revoked, expired, or
    made by a member since deactivated: one answer for all, so a link tells nobody which)."""
    row = session.scalar(select(Invitation).where(Invitation.token_hash == digest(raw)))
    if row is None or row.accepted_at or row.revoked_at or row.expires_at <= clock.now():
        raise _gone()
    inviter = session.get(Staff, row.created_by) if row.created_by else None
    if inviter is None or not inviter.active:  # a closed account's links close with it
        raise _gone()
    if not may_still_grant(session, inviter, invitation_role(session, row)):
        raise _gone()  # the inviter was demoted (or the role widened) since: they could not make it now
    return row


def may_still_grant(session: Session, inviter: Staff, choice: RoleChoice) -> bool:
    """Whether ``inviter``, with the role they hold now, could still make a link for ``choice``:
    the rules of the making (auth/team.py) against their current grant, not the one they had."""
    try:
        now = member_actor(session, inviter)
        check_owner_change(now, choice.role)
        check_within_own(now, choice.grant)
    except Forbidden:
        return False
    return True


def revoke_links_beyond(session: Session, member: Staff) -> list[int]:
    """Revoke the pending links ``member`` made that they could no longer make (all of them once
    the account is closed); called when their role is lowered or they are deactivated."""
    revoked = [
        row
        for row in session.scalars(
            select(Invitation).where(
                Invitation.shop_id == member.shop_id,
                Invitation.created_by == member.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
        )
        if not member.active or not _grantable(session, member, row)
    ]
    now = clock.now()
    for row in revoked:
        row.revoked_at = now
    session.flush()
    return [row.id for row in revoked]


def _grantable(session: Session, member: Staff, row: Invitation) -> bool:
    try:
        return may_still_grant(session, member, invitation_role(session, row))
    except NotFound:  # its custom role is gone: nothing left to grant
        return False


def do_accept_invitation(
    session: Session, raw: str, *, username: str, password: str, display_name: str
) -> Staff:
    """Join the shop through the link: the account is made with the invitation's role and the
    link is used up, in one transaction."""
    row = open_invitation(session, raw)
    choice = invitation_role(session, row)
    now = clock.now()
    taken = session.execute(
        update(Invitation)
        .where(Invitation.id == row.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .values(accepted_at=now)
    )
    if taken.rowcount != 1:  # someone else used it a moment ago
        raise _gone()
    member = join(
        session, row.shop_id, choice, username=username, password=password, display_name=display_name
    )
    session.execute(update(Invitation).where(Invitation.id == row.id).values(accepted_by=member.id))
    record_audit(
        session,
        row.shop_id,
        "team.invitation_accepted",
        staff_id=member.id,
        actor_type="staff",
        target_type="invitation",
        target_id=row.id,
        data={"role": choice.role, "role_id": choice.role_id, "invited_by": row.created_by},
    )
    return member


def _gone() -> NotFound:
    return NotFound(
        "team.invitation_gone",
        N_("This invitation link is no longer valid. Ask the shop for a new one."),
    )
