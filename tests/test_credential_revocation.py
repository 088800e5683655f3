"""Every revocation is a durable event in the same transaction (rule 20 of docs/architecture.md):
open sockets and every process's credential cache learn of it through the bus."""

from __future__ import annotations

from sqlalchemy import select

from shangliao.auth.models import Credential, Staff
from shangliao.auth.service import CREDENTIAL_REVOKED, do_set_password
from shangliao.events import log
from tests.support.shops import OWNER_PASSWORD


def _revocations(runtime, shop_id: int) -> list[dict]:
    with runtime.db.read() as session:
        return [e.data for e in log.since(session, shop_id, 0) if e.type == CREDENTIAL_REVOKED]


def _credential_ids(runtime, staff_id: int, kind: str) -> list[int]:
    with runtime.db.read() as session:
        return sorted(
            session.scalars(
                select(Credential.id).where(Credential.staff_id == staff_id, Credential.kind == kind)
            )
        )


def test_logout_records_which_credential_was_revoked(runtime, shop, anon):
    # given a signed-in browser session
    anon.post("/api/v1/auth/login", json={"username": shop.owner_username, "password": OWNER_PASSWORD})
    [session_id] = _credential_ids(runtime, shop.owner_id, "session")

    # when it signs out
    assert anon.post("/api/v1/auth/logout").status_code == 204

    # then the log says that credential of that staff member is gone, ids only
    assert _revocations(runtime, shop.id) == [{"staff_id": shop.owner_id, "credential_ids": [session_id]}]


def test_revoking_a_token_records_it_once(runtime, shop):
    # given an API token
    created = shop.api.post("/api/v1/auth/tokens", json={"name": "erp", "scopes": ["orders.read"]}).json()

    # when it is revoked twice
    first = shop.api.delete(f"/api/v1/auth/tokens/{created['id']}")
    again = shop.api.delete(f"/api/v1/auth/tokens/{created['id']}")

    # then one event names it, and the token no longer works
    assert (first.status_code, again.status_code) == (204, 204)
    assert _revocations(runtime, shop.id) == [{"staff_id": shop.owner_id, "credential_ids": [created["id"]]}]
    assert (
        shop.api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {created['token']}"}).status_code
        == 401
    )


def test_a_new_password_records_every_session_it_signed_out(runtime, shop, app):
    from fastapi.testclient import TestClient

    # given two browser sessions
    for _ in range(2):
        TestClient(app).post(
            "/api/v1/auth/login", json={"username": shop.owner_username, "password": OWNER_PASSWORD}
        )
    sessions = _credential_ids(runtime, shop.owner_id, "session")

    # when the password is changed (what `shangliao user passwd` does)
    with runtime.db.write() as session:
        do_set_password(session, session.get(Staff, shop.owner_id), "another long password")

    # then one event lists both sessions, and the API token (not a session) is untouched
    assert _revocations(runtime, shop.id) == [{"staff_id": shop.owner_id, "credential_ids": sessions}]
    assert shop.api.get("/api/v1/auth/me").status_code == 200
