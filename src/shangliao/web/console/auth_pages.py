"""Signing in and out of the console, and its language switch."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from shangliao.auth.access import (
    check_same_origin,
    clear_session_cookie,
    public,
    set_session_cookie,
    sign_in,
    sign_out,
    signed_in,
)
from shangliao.auth.actor import Actor
from shangliao.core.errors import TooManyRequests, Unauthorized
from shangliao.core.i18n import SUPPORTED_LOCALES
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.errors import pace
from shangliao.web.locale import LANG_COOKIE
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)


HOME = "/"  # 工作台 or the order list, by the member's permissions (web/console/dashboard_pages.py)


def safe_next(target: str | None) -> str:
    """Only a path on this site: ``next=https://evil.example`` must not turn login into a redirector."""
    # Browsers read "/\\host" like "//host", so a backslash anywhere is refused too.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return HOME
    if urlsplit(target).netloc:
        return HOME
    return target


@router.get("/login")
def login_page(request: Request, next: str | None = None, _=Depends(public())):
    return render(request, "login.html", next=safe_next(next), username="", error=None)


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=500)] = HOME,
    _=Depends(public()),
    rt: Runtime = Depends(get_runtime),
):
    check_same_origin(request)  # a forged cross-site login would sign the victim into our account
    try:
        raw, _staff_id, _shop_id = await run_in_threadpool(sign_in, request, username, password)
    except (Unauthorized, TooManyRequests) as exc:
        await pace(request, exc)
        return render(
            request, "login.html", exc.status, next=safe_next(next), username=username, error=exc.localized()
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, request, raw, days=rt.settings.session_days)
    return response


@router.post("/logout")
def logout(request: Request, actor: Actor = Depends(signed_in())):
    sign_out(request, actor)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


@router.post("/lang")
def switch_language(
    request: Request,
    lang: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=500)] = HOME,
    _=Depends(public()),
):
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in SUPPORTED_LOCALES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response
