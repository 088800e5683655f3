"""Logins, sessions, API tokens and staff accounts."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from shangliao.audit import lockout
from shangliao.auth.actor import Actor
from shangliao.auth.caller_cache import CALLERS, Found
from shangliao.auth.models import Credential, Role, Staff
from shangliao.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from shangliao.auth.permissions import BUILTIN_ROLES, CUSTOM, PERMISSIONS, Grant, builtin_grant, narrow
from shangliao.core import clock
from shangliao.core.errors import BadCredential, Conflict, Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.events.log import DomainEvent, record
from shangliao.shops.models import Shop
from shangliao.storage.database import Database, after_commit
from shangliao.storage.prepared import Prepared

SESSION_COOKIE = "sl_session"
# Recorded in the same transaction as every revocation: open sockets and the credential cache of
# every process hear of it through the bus (rule 20 of docs/architecture.md). Ids only, no secrets.
CREDENTIAL_REVOKED = "auth.credential_revoked"
TOKEN_PREFIX = "slt_"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")

_cred = Credential.__table__
_staff = Staff.__table__
_role = Role.__table__
_shop = Shop.__table__


def digest(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


# The one statement every authenticated request pays: credential, staff, role and shop together
# (a cached caller pays nothing; see auth/caller_cache.py).
_LOOKUP = Prepared(
    select(
        _cred.c.id,
        _cred.c.kind,
        _cred.c.scopes,
        _cred.c.expires_at,
        _staff.c.id,
        _staff.c.shop_id,
        _staff.c.role,
        _staff.c.display_name,
        _shop.c.timezone,
        _role.c.permissions,
        _role.c.data_scope,
        _role.c.sees_unassigned,
    )
    .join(_staff, _staff.c.id == _cred.c.staff_id)
    .join(_shop, _shop.c.id == _staff.c.shop_id)
    .outerjoin(_role, _role.c.id == _staff.c.role_id)
    .where(_cred.c.token_hash == bindparam("h"), _cred.c.revoked_at.is_(None), _staff.c.active.is_(True))
)


def authenticate(db: Database, raw: str) -> Actor | None:
    """Resolve a session cookie or API token to its actor, or None if unknown, expired or revoked.

    From the caller cache when it knows the secret, else on a read of its own (never the writer).
    """
    found = authenticate_found(db, raw)
    return found.actor if found else None


def authenticate_found(db: Database, raw: str) -> Found | None:
    """:func:`authenticate` with the credential's id and expiry, from the same lookup (a socket
    keeps both: revocations name the id, the expiry ends it)."""
    key = digest(raw)
    known, found = CALLERS.get_found(key)
    if known:
        return found
    seen = CALLERS.generation
    with db.reader.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        found = _lookup(conn, key)
    CALLERS.put(key, found, seen=seen)
    return found


async def authenticate_async(db: Database, raw: str) -> Actor | None:
    """:func:`authenticate` for the event loop: a cached caller costs no worker-thread trip."""
    key = digest(raw)
    known, actor = CALLERS.get(key)
    if known:
        return actor
    seen = CALLERS.generation
    return _remember(key, await db.read_in_thread(lambda conn: _lookup(conn, key)), seen)


def _remember(key: bytes, found: Found | None, seen: int) -> Actor | None:
    CALLERS.put(key, found, seen=seen)
    return found.actor if found else None


def _lookup(conn: Connection, key: bytes) -> Found | None:
    found = _LOOKUP.rows(conn, {"h": key})
    if not found:
        return None
    (cred_id, kind, scopes, expires_at, staff_id, shop_id, role, name, timezone, *custom) = found[0]
    if expires_at is not None and expires_at <= clock.now():
        return None
    grant = role_grant(role, *custom)
    actor = Actor(
        shop_id=shop_id,
        staff_id=staff_id,
        role=role,
        permissions=narrow(grant.permissions, scopes),
        via=kind,
        display_name=name,
        timezone=timezone,
        data_scope=grant.data_scope,
        sees_unassigned=grant.sees_unassigned,
        scoped=scopes is not None,
    )
    return Found(actor, cred_id, expires_at)


def role_grant(
    role: str, permissions: list | None = None, data_scope: str | None = None, sees_unassigned=None
) -> Grant:
    """What a member's role grants: a built-in role's from code, a custom role's from its row.

    A custom role's stored permission names are filtered through today's list, so a name that
    no longer exists grants nothing instead of failing every request."""
    if role != CUSTOM:
        return builtin_grant(role)
    if data_scope is None:  # the row is gone: nothing (deleting a held role is refused anyway)
        return Grant(frozenset())
    return Grant(frozenset(permissions or ()) & frozenset(PERMISSIONS), data_scope, bool(sees_unassigned))


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            "auth.weak_password", N_("The password needs at least {n} characters."), n=MIN_PASSWORD_LENGTH
        )


class PasswordHash(str):
    """A password already checked for strength and hashed, by :func:`prepare_password`."""


def prepare_password(password: str) -> PasswordHash:
    """Check and hash a new password before the write unit opens: argon2 inside it would hold the
    single writer (rule 16 of docs/architecture.md). The ``do_*`` functions take the result in
    place of the password."""
    check_password_strength(password)
    return PasswordHash(hash_password(password))


def _hashed(password: str) -> str:
    return password if isinstance(password, PasswordHash) else prepare_password(password)


def do_create_staff(
    session: Session,
    shop_id: int,
    *,
    username: str,
    password: str,
    display_name: str = "",
    role: str = "owner",
    role_id: int | None = None,
) -> Staff:
    """A new account; ``role`` is a built-in key, or "custom" with ``role_id`` naming the shop's
    row (auth/team.py checks who may give which role)."""
    if not USERNAME_RE.match(username):
        raise Invalid(
            "auth.bad_username",
            N_("A username is 3-64 letters, digits or . _ @ - characters."),
        )
    if role not in BUILTIN_ROLES and not (role == CUSTOM and role_id is not None):
        raise Invalid("auth.unknown_role", N_("Unknown role {role}."), role=role)
    if not isinstance(password, PasswordHash):
        check_password_strength(password)
    if session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise Conflict("auth.username_taken", N_("The username {username} is taken."), username=username)
    staff = Staff(
        shop_id=shop_id,
        username=username,
        display_name=display_name or username,
        password_hash=_hashed(password),
        role=role,
        role_id=role_id if role == CUSTOM else None,
    )
    session.add(staff)
    session.flush()
    return staff


def do_set_password(session: Session, staff: Staff, password: str) -> None:
    """Change the password and sign the account out everywhere (old sessions are revoked)."""
    staff.password_hash = _hashed(password)
    lockout.unlock(session, staff)  # the owner's reset is how a locked member gets back in
    _revoke_where(
        session,
        Credential.staff_id == staff.id,
        Credential.kind == "session",
        Credential.revoked_at.is_(None),
    )


def _revoke_where(session: Session, *where) -> list[int]:
    """Revoke the credentials matching ``where`` and record who lost which, in this transaction."""
    rows = session.execute(
        update(_cred)
        .where(*where)
        .values(revoked_at=clock.now())
        .returning(_cred.c.id, _cred.c.staff_id, _cred.c.shop_id)
    ).all()
    revoked = [r[0] for r in rows]
    if revoked:  # this process at once; the others (and this one again) through the bus
        after_commit(session, lambda: CALLERS.forget(revoked))
    by_staff: dict[tuple[int, int], list[int]] = {}
    for cred_id, staff_id, shop_id in rows:
        by_staff.setdefault((shop_id, staff_id), []).append(cred_id)
    for (shop_id, staff_id), ids in sorted(by_staff.items()):
        record(
            session,
            shop_id,
            [
                DomainEvent(
                    CREDENTIAL_REVOKED,
                    "staff",
                    staff_id,
                    {"staff_id": staff_id, "credential_ids": sorted(ids)},
                )
            ],
        )
    return revoked


_SIGN_IN = Prepared(
    select(
        _staff.c.id, _staff.c.shop_id, _staff.c.password_hash, _staff.c.active, _staff.c.locked_until
    ).where(_staff.c.username == bindparam("u"))
)


def login(
    db: Database, username: str, password: str, *, days: int, address: str | None = None, via: str = "api"
) -> tuple[str, int, int]:
    """Check the password and open a session: ``(secret, staff_id, shop_id)``.

    The account is read and the password checked outside any write transaction (rule 16 of
    docs/architecture.md): argon2 inside the SQLite writer held every order behind each sign-in,
    and on PostgreSQL held a pooled connection through it. Only the session row is written, and
    only if the password checked is still the account's. A locked account is refused before its
    password is hashed; a wrong password for a real account is counted and audited
    (audit/lockout.py), a guess at an unknown username writes nothing.
    """
    with db.reader.connect() as conn:
        rows = _SIGN_IN.rows(conn, {"u": username})
    staff_id, shop_id, password_hash, active, locked_until = (
        rows[0] if rows else (None, None, None, False, None)
    )
    if active and lockout.is_locked(locked_until):
        raise lockout.locked_error(locked_until)
    if not verify_password(password_hash, password) or staff_id is None or not active:
        if staff_id is not None and active:
            with db.write() as session:
                locked = lockout.do_record_failure(session, staff_id, shop_id, username, address=address)
            if locked is not None:
                raise lockout.locked_error(locked)
        raise _bad_credentials()
    raw = new_secret()
    now = clock.now()
    with db.write() as session:
        if not lockout.do_record_success(session, staff_id, shop_id, password_hash, address=address, via=via):
            raise _bad_credentials()  # the password changed (or the account closed) while we checked
        session.execute(
            insert(_cred),
            {
                "shop_id": shop_id,
                "staff_id": staff_id,
                "kind": "session",
                "token_hash": digest(raw),
                "created_at": now,
                "expires_at": now + timedelta(days=days),
            },
        )
    return raw, staff_id, shop_id


def _bad_credentials() -> BadCredential:
    return BadCredential("auth.bad_credentials", N_("Wrong username or password."))


def do_revoke(session: Session, raw: str) -> None:
    """Revoke the credential whose secret is ``raw`` (logout), if it is still live."""
    _revoke_where(session, _cred.c.token_hash == digest(raw), _cred.c.revoked_at.is_(None))


def do_revoke_token(session: Session, actor: Actor, token_id: int) -> bool:
    """Revoke one of the shop's API tokens; revoking it again changes nothing (and answers False)."""
    cred = access_token(session, actor, token_id)
    if cred.revoked_at is not None:
        return False
    _revoke_where(session, _cred.c.id == cred.id, _cred.c.revoked_at.is_(None))
    session.expire(cred)
    return True


