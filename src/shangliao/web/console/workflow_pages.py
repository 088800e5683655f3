"""The console's 流程设置 page (settings hub): which steps the shop's orders take, the periods of
its scheduled sweeps, what a manual order must carry, and the palette of order tags."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.i18n import N_
from shangliao.orders.tag_palette import COLORS, MAX_TAGS, Palette, do_set_palette, palette
from shangliao.orders.workflow import Workflow, do_set_workflow, workflow_of
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop
from shangliao.web.console.forms import read_form, refused_fields, save_then_show_saved, whole_number
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)
PAGE = "/settings/workflow"

PERIODS = (
    ("expire_unpaid_hours", N_("Cancel unpaid orders after"), N_("hours")),
    ("auto_complete_days", N_("Complete shipped orders after"), N_("days")),
    ("auto_archive_days", N_("Archive finished orders after"), N_("days")),
)
MANUAL_LABELS = (
    ("customer_id", N_("A customer on file")),
    ("remark", N_("A remark")),
    ("assignee_id", N_("An assignee")),
    ("tags", N_("At least one tag")),
)
BLANK_TAG_ROWS = 3  # empty rows under the palette for new tags (no script needed to add one)


@router.get(PAGE)
def workflow_page(
    request: Request, actor: Actor = Depends(staff("settings.manage")), rt: Runtime = Depends(get_runtime)
):
    with rt.db.read() as session:
        flow = workflow_of(session.get(Shop, actor.shop_id).settings)
        tags = palette(session, actor.shop_id).items
    return render(
        request,
        "settings/workflow.html",
        section="settings",
        flow=flow,
        periods=PERIODS,
        manual_labels=MANUAL_LABELS,
        tags=tags,
        # New rows start on colours the palette does not use yet, in the palette's order.
        blank_rows=_fresh_colors(tags)[: max(0, min(BLANK_TAG_ROWS, MAX_TAGS - len(tags)))],
        colors=COLORS,
        saved=request.query_params.get("saved"),
    )


def _fresh_colors(tags: list) -> list[str]:
    used = {t.color for t in tags}
    fresh = [c for c in COLORS if c not in used]
    return (fresh + list(COLORS)) * BLANK_TAG_ROWS


def _period(form: FormData, name: str) -> int | str | None:
    """Blank is off; anything but a whole number is passed on for the model to refuse."""
    text = str(form.get(name) or "").strip()
    if not text:
        return None
    number = whole_number(text)
    return text if number is None else number


@router.post(PAGE)
async def save_workflow(
    request: Request, actor: Actor = Depends(staff("settings.manage")), rt: Runtime = Depends(get_runtime)
):
    form = await read_form(request)
    raw = {
        "require_payment_to_confirm": form.get("require_payment_to_confirm") == "1",
        "skip_preparing": form.get("skip_preparing") == "1",
        **{name: _period(form, name) for name, _, _ in PERIODS},
        "manual_required": list(form.getlist("manual_required")),
    }
    try:
        body = Workflow.model_validate(raw)
    except ValidationError as exc:
        raise refused_fields(exc, "console.bad_workflow", N_("Please check: {fields}.")) from exc
    return await save_then_show_saved(rt, lambda session: do_set_workflow(session, actor, body), PAGE)


@router.post(f"{PAGE}/tags")
async def save_tags(
    request: Request, actor: Actor = Depends(staff("settings.manage")), rt: Runtime = Depends(get_runtime)
):
    form = await read_form(request, max_fields=2 * (MAX_TAGS + BLANK_TAG_ROWS) + 10)
    names = [str(n).strip() for n in form.getlist("tag_name")]
    colors = [str(c) for c in form.getlist("tag_color")]
    # A row left blank (or emptied to take the tag out) is no tag.
    raw = {"items": [{"name": n, "color": c} for n, c in zip(names, colors, strict=False) if n]}
    try:
        body = Palette.model_validate(raw)
    except ValidationError as exc:
        raise refused_fields(
            exc, "console.bad_tags", N_("Each tag once, 1 to 32 characters, at most 50 tags.")
        ) from exc
    return await save_then_show_saved(rt, lambda session: do_set_palette(session, actor, body), PAGE)
