"""Every revocation is a durable event in the same transaction (rule 20 of docs/architecture.md):
open sockets and every process's credential cache learn of it through the bus."""

from __future__ import annotations

from fastapi.testclient import TestClient
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


# --- the caller cache: revoked credentials never live on in memory --------------------------------


def _actor(shop_id: int = 1):
    from shangliao.auth.actor import Actor

    return Actor(shop_id, 7, "owner", frozenset({"orders.read"}), "token")


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_cached_caller_is_forgotten_when_its_revocation_is_heard():
    from shangliao.auth.caller_cache import CallerCache, Found

    cache = CallerCache(monotonic=_Clock())
    cache.put(b"k", Found(_actor(), 41, None), seen=cache.generation)
    assert cache.get(b"k") == (True, _actor())

    cache.on_event({"type": CREDENTIAL_REVOKED, "data": {"staff_id": 7, "credential_ids": [41]}})

    assert cache.get(b"k") == (False, None)


def test_a_cached_caller_lasts_no_longer_than_the_ttl_when_the_bus_says_nothing():
    from shangliao.auth.caller_cache import CallerCache, Found

    clock = _Clock()
    cache = CallerCache(ttl=5.0, monotonic=clock)
    cache.put(b"k", Found(_actor(), 41, None), seen=cache.generation)

    clock.now = 4.9
    assert cache.get(b"k")[0] is True
    clock.now = 5.0
    assert cache.get(b"k") == (False, None)


def test_a_lookup_that_began_before_a_revocation_is_not_remembered():
    from shangliao.auth.caller_cache import CallerCache, Found

    cache = CallerCache(monotonic=_Clock())
    seen = cache.generation  # a request reads the credential (still live) ...
    cache.forget([41])  # ... the credential is revoked and its revocation heard ...
    cache.put(b"k", Found(_actor(), 41, None), seen=seen)  # ... then the request stores its read

    assert cache.get(b"k") == (False, None)


def test_an_expired_credential_is_not_answered_from_memory(frozen):
    from datetime import UTC, datetime, timedelta

    from shangliao.auth.caller_cache import CallerCache, Found

    start = datetime(2026, 1, 1, tzinfo=UTC)
    frozen(start)
    cache = CallerCache(monotonic=_Clock())
    cache.put(b"k", Found(_actor(), 41, start + timedelta(seconds=1)), seen=cache.generation)

    frozen(start + timedelta(seconds=1))

    assert cache.get(b"k") == (True, None)


def test_a_revocation_by_another_process_reaches_this_ones_cache_through_the_bus(runtime, app, shop):
    from sqlalchemy import update

    from shangliao.core import clock

    created = shop.api.post("/api/v1/auth/tokens", json={"name": "erp", "scopes": ["orders.read"]}).json()
    with TestClient(
        app, headers={"Authorization": f"Bearer {created['token']}"}
    ) as erp:  # lifespan: subscribed
        # given the token known to this process
        assert erp.get("/api/v1/orders").status_code == 200

        # when another process revokes it (its row changes, and only the bus tells us)
        with runtime.db.write() as session:
            session.execute(
                update(Credential).where(Credential.id == created["id"]).values(revoked_at=clock.now())
            )
        still = erp.get("/api/v1/orders").status_code
        runtime.bus.publish_many(
            [{"shop_id": shop.id, "seq": 0, "type": CREDENTIAL_REVOKED, "entity_type": "staff",
              "entity_id": shop.owner_id, "data": {"staff_id": shop.owner_id, "credential_ids": [created["id"]]}}]
        )  # fmt: skip

        # then, the moment it is heard, the token is refused
        assert erp.get("/api/v1/orders").status_code == 401
    assert still == 200  # (remembered until then: the TTL bounds how long a lost message matters)


# --- the caller cache: a shop's changed settings never live on in memory ------------------------


def test_a_change_of_shop_settings_heard_on_the_bus_drops_that_shops_callers_only():
    from shangliao.auth.caller_cache import SHOP_CHANGED_EVENT, CallerCache, Found

    # given callers of two shops in memory
    cache = CallerCache(monotonic=_Clock())
    cache.put(b"one", Found(_actor(shop_id=1), 41, None), seen=cache.generation)
    cache.put(b"two", Found(_actor(shop_id=2), 42, None), seen=cache.generation)

    # when another process says shop 1's settings changed
    cache.on_event({"shop_id": 1, "seq": 9, "type": SHOP_CHANGED_EVENT, "data": {"changed": ["timezone"]}})

    # then shop 1's caller is read again, shop 2's is still remembered
    assert cache.get(b"one") == (False, None)
    assert cache.get(b"two") == (True, _actor(shop_id=2))


def test_changing_the_shops_zone_records_the_event_other_processes_hear(runtime, shop):
    from shangliao.auth.caller_cache import SHOP_CHANGED_EVENT

    # when the shop moves to another zone
    assert shop.api.patch("/api/v1/shop", json={"timezone": "Asia/Tokyo"}).status_code == 200

    # then the log (and so the bus) carries the change, naming the setting, not its value
    with runtime.db.read() as session:
        changed = [
            (e.entity_type, e.entity_id, e.data)
            for e in log.since(session, shop.id, 0)
            if e.type == SHOP_CHANGED_EVENT
        ]
    assert changed == [("shop", shop.id, {"changed": ["timezone"]})]
