"""Self-hosted API docs: Swagger UI served from our own static files, never a CDN."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from shangliao.auth.access import public
from shangliao.web.render import render

router = APIRouter()


@router.get("/api/v1/docs", include_in_schema=False, dependencies=[Depends(public())])
def swagger_ui(request: Request):
    """FastAPI's self-hosting pattern, minus its inline start-up script (the CSP refuses it)."""
    return render(request, "docs.html", openapi_url=request.app.openapi_url)
