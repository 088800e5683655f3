"""Nobody reaches the single writer who should not (rule 16 of docs/architecture.md): callers are
resolved and refused before a unit is submitted, and sign-ins check passwords outside the writer,
a few at a time, limited per address as seen through trusted proxies only."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shangliao.app import create_app
from shangliao.audit.lockout import LOCK_AFTER
from shangliao.audit.models import AuditEntry
from shangliao.auth import passwords
from shangliao.auth import service as auth_service
from shangliao.auth.access import LOGIN_ATTEMPTS, LOGIN_FAILURES_PER_ADDRESS
from shangliao.web.client_address import SERVER_OPTIONS, trusted_proxies
from shangliao.web.rate_limits import RateLimits
from tests.support.catalog import make_product
from tests.support.live import serve
from tests.support.shops import OWNER_PASSWORD
from tests.support.writer import writer_transactions

FAILURES = int(LOGIN_FAILURES_PER_ADDRESS.split("/")[0])
ATTEMPTS = int(LOGIN_ATTEMPTS.split("/")[0])


def _from(app, address: str) -> TestClient:
    """A client connecting from ``address``, so its rate-limit counts are its own."""
    return TestClient(app, client=(address, 40000), raise_server_exceptions=False)


def _sign_in(client, username: str, password: str = OWNER_PASSWORD):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def _address() -> str:
    """A documentation address of its own for each client (RFC 3849)."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}"


def test_junk_token_order_posts_are_refused_before_the_writer(runtime, app, shop):
    # given a product to order
    product = make_product(runtime, shop)
    body = {"items": [{"variant_id": product.variant_id, "quantity": 1}], "address": None}

    # when callers with made-up tokens try to place orders
    with writer_transactions(runtime) as begun:
        answers = [
            TestClient(app, headers={"Authorization": f"Bearer slt_{secrets.token_urlsafe(32)}"})
            .post("/api/v1/orders", json=body)
            .status_code
            for _ in range(5)
        ]

    # then each is refused, and no write transaction was opened for them
    assert answers == [401] * 5
    assert begun == []


def test_a_read_only_token_is_refused_an_order_before_the_writer(runtime, app, shop):
    product = make_product(runtime, shop)
    created = shop.api.post("/api/v1/auth/tokens", json={"name": "viewer", "scopes": ["orders.read"]})
    viewer = TestClient(app, headers={"Authorization": f"Bearer {created.json()['token']}"})

    with writer_transactions(runtime) as begun:
        r = viewer.post("/api/v1/orders", json={"items": [{"variant_id": product.variant_id, "quantity": 1}]})

    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.forbidden"
    assert begun == []


def _audit_rows(runtime, staff_id: int) -> int:
    with runtime.db.read() as session:
        return session.scalar(select(func.count()).where(AuditEntry.staff_id == staff_id))


def test_guesses_at_unknown_usernames_and_at_a_locked_account_open_no_write_transaction(runtime, app, shop):
    # given the owner's account locked by wrong passwords (audit/lockout.py), each from its own address
    for _ in range(LOCK_AFTER):
        _sign_in(_from(app, _address()), shop.owner_username, "wrong-wrong")

    # when made-up usernames are guessed, and the locked account is guessed at again
    with writer_transactions(runtime) as begun:
        unknown = [_sign_in(_from(app, _address()), f"u{uuid.uuid4().hex[:12]}", "x" * 8) for _ in range(3)]
        locked = [_sign_in(_from(app, _address()), shop.owner_username, "wrong-wrong") for _ in range(3)]

    # then each is refused, and none of them reached the writer (rule 16 of docs/architecture.md)
    assert [r.json()["error"]["code"] for r in unknown] == ["auth.bad_credentials"] * 3
    assert [r.json()["error"]["code"] for r in locked] == ["auth.locked"] * 3
    assert begun == []


def test_a_wrong_password_for_a_real_account_writes_one_unit_after_the_password_check(
    runtime, app, shop, monkeypatch
):
    # given the moment the password is checked noted among the writer's transactions
    real_verify = auth_service.verify_password
    audited = _audit_rows(runtime, shop.owner_id)

    with writer_transactions(runtime) as begun:

        def noted_verify(password_hash, password):
            begun.append("argon2")
            return real_verify(password_hash, password)

        monkeypatch.setattr(auth_service, "verify_password", noted_verify)
        # when a wrong password is given for the owner's account
        r = _sign_in(_from(app, _address()), shop.owner_username, "wrong-wrong")

    # then it is refused; argon2 ran before the writer was asked for anything, and the one unit
    # that followed (on SQLite's single writer) recorded the failure for the lock-out's count
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth.bad_credentials"
    assert begun == (["argon2", 1] if runtime.db.is_sqlite else ["argon2"])
    assert _audit_rows(runtime, shop.owner_id) == audited + 1


