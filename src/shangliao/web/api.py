"""``/api/v1``: each domain's router, in the order requests are matched against them.

They are included in the app itself, each under ``/api/v1``, not through one ``/api/v1`` router:
FastAPI (0.165) matches a request twice at every level of routers it passes (once to choose the
branch, again inside it), so a level less is one walk of the routes before the request's own less
(~40 µs of 工作台's overview, bench/dashboard.py, docs/benchmarks.md).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from shangliao.addresses import api as addresses_api
from shangliao.aftersales import api as aftersales_api
from shangliao.assignment import api as assignment_api
from shangliao.audit import api as audit_api
from shangliao.auth import api as auth_api
from shangliao.auth import team_api
from shangliao.automation import api as automation_api
from shangliao.catalog import api as catalog_api
from shangliao.chat import api as chat_api
from shangliao.chat import order_api as chat_order_api
from shangliao.customers import api as customers_api
from shangliao.customers import api_merge as customers_merge_api
from shangliao.customers import api_reveal as customers_reveal_api
from shangliao.documents import api as documents_api
from shangliao.exports import api as exports_api
from shangliao.inventory import api as inventory_api
from shangliao.invoices import api as invoices_api
from shangliao.notifications import api as notifications_api
from shangliao.orders import api as orders_api
from shangliao.orders import api_collection as orders_collection_api
from shangliao.orders import refund_api as orders_refund_api
from shangliao.orders import workflow_api
from shangliao.payments import api as payments_api
from shangliao.payments import notify_api as payments_notify_api
from shangliao.privacy import api as privacy_api
from shangliao.replies import api as replies_api
from shangliao.sheets import api as sheets_api
from shangliao.sheets import product_api as product_sheets_api
from shangliao.sheets import quote_api as quote_sheets_api
from shangliao.shipping import parcel_api
from shangliao.shipping import templates_api as shipping_templates_api
from shangliao.shops import api as shops_api
from shangliao.stats import api as stats_api
from shangliao.web.errors import ERROR_RESPONSES
from shangliao.webhooks import api as webhooks_api

PREFIX = "/api/v1"
# Requests are matched against routes in this order, one by one (a fifth of a notification's
# server time went on walking the routes before its own, docs/benchmarks.md): payment providers'
# notifications (signed, no session) go first, since they come in bursts with the provider's
# timeout running and their prefix clashes with nothing; then the busiest domain.
ROUTERS: tuple[APIRouter, ...] = (
    payments_notify_api.router,
    # /products/export before the catalog's /products/{product_id}, which would take "export" for an id.
    product_sheets_api.export_router,
    orders_collection_api.router,
    # 工作台 asks its figures on every view (six routes under /stats, clashing with nothing): near
    # the front, so it does not walk every route before its own (bench/dashboard.py).
    stats_api.router,
    orders_api.router,
    orders_refund_api.router,
    invoices_api.router,
    parcel_api.router,
    assignment_api.router,  # before chat's: /conversations/assign is not a conversation's id
    chat_api.router,
    chat_order_api.router,
    replies_api.router,
    shipping_templates_api.router,
    auth_api.router,
    shops_api.router,
    catalog_api.router,
    team_api.router,
    inventory_api.router,
    customers_api.router,
    customers_merge_api.router,
    privacy_api.router,
    customers_reveal_api.router,
    notifications_api.router,
    audit_api.router,
    addresses_api.router,
    payments_api.router,
    aftersales_api.router,
    workflow_api.router,
    automation_api.router,
    webhooks_api.router,
    exports_api.router,
    sheets_api.router,
    quote_sheets_api.router,
    product_sheets_api.router,
    documents_api.router,
    # Read-only data anyone may have (the shop's order form picks regions without a staff sign-in).
    addresses_api.public_router,
    # The log of payment providers' notifications (finance reads it).
    payments_notify_api.log_router,
)


def include(app: FastAPI) -> None:
    """Every API route under ``/api/v1``, each documented with the errors any route may answer.
    (NUL characters in paths, queries and forms are refused for the whole app, web/nul_bytes.py.)"""
    for router in ROUTERS:
        app.include_router(router, prefix=PREFIX, responses=ERROR_RESPONSES)