def check_scopes(actor: Actor, scopes: list[str] | None) -> list[str] | None:
    """The scopes a new token of ``actor`` gets: never more than the maker holds.

    ``None`` (no scopes given) means "all the maker's permissions": the whole role for a person,
    which then follows the role; a scoped token's own scopes for a token, or it could mint itself
    every permission of the owner who made it.
    """
    if scopes is None:
        return sorted(actor.permissions) if actor.scoped else None
    unknown = sorted(set(scopes) - set(PERMISSIONS))
    if unknown:
        raise Invalid("auth.unknown_scope", N_("Unknown permission: {names}."), names=", ".join(unknown))
    beyond = sorted(set(scopes) - actor.permissions)
    if beyond:
        raise Invalid(
            "auth.scope_beyond_role",
            N_("A token cannot hold permissions you lack: {names}."),
            names=", ".join(beyond),
        )
    return scopes


def do_create_token(
    session: Session, actor: Actor, *, name: str, scopes: list[str] | None, days: int | None
) -> tuple[str, Credential]:
    scopes = check_scopes(actor, scopes)
    raw = new_secret(TOKEN_PREFIX)
    cred = Credential(
        shop_id=actor.shop_id,
        staff_id=actor.staff_id,
        kind="token",
        token_hash=digest(raw),
        name=name,
        scopes=scopes,
        expires_at=clock.now() + timedelta(days=days) if days else None,
    )
    session.add(cred)
    session.flush()
    return raw, cred


def access_token(session: Session, actor: Actor, token_id: int) -> Credential:
    cred = session.scalar(
        select(Credential).where(
            Credential.id == token_id, Credential.shop_id == actor.shop_id, Credential.kind == "token"
        )
    )
    if cred is None:
        raise NotFound("token.not_found", N_("No such API token."))
    return cred
