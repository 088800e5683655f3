"""The audit log: acts recorded by every area, read back by holders of audit.read (filtered,
keyset-paged), append-only down to the database, and the sign-in acts it records itself."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from shangliao.audit.lockout import LOCK_AFTER
from shangliao.audit.log import record_audit
from shangliao.audit.models import AuditEntry
from shangliao.storage.base import all_models
from tests.support.shops import OWNER_PASSWORD
from tests.support.team import MEMBER_PASSWORD, make_member


def record(runtime, shop, act: str, **kw) -> int:
    with runtime.db.write() as session:
        entry = record_audit(session, shop.id, act, **kw)
        session.flush()
        return entry.id


def from_address(app, host: str | None = None) -> TestClient:
    """A client at an address of its own, so the per-address sign-in limits count apart."""
    host = host or "10.{}.{}.{}".format(*uuid.uuid4().bytes[:3])
    return TestClient(app, client=(host, 50000), raise_server_exceptions=False, follow_redirects=False)


def audit(shop, **params) -> dict:
    answer = shop.api.get("/api/v1/audit", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def acts(page: dict) -> list[str]:
    return [item["act"] for item in page["items"]]


def total_rows(runtime) -> int:
    with runtime.db.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry))


def test_recorded_acts_are_listed_newest_first_with_who_and_a_label(runtime, shop):
    # Given two acts, one by the owner's token and one by the system
    record(
        runtime,
        shop,
        "team.role_created",
        actor=shop.actor,
        target_type="role",
        target_id=7,
        data={"name": "x"},
    )
    record(runtime, shop, "keys.rotated", actor_type="cli")

    # When the owner reads the log, in Chinese and in English
    zh = audit(shop)
    en = shop.api.get("/api/v1/audit", headers={"Accept-Language": "en"}).json()

    # Then the newest comes first, each with who did it and the act's readable name
    newest, older = zh["items"][:2]
    assert (newest["act"], newest["label"], newest["who"], newest["actor_type"]) == (
        "keys.rotated",
        "轮换加密密钥",
        None,
        "cli",
    )
    assert (older["label"], older["who"], older["staff_id"], older["actor_type"]) == (
        "创建角色",
        "店主",
        shop.owner_id,
        "api",
    )
    assert older["target_type"] == "role" and older["target_id"] == 7 and older["data"] == {"name": "x"}
    assert en["items"][1]["label"] == "Role created"


def test_another_shops_acts_are_not_shown(runtime, shop, other_shop):
    # Given an act in another shop
    record(runtime, other_shop, "team.member_created", actor=other_shop.actor)

    # When this shop's owner reads the log
    page = audit(shop)

    # Then it is not there
    assert "team.member_created" not in acts(page)


def test_filters_by_member_act_prefix_and_the_shops_days(runtime, shop, frozen):
    # Given acts by two people at 23:30 and 00:30 Shanghai time on either side of midnight
    member = make_member(runtime, shop, role="agent")
    frozen(datetime(2026, 3, 1, 15, 30, tzinfo=UTC))  # 23:30 on 1 March in Shanghai
    record(runtime, shop, "team.role_changed", actor=shop.actor)
    frozen(datetime(2026, 3, 1, 16, 30, tzinfo=UTC))  # 00:30 on 2 March in Shanghai
    record(runtime, shop, "pii.revealed", staff_id=member.staff_id, actor_type="staff")
    record(runtime, shop, "team.member_created", actor=shop.actor)
    frozen(None)

    # When the log is filtered by member, by an act, by a prefix, and by the shop's day
    by_member = audit(shop, staff_id=member.staff_id)
    by_act = audit(shop, act="pii.revealed")
    by_prefix = audit(shop, act="team.")
    on_the_2nd = audit(shop, date_from="2026-03-02", date_to="2026-03-02")
    on_the_1st = audit(shop, date_to="2026-03-01")

    # Then each answers what it names
    assert acts(by_member) == ["pii.revealed"]
    assert acts(by_act) == ["pii.revealed"]
    assert acts(by_prefix) == ["team.member_created", "team.role_changed"]
    assert acts(on_the_2nd) == ["team.member_created", "pii.revealed"]
    assert acts(on_the_1st) == ["team.role_changed"]


def test_pages_follow_the_cursor_without_skipping_or_repeating(runtime, shop):
    # Given five acts
    ids = [record(runtime, shop, "auth.token_created", actor=shop.actor) for _ in range(5)]

    # When the log is read two at a time
    seen, cursor, pages = [], None, 0
    while True:
        page = audit(shop, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    # Then every act comes once, newest first, in three pages
    assert seen == sorted(ids, reverse=True) and pages == 3


def test_bad_filters_and_cursors_are_refused(shop):
    assert shop.api.get("/api/v1/audit", params={"cursor": "garbage"}).status_code == 422
    assert shop.api.get("/api/v1/audit", params={"act": "auth.%"}).status_code == 422
    assert shop.api.get("/api/v1/audit", params={"who": "1"}).status_code == 422
    assert (
        shop.api.get("/api/v1/audit", params={"date_from": "2026-03-02", "date_to": "2026-03-01"}).status_code
        == 422
    )


def test_without_audit_read_the_log_is_forbidden(runtime, shop):
    # Given an admin (every permission but audit.read)
    admin = make_member(runtime, shop, role="admin")

    # When they read the log
    answer = admin.get("/api/v1/audit")

    # Then they are refused with the permission's code
    assert answer.status_code == 403


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET act = 'x' WHERE id = :id", "DELETE FROM audit_log WHERE id = :id"]
)
def test_the_database_refuses_to_change_or_delete_an_act(runtime, shop, statement):
    # Given a recorded act
    entry_id = record(runtime, shop, "keys.rotated", actor_type="cli")

    # When someone with SQL access tries to change or delete it
    with pytest.raises(DBAPIError, match="append-only"), runtime.db.write() as session:
        session.execute(text(statement), {"id": entry_id})

    # Then it is still there as it was
    with runtime.db.read() as session:
        assert session.get(AuditEntry, entry_id).act == "keys.rotated"


def test_the_log_is_evidence_deleting_a_shop_or_member_is_restricted():
    keys = {(fk.parent.name, fk.ondelete) for fk in all_models().tables["audit_log"].foreign_keys}
    assert keys == {("shop_id", "RESTRICT"), ("staff_id", "RESTRICT")}


def test_sign_in_sign_out_and_a_wrong_password_are_recorded(app, runtime, shop):
    # Given the owner signs in from one address, signs out, and someone tries a wrong password
    host = "10.{}.{}.{}".format(*uuid.uuid4().bytes[:3])
    client = from_address(app, host)
    signed_in = client.post("/login", data={"username": shop.owner_username, "password": OWNER_PASSWORD})
    client.post("/logout")
    client.post("/api/v1/auth/login", json={"username": shop.owner_username, "password": "not-the-password"})

    # When the owner reads the log
    page = audit(shop, act="auth.")

    # Then the three acts are there, newest first, with the address; never the password tried
    assert signed_in.status_code == 303
    failed, out, signed = page["items"][:3]
    assert [failed["act"], out["act"], signed["act"]] == [
        "auth.sign_in_failed",
        "auth.signed_out",
        "auth.signed_in",
    ]
    assert signed["data"] == {"via": "console"} and signed["who"] == signed["target_name"] == "店主"
    assert failed["data"]["username"] == shop.owner_username and failed["staff_id"] == shop.owner_id
    assert "not-the-password" not in str(page)
    assert {item["address"] for item in (failed, out, signed)} == {host}


def test_a_lock_out_is_recorded(app, runtime, shop):
    # Given ten wrong passwords for one account
    client = from_address(app)
    for _ in range(LOCK_AFTER):
        client.post("/api/v1/auth/login", json={"username": shop.owner_username, "password": "wrong-wrong"})

    # When the owner reads the log
    page = audit(shop, act="auth.")

    # Then the lock-out follows the tenth failure
    assert acts(page)[:2] == ["auth.locked_out", "auth.sign_in_failed"]
    assert acts(page).count("auth.sign_in_failed") == LOCK_AFTER


def test_guesses_at_unknown_usernames_write_nothing(app, runtime):
    # Given the rows in the log
    before = total_rows(runtime)

    # When random usernames are tried (the flood of bench/order_create.py --flood)
    client = from_address(app)
    answers = [
        client.post(
            "/api/v1/auth/login", json={"username": f"nobody_{i}_{uuid.uuid4().hex[:6]}", "password": "x" * 8}
        )
        for i in range(3)
    ]

    # Then they are refused and nothing was written
    assert [a.status_code for a in answers] == [401] * 3
    assert total_rows(runtime) == before


def test_a_settings_change_names_the_keys_not_the_values(shop):
    # Given the owner renames the shop
    new_name = f"新店名 {uuid.uuid4().hex[:6]}"
    assert shop.api.patch("/api/v1/shop", json={"name": new_name}).status_code == 200

    # When the log is read
    (entry, *_) = audit(shop, act="settings.changed")["items"]

    # Then the change is there by key
    assert entry["data"] == {"changed": ["name"]} and entry["actor_type"] == "api"
    assert new_name not in str(entry)


def test_console_page_lists_acts_with_filters_for_audit_read_only(app, runtime, shop, console):
    # Given a sign-in (the console fixture's) and an admin without audit.read
    admin = make_member(runtime, shop, role="admin")
    admin_console = from_address(app)
    admin_console.post("/login", data={"username": admin.username, "password": MEMBER_PASSWORD})

    # When the owner opens 操作日志, filtered to sign-in acts, and the admin tries to
    page = console.get("/audit", params={"act": "auth.", "staff_id": "", "date_from": ""})
    orders = admin_console.get("/orders")
    refused = admin_console.get("/audit")

    # Then the owner sees the act by name, with the filter kept and the nav entry; the admin
    # has no nav entry and is refused
    assert page.status_code == 200
    assert "操作日志" in page.text and "登录" in page.text and 'value="auth." selected' in page.text
    assert 'href="/audit"' in page.text
    assert 'href="/audit"' not in orders.text
    assert refused.status_code == 403


def test_console_page_refuses_bad_filters_with_a_message(console):
    answer = console.get("/audit", params={"date_from": "not-a-date"})
    assert answer.status_code == 422


def test_record_audit_takes_the_clock(runtime, shop, frozen):
    moment = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    frozen(moment)
    entry_id = record(runtime, shop, "keys.rotated", actor_type="cli")
    frozen(None)
    with runtime.db.read() as session:
        assert session.get(AuditEntry, entry_id).at == moment


def test_a_role_change_reads_in_words_on_the_page_and_stays_raw_in_the_api(shop, console):
    # Given a custom role made for all of the shop, then narrowed to assigned orders only
    made = shop.api.post(
        "/api/v1/team/roles",
        json={"name": "夜班客服", "permissions": ["orders.read"], "data_scope": "all"},
    )
    assert made.status_code == 201, made.text
    changed = shop.api.put(
        f"/api/v1/team/roles/{made.json()['id']}",
        json={"name": "夜班客服", "permissions": ["orders.read", "chat.read"], "data_scope": "assigned"},
    )
    assert changed.status_code == 200, changed.text

    # When the owner opens 操作日志 for role changes, in Chinese and in English
    zh = console.get("/audit", params={"act": "team.role_changed"})
    en = console.get("/audit", params={"act": "team.role_changed"}, headers={"Accept-Language": "en"})
    (raw, *_) = audit(shop, act="team.role_changed")["items"]

    # Then each key and value reads in words, the permissions by their labels, the old grant too
    assert "数据范围：仅分配给本人的订单和会话" in zh.text
    assert "也可见未分配的：否" in zh.text
    assert "权限：查看订单、查看会话" in zh.text or "权限：查看会话、查看订单" in zh.text
    assert "修改前：" in zh.text and "数据范围：店铺全部数据" in zh.text
    assert "<span>夜班客服</span>" in zh.text  # the role changed, by its name
    assert "sees_unassigned" not in zh.text and "False" not in zh.text and "orders.read" not in zh.text
    assert "Data scope: Only orders and conversations assigned to them" in en.text
    assert "Also unassigned ones: No" in en.text
    # And the API keeps the raw codes for integrators
    assert raw["data"]["data_scope"] == "assigned" and raw["data"]["sees_unassigned"] is False
    assert raw["data"]["before"]["data_scope"] == "all"


def test_a_members_role_change_names_the_roles_not_their_ids(runtime, shop, console):
    # Given an agent moved to a custom role of the shop
    member = make_member(runtime, shop, role="agent")
    role = shop.api.post("/api/v1/team/roles", json={"name": "仓库夜班", "permissions": ["orders.read"]})
    answer = shop.api.put(f"/api/v1/team/members/{member.staff_id}/role", json={"role_id": role.json()["id"]})
    assert answer.status_code == 200, answer.text

    # When the owner opens 操作日志 for members' role changes
    page = console.get("/audit", params={"act": "team.member_role_changed"})

    # Then the entry names the new role and the old one, with no id or None shown
    assert "角色：仓库夜班" in page.text and "修改前：角色：客服" in page.text
    assert "role_id" not in page.text and "None" not in page.text
