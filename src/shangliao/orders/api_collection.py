"""HTTP routes over many orders: the list, its search, the tab counts, and batch actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from shangliao.auth.access import Caller, staff_acting, staff_in_unit
from shangliao.auth.actor import Actor
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_, negotiate
from shangliao.customers.masking import view_for
from shangliao.orders.batch import ACTION_PERMISSIONS, BatchIn, preview_batch, run_batch
from shangliao.orders.counts import tab_counts
from shangliao.orders.listing import OrderQuery, is_full_phone, list_orders
from shangliao.orders.schemas import OrderOut
from shangliao.orders.views import page_dicts
from shangliao.orders.workflow import workflow_for
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.query_params import query_docs, query_model
from shangliao.web.responses import JSONResponse

router = APIRouter(prefix="/orders", tags=["orders"])


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class BatchError(BaseModel):
    code: str
    message: str
    status: int
    details: dict


class BatchResult(BaseModel):
    id: int
    ok: bool
    status: str | None = Field(None, description="The order's status afterwards (when ok).")
    version: int | None = None
    archived: bool | None = None
    error: BatchError | None = None


class BatchOut(BaseModel):
    action: str
    succeeded: int
    failed: int
    results: list[BatchResult]


class PreviewResult(BaseModel):
    id: int
    ok: bool = Field(description="Whether the action would change this order.")
    status: str | None = Field(None, description="The order's status now (when ok).")
    error: BatchError | None = Field(None, description="Why the order would be skipped.")


class BatchPreviewOut(BaseModel):
    action: str
    will_change: int
    will_skip: int
    results: list[PreviewResult]


class OrderCounts(BaseModel):
    """How many orders each tab of the list holds."""

    draft: int
    pending: int
    confirmed: int
    preparing: int
    shipped: int
    completed: int
    cancelled: int
    archived: int = Field(description="Archived orders, whatever their status; not counted in it.")


async def _page(rt: Runtime, caller: Caller, query: OrderQuery) -> JSONResponse:
    """The list's hot path: one worker-thread trip, the page read on one snapshot (the caller was
    resolved before it)."""
    actor = caller.actor

    def read(conn: Connection) -> dict[str, Any]:
        page = list_orders(conn, rt.keyring, actor, actor.timezone, query)
        flow = workflow_for(conn, actor.shop_id)
        return {
            "items": page_dicts(page, rt.keyring, view_for(actor), flow=flow),
            "next_cursor": page.next_cursor,
        }

    return JSONResponse(await rt.db.read_in_thread(read))


@router.get("", response_model=OrderPage, openapi_extra=query_docs(OrderQuery))
async def list_orders_route(
    query: OrderQuery = Depends(query_model(OrderQuery)),
    caller: Caller = Depends(staff_in_unit("orders.read")),
    rt: Runtime = Depends(get_runtime),
):
    """The shop's orders, newest first unless `sort` says otherwise; drafts and archived orders
    only when asked for. To search by a whole phone number use `POST /orders/search`: a phone
    number must not appear in a URL, where proxies and access logs keep it."""
    if is_full_phone(rt.keyring, query.q):
        raise Invalid(
            "order.phone_in_url",
            N_(
                "Search by phone number with POST /api/v1/orders/search: a phone number must not be put in a URL."
            ),
        )
    return await _page(rt, caller, query)


@router.get("/counts", response_model=OrderCounts)
async def order_counts(
    caller: Caller = Depends(staff_in_unit("orders.read")), rt: Runtime = Depends(get_runtime)
):
    """Orders per status (archived ones apart), for the list's tabs. Kept up to date in the
    transaction of every change, so this reads a few rows however many orders the shop has (a
    member who sees only their own orders has those counted)."""
    actor = caller.actor
    return JSONResponse(await rt.db.read_in_thread(lambda conn: tab_counts(conn, actor)))


@router.post("/search", response_model=OrderPage)
async def search_orders(
    body: OrderQuery,
    caller: Caller = Depends(staff_in_unit("orders.read")),
    rt: Runtime = Depends(get_runtime),
):
    """The order list with its filters in the request body, for searches by phone number."""
    return await _page(rt, caller, body)


@router.post("/batch", response_model=BatchOut)
def batch(
    body: BatchIn,
    request: Request,
    actor: Actor = Depends(staff_acting(ACTION_PERMISSIONS)),
    rt: Runtime = Depends(get_runtime),
):
    """One action for many orders. Each order succeeds or fails on its own, in its own
    transaction; the answer lists every order, in the request's order, with its new status or its
    error. The action needs its own permission (`orders.fulfil`, `orders.cancel`,
    `orders.archive`, `orders.write`): without it the whole batch is refused (403) and no order
    is touched."""
    locale = negotiate(request.headers.get("accept-language"))
    return JSONResponse(run_batch(rt.db, actor, body, locale))


@router.post("/batch/preview", response_model=BatchPreviewOut)
def batch_preview(
    body: BatchIn,
    request: Request,
    actor: Actor = Depends(staff_acting(ACTION_PERMISSIONS)),
    rt: Runtime = Depends(get_runtime),
):
    """What `POST /orders/batch` with the same body would do, without doing it: which orders
    would change and which would be skipped, with the reason. Nothing is written. Each order is
    checked again when the batch runs."""
    locale = negotiate(request.headers.get("accept-language"))
    return JSONResponse(preview_batch(rt.db, actor, body, locale))
