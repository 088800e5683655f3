"""``create_app()``: the HTTP application with its routers, error handlers and lifespan."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from shangliao import __version__
from shangliao.auth.caller_cache import CALLERS
from shangliao.chat import attachment_api
from shangliao.config import Settings, get_settings
from shangliao.jobs.worker import Worker
from shangliao.notifications.audience import AUDIENCE
from shangliao.payments import api as payments_api
from shangliao.payments import proof_api
from shangliao.realtime.hub import Hub
from shangliao.runtime import Runtime
from shangliao.shipping import parcel_api
from shangliao.shipping import shop_api as shipping_shop_api
from shangliao.shops import settings_cache
from shangliao.storefront import aftersales_api as storefront_aftersales_api
from shangliao.storefront import api as storefront_api
from shangliao.storefront import claims_api as storefront_claims_api
from shangliao.storefront import invoice_api as storefront_invoice_api
from shangliao.storefront import orders_api as storefront_orders_api
from shangliao.storefront import pages as storefront_pages
from shangliao.storefront import pay_api as storefront_pay_api
from shangliao.storefront import sms
from shangliao.web import access_log, api, client_address, docs, errors, health, ws
from shangliao.web.console import (
    aftersales_pages,
    alert_pages,
    assignment_pages,
    audit_pages,
    auth_pages,
    automation_pages,
    customer_address_pages,
    customer_merge_pages,
    customer_pages,
    customer_profile_pages,
    dashboard_pages,
    document_pages,
    export_pages,
    inbox_pages,
    invoice_pages,
    notification_pages,
    order_chat_pages,
    order_detail_pages,
    order_edit_pages,
    order_new_pages,
    order_pages,
    parcel_pages,
    payment_log_pages,
    payment_pages,
    privacy_pages,
    product_edit_pages,
    product_pages,
    product_sheet_pages,
    quote_sheet_pages,
    reply_pages,
    settings_pages,
    ship_sheet_pages,
    shipping_pages,
    team_pages,
    webhook_pages,
    workflow_pages,
)
from shangliao.web.locale import LocaleMiddleware
from shangliao.web.nul_bytes import refuse_nul
from shangliao.web.presence import PresenceMiddleware
from shangliao.web.render import page_error
from shangliao.web.route_index import index_routes
from shangliao.web.security_headers import SecurityHeadersMiddleware

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    owns_runtime = runtime is None  # a runtime handed in (tests, a CLI command) is its owner's to close
    runtime = runtime or Runtime.build(settings or get_settings())

    hub = Hub(runtime.db, runtime.bus, runtime.keyring)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # Revocations committed by any process drop their credentials from this one's cache.
        forget_revoked = runtime.bus.subscribe(CALLERS.on_event)
        # ... and changes to a shop's members, the audience a new order tells (notifications/audience.py).
        forget_members = runtime.bus.subscribe(AUDIENCE.on_event)
        # ... and saved shop settings (auto-assignment, workflow) from this process's cache.
        forget_settings = runtime.bus.subscribe(settings_cache.on_event)
        # Due background jobs, in this process unless dedicated `shangliao worker`s run them.
        worker = Worker(runtime, poll_seconds=runtime.settings.worker_poll_seconds)
        # Woken at once by a commit (and, with Redis, by other processes'); off, it only polls.
        stop_waking = (
            runtime.bus.subscribe(worker.on_event) if runtime.settings.worker_wake else (lambda: None)
        )
        if runtime.settings.worker == "inline":
            worker.start()
        _app.state.worker = worker  # /readyz reports on it
        yield
        stop_waking()
        worker.stop()
        forget_revoked()
        forget_members()
        forget_settings()
        hub.close()
        if owns_runtime:
            runtime.close()

    app = FastAPI(
        title="Shangliao API",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],  # every route, before its own dependencies
    )
    app.state.runtime = runtime
    app.state.hub = hub
    errors.install(app, page_errors=page_error)
    app.add_middleware(LocaleMiddleware)
    app.add_middleware(PresenceMiddleware)  # who is online, for round-robin (assignment/presence.py)
    app.add_middleware(SecurityHeadersMiddleware)  # CSP on pages, nosniff on everything
    client_address.install(app, runtime.settings.trusted_proxies)  # outermost: all see the client
    access_log.install()  # query strings never reach a log line (they may hold what a user typed)
    sms.gateway_from(runtime.settings.sms_gateway)  # a typo fails here, not at a customer's first code
    # The API first: Starlette tries routes in order, and orders are created through it.
    api.include(app)
    app.include_router(docs.router)
    app.include_router(health.router)
    app.include_router(ws.router)
    app.include_router(storefront_api.router)
    app.include_router(attachment_api.router)
    app.include_router(attachment_api.guest_router)
    app.include_router(payments_api.guest_router)  # a shop's 收款码 for its customers
    app.include_router(proof_api.router)
    app.include_router(proof_api.guest_router)
    app.include_router(storefront_orders_api.router)
    app.include_router(shipping_shop_api.router)
    app.include_router(storefront_pay_api.router)
    app.include_router(parcel_api.shop_router)
    app.include_router(storefront_claims_api.router)
    app.include_router(storefront_aftersales_api.router)
    app.include_router(storefront_invoice_api.router)
    app.include_router(storefront_pages.router)
    # /orders/new before /orders/{order_id} (and /products/new before /products/{product_id}),
    # which would otherwise take it.
    for console in (
        alert_pages,
        notification_pages,
        assignment_pages,
        inbox_pages,
        order_new_pages,
        order_pages,
        export_pages,  # /orders/export, /orders/ship-sheet, /orders/import… before /orders/{order_id}…
        document_pages,
        ship_sheet_pages,
        quote_sheet_pages,
        order_detail_pages,
        order_chat_pages,
        order_edit_pages,
        invoice_pages,
        aftersales_pages,
        parcel_pages,
        payment_pages,
        payment_log_pages,
        product_sheet_pages,  # /products/export and /products/import before /products/{product_id}
        product_pages,
        product_edit_pages,
        customer_pages,
        customer_merge_pages,
        privacy_pages,
        customer_address_pages,
        customer_profile_pages,
        reply_pages,
        team_pages,
        settings_pages,
        shipping_pages,
        workflow_pages,
        automation_pages,
        webhook_pages,
        audit_pages,
        dashboard_pages,
        auth_pages,
    ):
        app.include_router(console.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    index_routes(app)  # last: every route is in place (web/route_index.py)
    return app


def serving_app() -> FastAPI:
    """The app as ``shangliao serve`` runs it (one per server process).

    Everything built at start-up (modules, routes, compiled statements, the catalogs) lives as
    long as the process: frozen out of the garbage collector's sight, so its full collections
    stop walking hundreds of thousands of objects that can never be freed (measured in the chat
    bench: pauses of up to 0.8 s on a loaded core, freeing nothing).
    """
    app = create_app()
    gc.collect()
    gc.freeze()
    return app
