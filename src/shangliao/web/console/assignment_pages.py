"""The console's 自动分配 settings (linked from the Team page): round-robin on or off for new
pending orders and new conversations, and which roles take turns."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from sqlalchemy import select

from shangliao.assignment.settings import AutoAssign, auto_assign, do_set_auto_assign
from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.auth.models import Role
from shangliao.auth.permissions import BUILTIN_ROLES
from shangliao.core.i18n import N_
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop
from shangliao.web.console.forms import (
    read_form,
    refused_fields,
    save_then_show_saved,
    whole_number,
)
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)
TARGETS = (("order", N_("New pending orders")), ("conversation", N_("New conversations")))


@router.get("/settings/assignment")
def assignment_page(
    request: Request, actor: Actor = Depends(staff("settings.manage")), rt: Runtime = Depends(get_runtime)
):
    with rt.db.read() as session:
        setting = auto_assign(session.get(Shop, actor.shop_id).settings)
        custom = list(
            session.execute(
                select(Role.id, Role.name).where(Role.shop_id == actor.shop_id).order_by(Role.name)
            )
        )
    return render(
        request,
        "assignment/settings.html",
        section="team",
        targets=TARGETS,
        setting=setting,
        builtin=[(key, role.name) for key, role in BUILTIN_ROLES.items()],
        custom=custom,
        saved=request.query_params.get("saved") == "1",
    )


@router.post("/settings/assignment")
async def save_assignment(
    request: Request, actor: Actor = Depends(staff("settings.manage")), rt: Runtime = Depends(get_runtime)
):
    form = await read_form(request, max_fields=200)
    raw = {
        target: {
            "mode": form.get(f"{target}_mode") or "off",
            "roles": list(form.getlist(f"{target}_role")),
            "role_ids": [
                n for n in (whole_number(v) for v in form.getlist(f"{target}_role_id")) if n is not None
            ],
        }
        for target, _ in TARGETS
    }
    try:
        body = AutoAssign.model_validate(raw)
    except ValidationError as exc:
        raise refused_fields(
            exc, "console.bad_assignment", N_("Some choices are not known: {fields}.")
        ) from exc

    return await save_then_show_saved(
        rt, lambda session: do_set_auto_assign(session, actor, body), "/settings/assignment"
    )
