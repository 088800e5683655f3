"""The HTTP half of the payment-notification floor: a bare FastAPI app that reads a notification's
body and headers and answers WeChat Pay's ``{"code":"SUCCESS"}``, nothing else.

Served and loaded exactly like Shangliao's notify route (uvicorn on one core, the same wrk script),
it measures what FastAPI and the socket cost per notification. Imports nothing of Shangliao.

Run: ``uvicorn notify_echo_app:create_app --factory --app-dir bench``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response


def create_app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/providers/{shop}/wechat")
    async def echo(shop: str, request: Request) -> Response:
        body = await request.body()
        if not body or "wechatpay-signature" not in request.headers:
            return Response(b'{"code":"FAIL"}', status_code=400, media_type="application/json")
        return Response(b'{"code":"SUCCESS"}', media_type="application/json")

    return app
