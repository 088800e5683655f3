"""A refused guess is answered after a pause that holds no thread (web/errors.py ``pace``), and
password checks run at a lower CPU priority (auth/passwords.py): a client guessing tokens or
passwords as fast as it can gets a couple of answers a second per connection, and the server's
core keeps serving everyone else."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import uuid
from dataclasses import replace

import httpx
import pytest

from shangliao.app import create_app
from shangliao.auth import passwords
from shangliao.auth.access import LOGIN_ATTEMPTS
from shangliao.web.rate_limits import RateLimits
from tests.support.shops import OWNER_PASSWORD

PAUSE = 1.0
# The crowd tests check that a good request overtakes the held-back guesses; a long pause leaves
# room for a loaded CI machine (a full parallel run once took longer than 1 s to answer it).
CROWD_PAUSE = 4.0
ATTEMPTS = int(LOGIN_ATTEMPTS.split("/")[0])
# More refusals at once than the worker threads sync routes run on (anyio's default is 40): if a
# pause held a thread, a good request sent after them would wait for the pauses to end.
CROWD = 50


def _app(runtime, pause: float, limits: RateLimits):
    settings = runtime.settings.model_copy(update={"refusal_pause": pause})
    return create_app(runtime=replace(runtime, settings=settings, limits=limits))


@pytest.fixture
def paced_app(runtime):
    return _app(runtime, PAUSE, RateLimits(None))


@pytest.fixture
def crowd_app(runtime):
    return _app(runtime, CROWD_PAUSE, RateLimits(None))


async def _timed(client: httpx.AsyncClient, method: str, url: str, **kwargs):
    started = time.monotonic()
    response = await client.request(method, url, **kwargs)
    return response, time.monotonic() - started


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def _crowd_then(app, refused: dict, then: dict):
    """``CROWD`` copies of the ``refused`` request, then (once they are all waiting) ``then``:
    returns the refusals' results and ``then``'s result, and whether ``then`` finished first."""
    async with _client(app) as client:
        crowd = [asyncio.create_task(_timed(client, **refused)) for _ in range(CROWD)]
        await asyncio.sleep(CROWD_PAUSE / 8)
        other = await _timed(client, **then)
        first = not any(task.done() for task in crowd)
        return await asyncio.gather(*crowd), other, first


def test_made_up_tokens_wait_without_holding_a_thread(crowd_app, shop):
    # given a crowd of requests with made-up tokens, on a sync route and an async (order) route
    junk = {"Authorization": f"Bearer slt_{uuid.uuid4().hex}"}
    for refused in (
        {"method": "GET", "url": "/api/v1/orders", "headers": junk},
        {"method": "POST", "url": "/api/v1/orders", "headers": junk, "json": {"items": []}},
    ):
        # when the owner asks for the order list meanwhile
        good = {
            "method": "GET",
            "url": "/api/v1/orders",
            "headers": {"Authorization": f"Bearer {shop.token}"},
        }
        answers, (ok, _), first = asyncio.run(_crowd_then(crowd_app, refused, good))

        # then the owner is answered while the guesses are still held back
        assert ok.status_code == 200 and first
        # and every guess is refused, no sooner than the pause
        assert {r.status_code for r, _ in answers} == {401}
        assert {r.json()["error"]["code"] for r, _ in answers} == {"auth.required"}
        assert min(took for _, took in answers) >= CROWD_PAUSE * 0.99


def test_a_request_without_a_credential_is_not_held_back(crowd_app, shop):
    # given a crowd of made-up tokens waiting out their pause
    refused = {"method": "GET", "url": "/api/v1/orders", "headers": {"Authorization": "Bearer slt_made-up"}}

    # when someone asks with no credential at all (a signed-out page, a first API call)
    answers, (bare, _), first = asyncio.run(
        _crowd_then(crowd_app, refused, {"method": "GET", "url": "/api/v1/orders"})
    )

    # then they are told to sign in at once, ahead of the held-back guesses
    assert bare.status_code == 401 and first
    assert {r.status_code for r, _ in answers} == {401}
    assert bare.json()["error"]["code"] == "auth.required"


def test_wrong_passwords_are_answered_after_the_pause_in_the_api_and_the_console(paced_app, shop):
    async def attempts():
        async with _client(paced_app) as client:
            api = await _timed(
                client, "POST", "/api/v1/auth/login",
                json={"username": shop.owner_username, "password": "not-the-password"},
            )  # fmt: skip
            form = await _timed(
                client, "POST", "/login",
                data={"username": shop.owner_username, "password": "not-the-password"},
            )  # fmt: skip
            right = await _timed(
                client, "POST", "/api/v1/auth/login",
                json={"username": shop.owner_username, "password": OWNER_PASSWORD},
            )  # fmt: skip
            return api, form, right

    (api, api_took), (form, form_took), (right, _) = asyncio.run(attempts())

    assert api.status_code == 401 and api.json()["error"]["code"] == "auth.bad_credentials"
    assert form.status_code == 401 and "text/html" in form.headers["content-type"]
    assert min(api_took, form_took) >= PAUSE * 0.99
    # and the right password still signs in
    assert right.status_code == 200


def test_a_rate_limited_caller_is_answered_after_the_pause(runtime):
    # given one address that has used up its sign-in attempts for a username (counted by an app
    # without the pause, to be quick, sharing the counts with the paced one)
    limits = RateLimits(None)
    unpaced, paced = _app(runtime, 0, limits), _app(runtime, PAUSE, limits)
    body = {"username": f"u{uuid.uuid4().hex[:12]}", "password": "x" * 8}

    async def attempts():
        async with _client(unpaced) as client:
            tried = [await client.post("/api/v1/auth/login", json=body) for _ in range(ATTEMPTS)]
        async with _client(paced) as client:
            return tried, await _timed(client, "POST", "/api/v1/auth/login", json=body)

    # when it tries once more
    tried, (limited, took) = asyncio.run(attempts())

    assert {r.status_code for r in tried} == {401}
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert took >= PAUSE * 0.99


@pytest.mark.skipif(sys.platform != "linux", reason="Linux sets a nice value per thread")
def test_password_checks_run_at_a_lower_cpu_priority():
    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = niceness()
    checker = passwords._checkers.submit(niceness).result()

    assert checker == max(before, passwords.CHECK_NICENESS)
    # the thread that asked is left as it was
    assert niceness() == before
