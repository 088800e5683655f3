"""Access rules (rule 5 of docs/architecture.md): every route declares exactly one, as the dependency that enforces it.

``staff("orders.write")`` resolves the caller from a session cookie or a Bearer token and checks the
permission; ``public()`` lets anyone in. The declaration is the ``access`` attribute on the
dependency, which the route-coverage test reads for every route of the app.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from fastapi import Request, Response
from starlette.requests import HTTPConnection

from shangliao.audit.acts import SIGNED_OUT
from shangliao.audit.log import record_audit
from shangliao.auth import service
from shangliao.auth.actor import Actor
from shangliao.auth.permissions import PERMISSIONS
from shangliao.core.errors import BadCredential, Forbidden, TooManyRequests, Unauthorized
from shangliao.core.i18n import N_
from shangliao.web.client_address import client_address

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Sign-in attempts per client address and username: enough for fumbling fingers, not for guessing.
LOGIN_ATTEMPTS = "10/minute"
# Failed sign-ins per client address, whatever the username: random usernames from one address
# are stopped too. Only failures count, so an office behind one address signs in freely.
LOGIN_FAILURES_PER_ADDRESS = "30/minute"


@dataclass(frozen=True)
class AccessRule:
    kind: Literal["staff", "visitor", "provider", "public"]
    permission: str | None = None
    # For routes that take one of several actions: (action, permission) pairs; ``permission``
    # is then what any caller needs at least (see :func:`staff_acting`).
    by_action: tuple[tuple[str, str], ...] = ()
    # For routes any of several permissions opens (see :func:`staff_any`); ``permission`` is None.
    any_of: tuple[str, ...] = ()


def credential_from(request: HTTPConnection) -> tuple[str, str] | None:
    """``(raw secret, via)`` from ``Authorization: Bearer`` or the console's session cookie."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip(), "token"
        return None
    cookie = request.cookies.get(service.SESSION_COOKIE)
    return (cookie, "session") if cookie else None


