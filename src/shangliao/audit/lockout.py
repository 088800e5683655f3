"""Account lock-out, and the audit rows of signing in.

After :data:`LOCK_AFTER` wrong passwords for one account, each within :data:`FAILURE_WINDOW` of
the one before, the account refuses every sign-in (the right password too) for
:data:`LOCK_FOR`. A correct sign-in resets the count; the owner resetting the password unlocks.

What the single writer pays (rule 16 of docs/architecture.md): a guess at a username that is no
account writes nothing (the flood of random usernames in bench/order_create.py --flood costs no
write), nor does a guess at a locked account (refused before its password is even hashed). Only a
wrong password for a real, active, unlocked account writes one small unit: its count and the
audit row. Those are bounded by the per-address limits (auth/access.py), then by the lock itself.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import case, or_, update
from sqlalchemy.orm import Session

from shangliao.audit.acts import LOCKED_OUT, SIGN_IN_FAILED, SIGNED_IN
from shangliao.audit.log import record_audit
from shangliao.auth.models import Staff
from shangliao.core import clock
from shangliao.core.errors import TooManyRequests
from shangliao.core.i18n import N_

LOCK_AFTER = 10
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)

_staff = Staff.__table__


def is_locked(locked_until: datetime | None, now: datetime | None = None) -> bool:
    return locked_until is not None and locked_until > (now or clock.now())


def locked_error(locked_until: datetime) -> TooManyRequests:
    """The refusal of a locked account: 429 with ``Retry-After``, and the minutes in the message."""
    seconds = max(1, math.ceil((locked_until - clock.now()).total_seconds()))
    return TooManyRequests(
        "auth.locked",
        N_(
            "Too many wrong passwords: this account is locked. Try again in {minutes} minutes "
            "or ask the shop owner to reset your password."
        ),
        retry_after=seconds,
        minutes=math.ceil(seconds / 60),
    )


def do_record_failure(
    session: Session, staff_id: int, shop_id: int, username: str, *, address: str | None
) -> datetime | None:
    """Count a wrong password for the account and record it; lock the account at the limit.

    Returns until when the account is now locked, or None. One conditional UPDATE counts, so
    concurrent failures on PostgreSQL each add one (no read-modify-write).
    """
    now = clock.now()
    fresh = or_(_staff.c.failed_at.is_(None), _staff.c.failed_at <= now - FAILURE_WINDOW)
    (count,) = session.execute(
        update(_staff)
        .where(_staff.c.id == staff_id)
        .values(failed_count=case((fresh, 1), else_=_staff.c.failed_count + 1), failed_at=now)
        .returning(_staff.c.failed_count)
    ).one()
    # "who" is the account the guess was made as; the username is the one typed (it names a
    # real account: guesses at unknown names are not recorded, see the module's docstring).
    who = {"staff_id": staff_id, "actor_type": "staff", "target_type": "staff", "target_id": staff_id}
    record_audit(
        session,
        shop_id,
        SIGN_IN_FAILED,
        **who,
        data={"username": username, "failures": count},
        address=address,
    )
    if count < LOCK_AFTER:
        return None
    until = now + LOCK_FOR
    session.execute(
        update(_staff)
        .where(_staff.c.id == staff_id)
        .values(locked_until=until, failed_count=0, failed_at=None)
    )
    record_audit(
        session,
        shop_id,
        LOCKED_OUT,
        **who,
        data={"failures": count, "minutes": LOCK_FOR // timedelta(minutes=1)},
        address=address,
    )
    return until


def do_record_success(
    session: Session, staff_id: int, shop_id: int, password_hash: str, *, address: str | None, via: str
) -> bool:
    """Mark a correct sign-in (resetting the failure count) and record it; False when the account
    changed since its password was checked (another password, closed, or locked meanwhile)."""
    now = clock.now()
    still = session.execute(
        update(_staff)
        .where(
            _staff.c.id == staff_id,
            _staff.c.password_hash == password_hash,
            _staff.c.active.is_(True),
            or_(_staff.c.locked_until.is_(None), _staff.c.locked_until <= now),
        )
        .values(last_login_at=now, failed_count=0, failed_at=None, locked_until=None)
    )
    if still.rowcount != 1:
        return False
    record_audit(
        session,
        shop_id,
        SIGNED_IN,
        staff_id=staff_id,
        actor_type="staff",
        target_type="staff",
        target_id=staff_id,
        data={"via": via},
        address=address,
    )
    return True


def unlock(session: Session, staff: Staff) -> None:
    """Lift a lock-out and forget the failures (the owner reset the member's password)."""
    staff.failed_count = 0
    staff.failed_at = None
    staff.locked_until = None
