"""Where providers send notifications, ``POST /api/v1/providers/{shop}/wechat|alipay|gateway``
(``shop`` is the shop's slug), and the log finance reads, ``GET /api/v1/payment-notifications``.

A notification has no session: its signature is the credential (``auth.access.provider``). It is
read and verified in a worker thread, outside the writer (rule 16 of docs/architecture.md), and
only a verified one submits a write unit (payments/notifications.py). A refused one that names a
real shop is logged in a small unit of its own, at most :data:`REFUSALS_LOGGED` a minute per shop,
so a flood of forgeries cannot fill the writer; past that it is answered and forgotten.

Answers: applied, a duplicate, a mismatch (alerted, never applied: retrying would not help) and a
trade that did not succeed are acknowledged in the provider's words (WeChat ``{"code":
"SUCCESS"}``, Alipay ``success``, the gateway ``{"received": true}``); a bad or missing signature
or a stale one is 401, an unreadable body 400, an ``out_trade_no`` the shop never issued 404.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shangliao.auth.access import provider, staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import BadCredential, TooManyRequests
from shangliao.core.schemas import StrictModel
from shangliao.payments import alipay, gateway, wechat
from shangliao.payments.methods import find_method, open_secrets
from shangliao.payments.models import NOTIFICATION_OUTCOMES
from shangliao.payments.notice import Notice, Refused
from shangliao.payments.notifications import apply_notice, list_notifications, log_notification
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop
from shangliao.web.client_address import client_address
from shangliao.web.errors import pace
from shangliao.web.query_params import query_docs, query_model

router = APIRouter(prefix="/providers", tags=["payment notifications"])
log_router = APIRouter(prefix="/payment-notifications", tags=["payment notifications"])

READERS: dict[str, ModuleType] = {"wechat": wechat, "alipay": alipay, "gateway": gateway}
REFUSALS_LOGGED = "120/minute"
# Larger than any notification either provider sends; a bigger body is not read.
MAX_BODY = 64 * 1024
_STATUS = {"bad_signature": 401, "stale": 401, "malformed": 400, "unknown_trade": 404}


@dataclass
class Received:
    """What the route knows before the write unit: the shop (None: no such shop or method) and
    either the verified notice or why it was refused."""

    shop_id: int | None
    notice: Notice | None = None
    refused: Refused | None = None
    log_refusal: bool = False


@dataclass(frozen=True)
class _Method:
    shop_id: int | None
    enabled: bool
    settings: dict[str, Any]
    secrets: dict[str, Any]
    until: float


# A shop's method as last read, for METHOD_TTL seconds (like the caller cache, rule 16 of
# docs/architecture.md): a provider's burst costs no read unit nor unsealing per notification. A
# key removed from the settings is still trusted for at most that long.
METHOD_TTL = 5.0
_methods: dict[tuple[int, str, str], _Method] = {}


def _method(rt: Runtime, slug: str, kind: str) -> _Method:
    key = (id(rt), slug, kind)
    found = _methods.get(key)
    if found is not None and found.until > time.monotonic():
        return found
    with rt.db.read() as session:
        shop_id = session.scalar(select(Shop.id).where(Shop.slug == slug))
        method = find_method(session, shop_id, kind) if shop_id is not None else None
        found = _Method(
            shop_id,
            method is not None and method.enabled,
            dict(method.settings or {}) if method is not None else {},
            open_secrets(rt.keyring, method) if method is not None else {},
            time.monotonic() + METHOD_TTL,
        )
    if len(_methods) > 10_000:  # made-up slugs must not grow it without end
        _methods.clear()
    _methods[key] = found
    return found


def _verify(rt: Runtime, slug: str, kind: str, headers: Mapping[str, str], body: bytes) -> Received:
    """In a worker thread: the shop's method (cached), its secrets, the signature, the body."""
    method = _method(rt, slug, kind)
    shop_id, enabled, settings, secrets = method.shop_id, method.enabled, method.settings, method.secrets
    if shop_id is None:
        return Received(None)
    try:
        if not enabled:
            raise Refused("bad_signature", "notify.method_not_configured")
        if len(body) > MAX_BODY:
            raise Refused("malformed", "notify.too_large")
        return Received(shop_id, notice=READERS[kind].read(headers, body, settings, secrets))
    except Refused as refused:
        try:
            rt.limits.check(REFUSALS_LOGGED, "payment-notify-refused", str(shop_id))
            logged = True
        except TooManyRequests:
            logged = False
        return Received(shop_id, refused=refused, log_refusal=logged)