def set_session_cookie(response: Response, request: Request, raw: str, *, days: int) -> None:
    """The console's session: HttpOnly (no script reads it), Lax (no cross-site POST carries it)."""
    response.set_cookie(
        service.SESSION_COOKIE,
        raw,
        max_age=days * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(service.SESSION_COOKIE, path="/")


def check_login_rate(request: Request, username: str) -> None:
    """Count a sign-in attempt; past :data:`LOGIN_ATTEMPTS` for this address and username, or
    past :data:`LOGIN_FAILURES_PER_ADDRESS` failures from this address, it is refused (429) unread."""
    limits, address = request.app.state.runtime.limits, client_address(request)
    limits.check(LOGIN_FAILURES_PER_ADDRESS, "login-failed", address, count=False)
    limits.check(LOGIN_ATTEMPTS, "login", address, username.strip().lower())


def sign_in(request: Request, username: str, password: str) -> tuple[str, int, int]:
    """Rate limits, then the password check and a new session: ``(secret, staff_id, shop_id)``."""
    check_login_rate(request, username)
    rt = request.app.state.runtime
    via = "api" if request.url.path.startswith("/api/") else "console"
    try:
        return service.login(
            rt.db, username, password, days=rt.settings.session_days, address=client_address(request), via=via
        )
    except Unauthorized:
        with contextlib.suppress(TooManyRequests):  # this answer stays 401; the next is refused
            rt.limits.check(LOGIN_FAILURES_PER_ADDRESS, "login-failed", client_address(request))
        raise


def sign_out(request: Request, actor: Actor) -> None:
    """Revoke the credential this request came with (the session, or a Bearer token) and record
    the sign-out in the audit log, in one unit."""
    found = credential_from(request)
    if not found:
        return
    rt = request.app.state.runtime
    with rt.db.write() as session:
        service.do_revoke(session, found[0])
        record_audit(
            session,
            actor.shop_id,
            SIGNED_OUT,
            actor=actor,
            target_type="staff",
            target_id=actor.staff_id,
            address=client_address(request),
        )


def check_same_origin(request: HTTPConnection) -> None:
    """A cookie is sent by the browser on its own: refuse state changes started by another site."""
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host"):
        raise Forbidden("auth.cross_origin", N_("This request came from another site and was refused."))


def resolve_actor(request: Request) -> Actor:
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    found = credential_from(request)
    if found is None:
        raise Unauthorized("auth.required", N_("Please sign in first."))
    actor = service.authenticate(request.app.state.runtime.db, found[0])
    if actor is None:
        raise BadCredential("auth.required", N_("Please sign in first."))
    if found[1] == "session" and request.method in UNSAFE_METHODS:
        check_same_origin(request)
    request.state.actor = actor
    return actor


def staff(permission: str):
    """Staff of the shop holding ``permission``; anyone else gets 401 (anonymous) or 403."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def require_staff(request: Request) -> Actor:
        return check_permission(resolve_actor(request), permission)

    require_staff.access = AccessRule("staff", permission)  # type: ignore[attr-defined]
    return require_staff


def staff_any(*permissions: str):
    """Staff holding at least one of ``permissions`` (a settings page two areas share, what the
    members recording payments and those configuring them both read); refused naming the first."""
    unknown = set(permissions) - set(PERMISSIONS)
    if unknown or not permissions:
        raise ValueError(f"unknown permissions {sorted(unknown)}")

    def require_staff_any(request: Request) -> Actor:
        actor = resolve_actor(request)
        if not actor.permissions & set(permissions):
            check_permission(actor, permissions[0])
        return actor

    require_staff_any.access = AccessRule("staff", None, any_of=permissions)  # type: ignore[attr-defined]
    return require_staff_any


def staff_acting(permissions: Mapping[str, str], *, base: str = "orders.read"):
    """Staff for a route that takes one of several actions, each needing its own permission.

    The action named in the path (``{action}``) is checked here, before the route opens a write
    transaction; an action named in the body is checked by the route the same way, from the same
    table, before its first unit. An unknown action needs ``base`` and is refused by the route.
    """
    unknown = {base, *permissions.values()} - set(PERMISSIONS)
    if unknown:
        raise ValueError(f"unknown permissions {sorted(unknown)}")

    def require_staff_acting(request: Request) -> Actor:
        actor = resolve_actor(request)
        action = request.path_params.get("action")
        return check_permission(actor, permissions.get(action, base) if action else base)

    require_staff_acting.access = AccessRule(  # type: ignore[attr-defined]
        "staff", base, tuple(sorted(permissions.items()))
    )
    return require_staff_acting


def check_permission(actor: Actor, permission: str) -> Actor:
    if permission not in actor.permissions:
        raise Forbidden(
            "auth.forbidden",
            N_("You do not have the permission to do this ({permission})."),
            details={"permission": permission},  # for integrators to match on, in any language
            permission=permission,
        )
    return actor


@dataclass(frozen=True)
class Caller:
    """The caller of a hot route, already resolved and allowed (see :func:`staff_in_unit`)."""

    actor: Actor


def staff_in_unit(permission: str):
    """Like :func:`staff`, for hot routes: an ``async`` dependency, so a caller the cache knows costs
    no worker-thread trip; an unknown credential costs one read in a worker thread.

    The caller is resolved and refused (401, 403) here, before the route submits anything to the
    single writer (rule 16 of docs/architecture.md): looked up inside a group-commit unit, a junk
    token failed the unit, which rolled the whole batch back and replayed it with savepoints.
    """
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    async def require_caller(request: Request) -> Caller:
        found = credential_from(request)
        if found is None:
            raise Unauthorized("auth.required", N_("Please sign in first."))
        if found[1] == "session" and request.method in UNSAFE_METHODS:
            check_same_origin(request)
        actor = await service.authenticate_async(request.app.state.runtime.db, found[0])
        if actor is None:
            raise BadCredential("auth.required", N_("Please sign in first."))
        request.state.actor = actor
        return Caller(check_permission(actor, permission))

    require_caller.access = AccessRule("staff", permission)  # type: ignore[attr-defined]
    return require_caller


def signed_in():
    """Any signed-in staff member, whatever their permissions (their own profile, logout)."""

    def require_signed_in(request: Request) -> Actor:
        return resolve_actor(request)

    require_signed_in.access = AccessRule("staff")  # type: ignore[attr-defined]
    return require_signed_in


def provider():
    """A payment provider's notification (payments/notify_api.py): no session nor token, the
    signature over the body is the credential. The route verifies it (outside the writer, rule 16
    of docs/architecture.md) and submits a write unit only for a verified notification; anything
    else is refused 4xx in the provider's own answer shape."""

    def signed_by_provider() -> None:
        return None

    signed_by_provider.access = AccessRule("provider")  # type: ignore[attr-defined]
    return signed_by_provider


def public():
    """Anyone, signed in or not: login, health, API docs."""

    def allow_anyone() -> None:
        return None

    allow_anyone.access = AccessRule("public")  # type: ignore[attr-defined]
    return allow_anyone
