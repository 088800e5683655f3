"""The console signed in over HTTP (a test client with the owner's session cookie)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.shops import OWNER_PASSWORD

HTMX = {"HX-Request": "true"}


def sign_in(app, shop, *, lang: str | None = None) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    if lang:
        client.cookies.set("sl_lang", lang)
    r = client.post("/login", data={"username": shop.owner_username, "password": OWNER_PASSWORD})
    assert r.status_code == 303, r.text
    return client
