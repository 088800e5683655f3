"""``/api/v1``: the shop's order workflow (流程自定义) and its palette of order tags."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.orders.tag_palette import Palette, do_set_palette, palette
from shangliao.orders.workflow import Workflow, do_set_workflow, workflow_of
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop

router = APIRouter(tags=["workflow"])


@router.get("/workflow", response_model=Workflow)
def get_workflow(actor: Actor = Depends(staff("shop.read")), rt: Runtime = Depends(get_runtime)):
    """How this shop's orders move: the steps it closes, the periods of its scheduled sweeps, and
    what an order entered by hand must carry."""
    with rt.db.read() as session:
        return workflow_of(session.get(Shop, actor.shop_id).settings)


@router.put("/workflow", response_model=Workflow)
def put_workflow(
    body: Workflow, actor: Actor = Depends(staff("settings.manage")), rt: Runtime = Depends(get_runtime)
):
    """Replace the workflow. Closing a step never strands an order: only steps *into* a state
    close (备货中 when skipped, 已确认 while unpaid), so every order keeps a way on. Periods take
    effect from the next sweep."""
    with rt.db.write() as session:
        return do_set_workflow(session, actor, body)


@router.get("/order-tags", response_model=Palette)
def get_order_tags(actor: Actor = Depends(staff("orders.read")), rt: Runtime = Depends(get_runtime)):
    """The shop's order tags with their colours, in the order they are offered."""
    with rt.db.read() as session:
        return palette(session, actor.shop_id)


@router.put("/order-tags", response_model=Palette)
def put_order_tags(
    body: Palette, actor: Actor = Depends(staff("settings.manage")), rt: Runtime = Depends(get_runtime)
):
    """Replace the palette (at most 50 tags, each once). Orders keep their tags: a tag taken out
    of the palette is drawn grey."""
    with rt.db.write() as session:
        return do_set_palette(session, actor, body)