def _logged(shop_id: int, kind: str, outcome: str, address: str, digest: str, **more: Any):
    """A unit writing one log row and nothing else."""

    def unit(session) -> None:
        log_notification(session, shop_id, kind, outcome, address=address, digest=digest, **more)

    return unit


def _answer(kind: str, status: int, message: str = "") -> Response:
    reader = READERS[kind]
    code, body, media = reader.answer_ok() if status < 300 else reader.answer_fail(status, message)
    return Response(content=body, status_code=code, media_type=media)


async def receive(kind: str, slug: str, request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    body = await request.body()
    address, digest = client_address(request), hashlib.sha256(body).hexdigest()
    got = await to_thread.run_sync(_verify, rt, slug, kind, dict(request.headers), body)
    if got.shop_id is None:
        return _answer(kind, 404, "notify.unknown_shop")
    shop_id = got.shop_id
    if got.refused is not None:
        refused = got.refused
        if got.log_refusal:
            await rt.db.submit(
                _logged(shop_id, kind, refused.outcome, address, digest, reason=refused.reason)
            )
        if refused.outcome != "malformed":  # a guess at the signature waits like a bad password
            await pace(request, BadCredential(refused.reason, refused.reason))
        return _answer(kind, _STATUS[refused.outcome], refused.reason)
    notice = got.notice
    assert notice is not None
    try:
        done = await rt.db.submit(lambda s: apply_notice(s, shop_id, notice, address=address, digest=digest))
    except IntegrityError:
        # The same transaction committed by a copy the order lock did not meet: already applied.
        await rt.db.submit(_logged(shop_id, kind, "duplicate", address, digest, notice=notice))
        return _answer(kind, 200)
    return _answer(kind, _STATUS.get(done["outcome"], 200), done["reason"] or "")


def _route(kind: str):
    async def notify(shop: str, request: Request) -> Response:
        return await receive(kind, shop, request)

    notify.__name__ = f"notify_{kind}"
    notify.__doc__ = f"A {kind} notification (payments/{kind}.py says how it is signed; docs/payments.md)."
    return notify


for _kind in READERS:
    router.add_api_route(
        f"/{{shop}}/{_kind}",
        _route(_kind),
        methods=["POST"],
        dependencies=[Depends(provider())],
        response_class=Response,
        name=f"provider_notify_{_kind}",
        # Not a client API: each answers in its provider's own words (docs/payments.md documents
        # them), not the API's error shape the OpenAPI document promises.
        include_in_schema=False,
    )


class NotificationQuery(StrictModel):
    """The log's filters."""

    outcome: Literal[NOTIFICATION_OUTCOMES] | None = Field(None, description="Only this outcome.")  # type: ignore[valid-type]
    before: int | None = Field(None, ge=1, le=2**62, description="`next_before` of the previous page.")
    limit: int = Field(50, ge=1, le=100)


class NotificationOut(BaseModel):
    id: int
    provider: str
    received_at: Any
    outcome: str
    reason: str | None
    kind: str | None
    out_trade_no: str | None
    transaction_id: str | None
    amount: int | None
    order_id: int | None
    order_number: str | None
    remote_address: str
    body_digest: str


class NotificationPageOut(BaseModel):
    items: list[NotificationOut]
    next_before: int | None


@log_router.get("", response_model=NotificationPageOut, openapi_extra=query_docs(NotificationQuery))
def list_route(
    query: NotificationQuery = Depends(query_model(NotificationQuery)),
    actor: Actor = Depends(staff("payments.record")),
    rt: Runtime = Depends(get_runtime),
):
    """Every notification the shop's provider URLs received, newest first, and what became of it
    (applied, duplicate, bad_signature, stale, mismatch, unknown_trade, malformed, ignored)."""
    with rt.db.read() as session:
        items, next_before = list_notifications(
            session, actor, outcome=query.outcome, before=query.before, limit=query.limit
        )
    return {"items": items, "next_before": next_before}
