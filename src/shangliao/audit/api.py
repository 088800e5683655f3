"""``GET /api/v1/audit``: the shop's audit log, for holders of ``audit.read``."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shangliao.audit.schemas import AuditPageOut
from shangliao.audit.service import AuditQuery, list_audit
from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.query_params import query_docs, query_model

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditPageOut, openapi_extra=query_docs(AuditQuery))
def list_audit_route(
    query: AuditQuery = Depends(query_model(AuditQuery)),
    actor: Actor = Depends(staff("audit.read")),
    rt: Runtime = Depends(get_runtime),
):
    """Security-relevant acts, newest first: sign-ins and their failures, lock-outs, team and role
    changes, API tokens, personal data shown, exports, settings, key rotation."""
    with rt.db.read() as session:
        page = list_audit(session, actor.shop_id, actor.timezone, query)
    return {"items": page.items, "next_cursor": page.next_cursor}
