"""One dependency for a read route asked on every view of a page: who asks (allowed), what they ask
(the query string, validated), and the runtime.

FastAPI's work per dependency (its cache key, what kind of callable it is, its sub-parameters) is
~10 µs a request on this machine whatever the dependency does: ``staff_in_unit``, ``query_model``
and ``get_runtime`` apart cost 工作台's overview ~25 µs more than one (bench/dashboard.py, whose
floor_ratio had no room for it). Together they are one. The access rule is the caller's, so the access audit (web/routes.py) reads it as before.

    @router.get("/x", openapi_extra=query_docs(XQuery))
    async def route(read: HotRead[XQuery] = Depends(hot_read("analytics.read", XQuery))): ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import Request
from pydantic import BaseModel

from shangliao.auth.access import staff_in_unit
from shangliao.auth.actor import Actor
from shangliao.runtime import Runtime
from shangliao.web.query_params import query_model

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class HotRead(Generic[M]):
    actor: Actor
    query: M
    rt: Runtime


def hot_read(permission: str, model: type[M]):
    require_caller = staff_in_unit(permission)
    parse_query = query_model(model)

    async def read_request(request: Request) -> HotRead[M]:
        caller = await require_caller(request)  # first: refused (401, 403) before the query is read
        return HotRead(caller.actor, await parse_query(request), request.app.state.runtime)

    read_request.access = require_caller.access  # type: ignore[attr-defined]
    return read_request
