"""The PIPL export hands out a customer's whole file, so like 显示 it is limited per member: the API
and the console's downloads count against one limit, and a refused export reads and records
nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from shangliao.audit.models import AuditEntry
from shangliao.privacy import api as privacy_api
from tests.support.console import sign_in
from tests.support.customers import make_customer
from tests.support.team import make_member


def _exports(runtime, shop_id: int) -> int:
    with runtime.db.read() as session:
        return session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.shop_id == shop_id, AuditEntry.act == privacy_api.EXPORTED)
        )


def test_exports_are_limited_per_member_across_the_api_and_the_console(app, runtime, shop, monkeypatch):
    # Given a limit of two exports an hour and a customer
    monkeypatch.setattr(privacy_api, "EXPORTS", "2/hour")
    customer_id, _ = make_customer(runtime, shop)
    console = sign_in(app, shop)
    # When the owner exports over the API, downloads from the console, then tries both again
    first = shop.api.get(f"/api/v1/customers/{customer_id}/export")
    second = console.get(f"/customers/{customer_id}/export.html")
    api_refused = shop.api.get(f"/api/v1/customers/{customer_id}/export")
    console_refused = console.get(f"/customers/{customer_id}/export.json")
    # Then the first two are served, the rest refused with no copy of the data, and two recorded
    assert (first.status_code, second.status_code) == (200, 200)
    assert api_refused.status_code == 429 and api_refused.json()["error"]["code"] == "rate.limited"
    assert "retry-after" in api_refused.headers and "13812345678" not in api_refused.text
    assert console_refused.status_code == 429 and "13812345678" not in console_refused.text
    assert "attachment" not in console_refused.headers.get("content-disposition", "")
    assert _exports(runtime, shop.id) == 2


def test_one_members_exports_do_not_use_up_anothers(app, runtime, shop, monkeypatch):
    # Given a limit of one export an hour, an admin and a customer
    monkeypatch.setattr(privacy_api, "EXPORTS", "1/hour")
    admin = make_member(runtime, shop, role="admin")
    customer_id, _ = make_customer(runtime, shop)
    # When the owner exports twice and then the admin exports
    owner = [shop.api.get(f"/api/v1/customers/{customer_id}/export").status_code for _ in range(2)]
    other = admin.get(f"/api/v1/customers/{customer_id}/export").status_code
    # Then the owner's second is refused and the admin's first is served
    assert owner == [200, 429] and other == 200
    assert _exports(runtime, shop.id) == 2
