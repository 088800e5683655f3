"""Account lock-out: ten wrong passwords in a row lock the account for a while, even against the
right password; a correct sign-in resets the count, the owner's password reset unlocks."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shangliao.audit.lockout import FAILURE_WINDOW, LOCK_AFTER, LOCK_FOR
from shangliao.audit.models import AuditEntry
from shangliao.auth import service as auth_service
from shangliao.auth.models import Staff
from shangliao.core import clock
from tests.support.shops import OWNER_PASSWORD

LOCKED_ZH = "密码错误次数过多，账号已锁定，请 15 分钟后再试或联系店主重置密码"


def from_address(app) -> TestClient:
    """A client at an address of its own: the per-address sign-in limits (auth/access.py) count
    apart from other tests' and from this test's other clients."""
    host = "10.{}.{}.{}".format(*uuid.uuid4().bytes[:3])
    return TestClient(app, client=(host, 50000), raise_server_exceptions=False, follow_redirects=False)


def login(client: TestClient, username: str, password: str):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def fail(app, username: str, times: int) -> list[int]:
    client = from_address(app)
    return [login(client, username, "wrong-wrong-wrong").status_code for _ in range(times)]


def audit_rows(runtime, staff_id: int) -> int:
    with runtime.db.read() as session:
        return session.scalar(select(func.count()).where(AuditEntry.staff_id == staff_id))


def test_ten_wrong_passwords_lock_the_account_with_a_clear_message(app, shop):
    # Given nine wrong passwords for the owner
    first = fail(app, shop.owner_username, LOCK_AFTER - 1)

    # When the tenth is wrong too
    tenth = login(from_address(app), shop.owner_username, "still-wrong-wrong")

    # Then it locks the account, and the answer says so and for how long
    assert first == [401] * (LOCK_AFTER - 1)
    assert tenth.status_code == 429
    error = tenth.json()["error"]
    assert error["code"] == "auth.locked" and error["message"] == LOCKED_ZH
    assert 0 < int(tenth.headers["retry-after"]) <= LOCK_FOR.total_seconds()


def test_the_right_password_is_refused_while_locked_on_the_api_and_the_console(app, shop):
    # Given a locked account
    fail(app, shop.owner_username, LOCK_AFTER)

    # When the owner then types the right password, on the API and on the sign-in form
    api = login(from_address(app), shop.owner_username, OWNER_PASSWORD)
    page = from_address(app).post(
        "/login", data={"username": shop.owner_username, "password": OWNER_PASSWORD}
    )

    # Then both refuse, with the lock's message, and no session is opened
    assert api.status_code == 429 and api.json()["error"]["code"] == "auth.locked"
    assert "sl_session" not in api.cookies
    assert page.status_code == 429 and LOCKED_ZH in page.text and "sl_session" not in page.cookies


def test_attempts_on_a_locked_account_write_nothing(app, runtime, shop):
    # Given a locked account and the audit rows its lock-out left
    fail(app, shop.owner_username, LOCK_AFTER)
    before = audit_rows(runtime, shop.owner_id)

    # When more guesses come in while it is locked
    answers = fail(app, shop.owner_username, 5)

    # Then each is refused without a write (the single writer is not the guesser's)
    assert answers == [429] * 5
    assert audit_rows(runtime, shop.owner_id) == before


def test_the_lock_ends_after_its_minutes(app, shop, frozen):
    # Given a locked account
    fail(app, shop.owner_username, LOCK_AFTER)

    # When the lock's minutes have passed
    frozen(clock.now() + LOCK_FOR + timedelta(seconds=1))
    right = login(from_address(app), shop.owner_username, OWNER_PASSWORD)

    # Then the right password signs in again
    assert right.status_code == 200 and "sl_session" in right.cookies


def test_a_correct_sign_in_resets_the_count(app, shop):
    # Given nine wrong passwords, then the right one
    fail(app, shop.owner_username, LOCK_AFTER - 1)
    assert login(from_address(app), shop.owner_username, OWNER_PASSWORD).status_code == 200

    # When nine more wrong passwords follow
    again = fail(app, shop.owner_username, LOCK_AFTER - 1)

    # Then the account is not locked: the count started again
    assert again == [401] * (LOCK_AFTER - 1)
    assert login(from_address(app), shop.owner_username, OWNER_PASSWORD).status_code == 200


def test_failures_further_apart_than_the_window_do_not_add_up(app, shop, frozen):
    # Given nine wrong passwords
    start = clock.now()
    frozen(start)
    fail(app, shop.owner_username, LOCK_AFTER - 1)

    # When the tenth comes after the window has passed
    frozen(start + FAILURE_WINDOW + timedelta(seconds=1))
    tenth = login(from_address(app), shop.owner_username, "wrong-wrong-wrong")

    # Then it is only a wrong password
    assert tenth.status_code == 401 and tenth.json()["error"]["code"] == "auth.bad_credentials"


def test_the_owner_resetting_the_password_unlocks(app, runtime, shop):
    # Given a locked account
    fail(app, shop.owner_username, LOCK_AFTER)

    # When its password is reset (what the team page's reset calls)
    with runtime.db.write() as session:
        auth_service.do_set_password(session, session.get(Staff, shop.owner_id), "a brand new password")

    # Then the new password signs in at once
    answer = login(from_address(app), shop.owner_username, "a brand new password")
    assert answer.status_code == 200 and "sl_session" in answer.cookies
