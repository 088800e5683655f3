"""The floor of the order-list bench: a bare FastAPI app that sends the list request's SQL and nothing else.

It replays the very statements one ``GET /api/v1/orders`` sends (recorded by ``order_list.py``)
through the bare ``sqlite3`` driver, in one worker-thread trip as any server that must not block
its event loop on the database would, and answers with the rows they return as JSON (binary
columns left out, no decryption, no shaping). Served like Shangliao (uvicorn, the same core), it measures
what the socket, the framework, the thread trip and the SQL cost together: what any Python
endpoint answering this page pays before doing its own work.

Run: ``FLOOR_STATEMENTS=… FLOOR_DB=… uvicorn list_floor_app:create_app --factory --app-dir bench``.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import threading

from anyio import to_thread
from fastapi import FastAPI
from fastapi.responses import Response


def _decode(value):
    # order_list.py writes binary parameters (keyed hashes) as {"b64": "..."}.
    return base64.b64decode(value["b64"]) if isinstance(value, dict) else value


def load_statements(path: str) -> list[tuple[str, list]]:
    with open(path, encoding="utf-8") as f:
        return [(sql, [_decode(v) for v in params]) for sql, params in json.load(f)]


def create_app() -> FastAPI:
    statements = load_statements(os.environ["FLOOR_STATEMENTS"])
    database = os.environ["FLOOR_DB"]
    local = threading.local()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    def connection() -> sqlite3.Connection:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        return conn

    def read() -> bytes:
        conn = connection()
        results = []
        try:
            for sql, params in statements:
                results.append(conn.execute(sql, params).fetchall())
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        rows = [[v for v in row if not isinstance(v, bytes)] for result in results for row in result]
        return json.dumps(rows, ensure_ascii=False).encode()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/floor")
    async def floor() -> Response:
        return Response(await to_thread.run_sync(read), media_type="application/json")

    return app
