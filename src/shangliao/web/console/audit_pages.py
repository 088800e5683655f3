"""The console's 操作日志 (audit log) page: the shop's acts newest first, filtered by member, act
and date, for holders of ``audit.read``. The filters hold no personal data, so they are a plain
GET form (a page of the log can be bookmarked); older pages are a link with the cursor."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request

from shangliao.audit.acts import GROUPS, LABELS
from shangliao.audit.details import names_for, readable, target_text
from shangliao.audit.service import AuditQuery, list_audit, members
from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.forms import filters_model
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)

FILTERS = ("staff_id", "act", "date_from", "date_to")


@router.get("/audit")
def audit_page(
    request: Request, actor: Actor = Depends(staff("audit.read")), rt: Runtime = Depends(get_runtime)
):
    # An empty field of the form means "any": left out rather than refused as a bad value.
    raw = {name: request.query_params[name] for name in FILTERS if request.query_params.get(name)}
    query = filters_model(AuditQuery, raw, request.query_params.get("cursor"))
    with rt.db.read() as session:
        page = list_audit(session, actor.shop_id, actor.timezone, query)
        people = members(session, actor.shop_id)
        names = names_for(session, actor.shop_id, actor.timezone, page.items)
    # The API keeps the raw data; the page reads it in words (audit/details.py).
    rows = [
        {**item, "details": readable(item["data"], names), "target": target_text(item, names)}
        for item in page.items
    ]
    older = f"/audit?{urlencode({**raw, 'cursor': page.next_cursor})}" if page.next_cursor else None
    return render(
        request,
        "audit/list.html",
        section="audit",
        rows=rows,
        older=older,
        filters={name: raw.get(name, "") for name in FILTERS},
        filtered=bool(raw),
        members=people,
        groups=GROUPS,
        acts=LABELS,
    )