def test_a_sign_in_writes_only_its_session(runtime, app, shop):
    client = _from(app, _address())

    with writer_transactions(runtime) as begun:
        r = _sign_in(client, shop.owner_username)

    assert r.status_code == 200, r.text
    assert len(begun) == (1 if runtime.db.is_sqlite else 0)
    assert client.get("/api/v1/auth/me").json()["staff"]["id"] == shop.owner_id


def test_random_usernames_from_one_address_are_stopped(app, shop):
    # given one address trying made-up usernames as fast as it can
    client = _from(app, _address())
    answers = [_sign_in(client, f"u{uuid.uuid4().hex[:12]}", "x" * 8) for _ in range(FAILURES + 1)]

    # then past the limit it is refused unread, even with the owner's right password
    right = _sign_in(client, shop.owner_username)
    assert [a.status_code for a in answers] == [401] * FAILURES + [429]
    assert right.status_code == 429 and right.json()["error"]["code"] == "rate.limited"
    # and another address is not held back by it
    assert _sign_in(_from(app, _address()), shop.owner_username).status_code == 200


def test_password_checks_are_bounded_and_a_sign_in_beyond_them_is_told_to_wait(app, shop, monkeypatch):
    # given every password-check slot taken (as by a burst of sign-ins)
    monkeypatch.setattr(passwords, "WAIT_SECONDS", 0.01)
    taken = 0
    try:
        while passwords._checks.acquire(blocking=False):
            taken += 1
        # when someone signs in
        r = _sign_in(_from(app, _address()), shop.owner_username)
    finally:
        for _ in range(taken):
            passwords._checks.release()

    # then they are told to come back, with nothing started
    assert taken == passwords.CHECKS_AT_ONCE
    assert r.status_code == 429 and r.json()["error"]["code"] == "auth.busy"
    assert int(r.headers["retry-after"]) > 0


def test_beyond_a_short_queue_a_sign_in_is_refused_without_waiting(app, shop, monkeypatch):
    # given as many sign-ins checking or waiting as may (each holds a worker thread meanwhile)
    monkeypatch.setattr(passwords, "_admitted", passwords.CHECKS_AT_ONCE + passwords.MAX_WAITING)

    # when one more arrives, with the right password
    r = _sign_in(_from(app, _address()), shop.owner_username)

    # then it is told to come back instead of queueing for a thread
    assert r.status_code == 429 and r.json()["error"]["code"] == "auth.busy"


# --- forwarded addresses ------------------------------------------------------------------------


def _app_with(runtime, proxies: str):
    """The app with ``SHANGLIAO_TRUSTED_PROXIES=proxies``, and rate counts of its own."""
    settings = runtime.settings.model_copy(update={"trusted_proxies": proxies})
    return create_app(runtime=replace(runtime, settings=settings, limits=RateLimits(None)))


def _guesses_from_many_forwarded_addresses(url: str) -> list[int]:
    """One username guessed once more than an address may, each try naming a new address."""
    username = f"u{uuid.uuid4().hex[:12]}"
    with httpx.Client(base_url=url) as client:
        return [
            client.post(
                "/api/v1/auth/login",
                json={"username": username, "password": "x" * 8},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            ).status_code
            for i in range(ATTEMPTS + 1)
        ]


def test_forwarded_addresses_from_an_untrusted_client_are_ignored(runtime):
    # given the server as `shangliao serve` runs it, with no trusted proxy configured
    with serve(_app_with(runtime, ""), **SERVER_OPTIONS) as url:
        # when a local client names a new address in X-Forwarded-For for every attempt
        answers = _guesses_from_many_forwarded_addresses(url)

    # then its attempts are counted against its own address all the same
    assert answers == [401] * ATTEMPTS + [429]


def test_a_trusted_proxy_is_believed(runtime):
    # given 127.0.0.1 configured as the reverse proxy
    with serve(_app_with(runtime, "127.0.0.1"), **SERVER_OPTIONS) as url:
        answers = _guesses_from_many_forwarded_addresses(url)

    # then each forwarded client is counted on its own
    assert answers == [401] * (ATTEMPTS + 1)


def test_a_misspelt_proxy_address_is_refused_at_start():
    assert trusted_proxies(" 10.0.0.1, 10.1.0.0/16 ,") == ["10.0.0.1", "10.1.0.0/16"]
    with pytest.raises(ValueError, match="SHANGLIAO_TRUSTED_PROXIES"):
        trusted_proxies("10.0.0.300")
