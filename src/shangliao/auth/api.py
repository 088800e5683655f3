"""Sign in and out, who am I, API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from shangliao.audit.log import record_audit
from shangliao.auth import service, team
from shangliao.auth.access import (
    clear_session_cookie,
    public,
    set_session_cookie,
    sign_in,
    sign_out,
    signed_in,
    staff,
)
from shangliao.auth.actor import Actor
from shangliao.auth.models import Credential, Staff
from shangliao.auth.schemas import LoginIn, MeOut, StaffOut, TokenCreatedOut, TokenIn, TokenOut
from shangliao.core.schemas import PathId
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop

router = APIRouter(prefix="/auth", tags=["auth"])


def _me(staff_row: Staff, shop: Shop, permissions) -> MeOut:
    return MeOut(
        staff=StaffOut.model_validate(staff_row, from_attributes=True),
        shop={"id": shop.id, "slug": shop.slug, "name": shop.name, "timezone": shop.timezone},
        permissions=sorted(permissions),
    )


@router.post("/login", response_model=MeOut)
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    _=Depends(public()),
    rt: Runtime = Depends(get_runtime),
):
    """Sign in with username and password; sets an HttpOnly session cookie. Ten attempts a minute
    per address and username, and thirty failures a minute per address; more are refused with 429
    and `Retry-After`. Ten wrong passwords in a row lock the account for 15 minutes, the right
    password too: 429 `auth.locked` with `Retry-After` (the owner resetting the password unlocks)."""
    raw, staff_id, shop_id = sign_in(request, body.username, body.password)
    actor = service.authenticate(rt.db, raw)
    with rt.db.read() as session:
        me = _me(session.get(Staff, staff_id), session.get(Shop, shop_id), actor.permissions if actor else ())
    set_session_cookie(response, request, raw, days=rt.settings.session_days)
    return me


@router.post("/logout", status_code=204)
def logout(
    request: Request,
    response: Response,
    actor: Actor = Depends(signed_in()),
):
    """End this session (or revoke the Bearer token used for this call)."""
    sign_out(request, actor)
    clear_session_cookie(response)


@router.get("/me", response_model=MeOut)
def me(actor: Actor = Depends(signed_in()), rt: Runtime = Depends(get_runtime)):
    with rt.db.read() as session:
        return _me(session.get(Staff, actor.staff_id), session.get(Shop, actor.shop_id), actor.permissions)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(actor: Actor = Depends(staff("team.manage")), rt: Runtime = Depends(get_runtime)):
    with rt.db.read() as session:
        rows = session.scalars(
            select(Credential)
            .where(Credential.shop_id == actor.shop_id, Credential.kind == "token")
            .order_by(Credential.id.desc())
        )
        # Only tokens of members the caller may manage (auth/team.py): not the owner's for an admin.
        return [
            TokenOut.model_validate(r, from_attributes=True)
            for r in rows
            if team.token_manageable(session, actor, r)
        ]


@router.post("/tokens", response_model=TokenCreatedOut, status_code=201)
def create_token(
    body: TokenIn, actor: Actor = Depends(staff("team.manage")), rt: Runtime = Depends(get_runtime)
):
    """Create an API token for integrations; the secret is shown only in this response."""
    with rt.db.write() as session:
        raw, cred = service.do_create_token(
            session, actor, name=body.name, scopes=body.scopes, days=body.expires_in_days
        )
        out = TokenOut.model_validate(cred, from_attributes=True)
        record_audit(
            session,
            actor.shop_id,
            "auth.token_created",
            actor=actor,
            target_type="token",
            target_id=cred.id,
            data={
                "scopes": cred.scopes,
                "expires_at": out.expires_at.isoformat() if out.expires_at else None,
            },
        )
    return TokenCreatedOut(**out.model_dump(), token=raw)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(
    token_id: PathId, actor: Actor = Depends(staff("team.manage")), rt: Runtime = Depends(get_runtime)
):
    with rt.db.write() as session:
        team.access_token(session, actor, token_id)  # a token the caller may not manage is a 404
        if service.do_revoke_token(session, actor, token_id):
            record_audit(
                session,
                actor.shop_id,
                "auth.token_revoked",
                actor=actor,
                target_type="token",
                target_id=token_id,
            )
