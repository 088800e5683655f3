"""Self-hosted API docs: Swagger UI served from our own static files, never a CDN."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.openapi.docs import get_swagger_ui_html

from shangliao.auth.access import public

router = APIRouter()


@router.get("/api/v1/docs", include_in_schema=False, dependencies=[Depends(public())])
def swagger_ui():
    return get_swagger_ui_html(
        openapi_url="/api/v1/openapi.json",
        title="Shangliao API",
        swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
    )


@router.get("/healthz", dependencies=[Depends(public())], tags=["meta"])
def healthz():
    """Liveness: answers without touching the database."""
    return {"status": "ok"}
