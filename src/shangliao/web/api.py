"""``/api/v1``: mounts each domain's router."""

from __future__ import annotations

from fastapi import APIRouter

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

# NUL characters in paths, queries and forms are refused for the whole app (web/nul_bytes.py).
router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
# Requests are matched against routes in this order, one by one (a fifth of a notification's
# server time went on walking the routes before its own, docs/benchmarks.md): payment providers'
# notifications (signed, no session) go first, since they come in bursts with the provider's
# timeout running and their prefix clashes with nothing; then the busiest domain.
router.include_router(payments_notify_api.router)
# /products/export before the catalog's /products/{product_id}, which would take "export" for an id.
router.include_router(product_sheets_api.export_router)
for domain in (
    orders_collection_api,
    # 工作台 asks its figures on every view (six routes under /stats, clashing with nothing): near
    # the front, so it does not walk every route before its own (bench/dashboard.py).
    stats_api,
    orders_api,
    orders_refund_api,
    invoices_api,
    parcel_api,
    assignment_api,  # before chat's: /conversations/assign is not a conversation's id
    chat_api,
    chat_order_api,
    replies_api,
    shipping_templates_api,
    auth_api,
    shops_api,
    catalog_api,
    team_api,
    inventory_api,
    customers_api,
    customers_merge_api,
    privacy_api,
    customers_reveal_api,
    notifications_api,
    audit_api,
    addresses_api,
    payments_api,
    aftersales_api,
    workflow_api,
    automation_api,
    webhooks_api,
    exports_api,
    sheets_api,
    quote_sheets_api,
    product_sheets_api,
    documents_api,
):
    router.include_router(domain.router)
# Read-only data anyone may have (the shop's order form picks regions without a staff sign-in).
router.include_router(addresses_api.public_router)
# The log of payment providers' notifications (finance reads it).
router.include_router(payments_notify_api.log_router)
