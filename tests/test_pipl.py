"""PIPL requests about one customer: a copy of their data (JSON and a readable page) and erasure,
which anonymises them everywhere while amounts, the timeline's shape and the chat chain stand."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from shangliao.audit.models import AuditEntry
from shangliao.chat.models import ConversationKey, Message
from shangliao.cli.main import app as cli
from shangliao.config import get_settings
from shangliao.customers.models import CustomerAddress, CustomerPhone
from shangliao.customers.pii import CUSTOMER_ADDRESSES, address_dict, decrypt_phone
from shangliao.orders.models import Order, OrderEvent
from shangliao.orders.timeline import unseal
from shangliao.storage.base import all_models
from tests.support.cards import ring_opens
from tests.support.chat import customer_says, guest_client
from tests.support.console import sign_in
from tests.support.customers import SAMPLE_ADDRESS
from tests.support.orders import act, make_order
from tests.support.team import make_member

# Every table's rows are searched for the customer; messages are evidence that keeps what the
# customer typed (docs/chat.md "Erasure"), so that one table is checked by the chain instead.
KEPT_AS_EVIDENCE = {"messages"}


@dataclass
class Person:
    name: str
    phone: str
    street: str
    customer_id: int = 0

    def secrets(self) -> dict[str, str]:
        return {"name": self.name, "phone": self.phone, "last8": self.phone[-8:], "street": self.street}


def a_person() -> Person:
    tag = uuid.uuid4().hex[:6]
    phone = "139" + "".join(random.choice("0123456789") for _ in range(8))
    return Person(name=f"隐私{tag}", phone=phone, street=f"测试路{tag}号")


def address_of(person: Person, **changes) -> dict:
    return {
        **SAMPLE_ADDRESS,
        "receiver": person.name,
        "phone": person.phone,
        "detail": person.street,
        **changes,
    }


@pytest.fixture
def person(shop) -> Person:
    """A customer with a phone and an address, a completed order whose address was changed once,
    a conversation where they wrote their street, and a stranger's device claiming their phone."""
    p = a_person()
    r = shop.api.post(
        "/api/v1/customers", json={"name": p.name, "phones": [p.phone], "addresses": [address_of(p)]}
    )
    assert r.status_code == 201, r.text
    p.customer_id = r.json()["id"]
    return p


def shop_with_history(app, runtime, shop, tee, p: Person) -> dict:
    order = make_order(
        shop, [(tee.variant_id, 2)], customer_id=p.customer_id, address=address_of(p, detail="旧地址1号")
    )
    r = shop.api.put(f"/api/v1/orders/{order['id']}/address", json={"address": address_of(p)})
    assert r.status_code == 200, r.text
    r = shop.api.post(f"/api/v1/customers/{p.customer_id}/conversation")
    assert r.status_code == 200, r.text
    conversation = r.json()
    customer_says(runtime, shop, conversation, f"寄到{p.street}，电话{p.phone}")
    act(shop, order, "confirm")
    r = shop.api.post(f"/api/v1/orders/{order['id']}/checkpoints/details")  # a card with the address sealed
    assert r.status_code == 201, r.text
    act(shop, order, "ship", carrier_code="SF", tracking_number="SF1234567890")
    act(shop, order, "complete")
    guest_client(app, shop, "陌生人", p.phone)  # a device that typed their number: a claim
    return shop.api.get(f"/api/v1/orders/{order['id']}").json()


def erase(shop, p: Person, confirm: str | None = None, reason: str = "customer_request"):
    return shop.api.post(
        f"/api/v1/customers/{p.customer_id}/erase", json={"confirm": confirm or p.name, "reason": reason}
    )


def rows_text(runtime, shop_id: int) -> dict[str, str]:
    """Every row of the shop in every table, as text with binary columns in hex."""
    out = {}
    with runtime.db.read() as session:
        for table in all_models().sorted_tables:
            if table.name in KEPT_AS_EVIDENCE:
                continue
            stmt = select(table)
            if "shop_id" in table.c:
                stmt = stmt.where(table.c.shop_id == shop_id)
            elif table.name != "shops":
                continue
            chunks = []
            for row in session.execute(stmt):
                for value in row:
                    chunks.append(value.hex() if isinstance(value, bytes) else str(value))
            out[table.name] = "\n".join(chunks)
    return out


def decrypted_text(runtime, shop_id: int) -> str:
    """Every encrypted PII value of the shop, opened."""
    keyring, chunks = runtime.keyring, []
    with runtime.db.read() as session:
        for blob in session.scalars(select(CustomerPhone.phone_enc).where(CustomerPhone.shop_id == shop_id)):
            chunks.append(decrypt_phone(keyring, blob))
        for blob in session.scalars(
            select(CustomerAddress.data_enc).where(CustomerAddress.shop_id == shop_id)
        ):
            chunks.append(str(address_dict(keyring, blob, table=CUSTOMER_ADDRESSES)))
        for blob in session.scalars(select(Order.address_enc).where(Order.shop_id == shop_id)):
            chunks.append(str(address_dict(keyring, blob)) if blob else "")
        for data in session.scalars(select(OrderEvent.data).where(OrderEvent.shop_id == shop_id)):
            for key in ("old", "new"):
                blob = unseal(data.get(key)) if isinstance(data.get(key), str) else None
                chunks.append(str(address_dict(keyring, blob)) if blob else "")
    return "\n".join(chunks)


def found(secrets: dict[str, str], haystack: str) -> set[str]:
    return {k for k, v in secrets.items() if v in haystack or v.encode().hex() in haystack}


# --- export ---------------------------------------------------------------------------------------


def test_export_holds_profile_orders_timeline_conversation_and_devices(app, runtime, shop, tee, person):
    # given a customer with an order, a changed address, a conversation and a claiming device
    order = shop_with_history(app, runtime, shop, tee, person)
    # when the owner exports their data
    r = shop.api.get(f"/api/v1/customers/{person.customer_id}/export")
    # then it holds the profile, phones, addresses, the order with items, amounts and timeline,
    # and the conversation with what they wrote
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "private, no-store"
    data = r.json()
    assert data["format"] == "shangliao.customer-export/1"
    assert data["profile"]["name"] == person.name
    assert [p["phone"] for p in data["phones"]] == [person.phone]
    assert data["addresses"][0]["detail"] == person.street
    [exported] = data["orders"]
    assert exported["number"] == order["number"] and exported["total"] == order["total"]
    assert exported["items"][0]["quantity"] == 2
    assert exported["address"]["detail"] == person.street
    kinds = [e["kind"] for e in exported["timeline"]]
    assert "address_changed" in kinds and kinds.count("status_changed") >= 0
    changed = next(e for e in exported["timeline"] if e["kind"] == "address_changed")
    assert (
        changed["data"]["old"]["detail"] == "旧地址1号" and changed["data"]["new"]["detail"] == person.street
    )
    [conversation] = data["conversations"]
    assert any(person.street in m["body"] for m in conversation["messages"])
    [card] = [m for m in conversation["messages"] if m["kind"] == "order_card"]
    assert card["data"]["address"]["detail"] == person.street and "address_sealed" not in card["data"]
    assert data["devices"] == []  # the claiming device belongs to the stranger's own record


def test_export_is_recorded_and_needs_the_whole_shop_and_pii(app, runtime, shop, person):
    # given a warehouse member (sees full addresses, but does not manage the team)
    packer = make_member(runtime, shop, role="warehouse")
    # when they ask for the export, then they are refused
    assert packer.get(f"/api/v1/customers/{person.customer_id}/export").status_code == 403
    # and when the owner asks, it is recorded in the audit log with no personal data
    assert shop.api.get(f"/api/v1/customers/{person.customer_id}/export").status_code == 200
    with runtime.db.read() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.shop_id == shop.id, AuditEntry.act == "customer.exported")
        ).one()
        assert (entry.target_type, entry.target_id, entry.staff_id) == (
            "customer",
            person.customer_id,
            shop.owner_id,
        )
        assert not found(person.secrets(), str(entry.data))


def test_export_of_another_shops_customer_is_not_found(shop, other_shop, person):
    # given a customer of one shop, when another shop's owner asks for them, then 404
    assert other_shop.api.get(f"/api/v1/customers/{person.customer_id}/export").status_code == 404


def test_console_download_is_a_readable_printable_page(app, runtime, shop, tee, person):
    # given a customer with history and the owner's console
    shop_with_history(app, runtime, shop, tee, person)
    console = sign_in(app, shop)
    # when the owner downloads the readable copy
    r = console.get(f"/customers/{person.customer_id}/export.html")
    # then it is a self-contained HTML attachment with their data in Chinese headings
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "attachment" in r.headers["content-disposition"] and "no-store" in r.headers["cache-control"]
    page = r.text
    assert person.name in page and person.phone in page and person.street in page
    assert "个人信息副本" in page and "订单" in page
    assert "<script" not in page and "<link" not in page  # nothing to fetch: it prints offline
    # and the JSON download is the machine-readable copy
    r = console.get(f"/customers/{person.customer_id}/export.json")
    assert r.status_code == 200 and r.json()["profile"]["name"] == person.name


# --- erasure --------------------------------------------------------------------------------------


def test_erasure_anonymises_every_table_and_keeps_amounts_and_timeline(app, runtime, shop, tee, person):
    # given a customer with history everywhere
    order = shop_with_history(app, runtime, shop, tee, person)
    timeline_before = shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()
    secrets = {**person.secrets(), "phone_hash": runtime.keyring.lookup_hash(person.phone, "phone").hex()}
    assert found(secrets, "\n".join(rows_text(runtime, shop.id).values()))  # the search sees them first
    # when the owner erases them
    r = erase(shop, person)
    # then nothing in any table names them, in clear, in hex or decrypted
    assert r.status_code == 200, r.text
    assert r.json()["phones"] == 1 and r.json()["orders"] == 1 and r.json()["timeline_entries"] == 1
    leaks = {t: found(secrets, raw) for t, raw in rows_text(runtime, shop.id).items()}
    assert {t: s for t, s in leaks.items() if s} == {}
    assert found(secrets, decrypted_text(runtime, shop.id)) == set()
    # and the order keeps its amounts, items and status; the timeline keeps every entry
    after = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    assert (after["total"], after["paid_amount"], after["status"]) == (
        order["total"],
        order["paid_amount"],
        "completed",
    )
    assert (
        after["items"] == order["items"] and after["customer_name"] == "已删除" and after["address"] is None
    )
    timeline_after = shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()
    assert [(e["id"], e["kind"]) for e in timeline_after] == [(e["id"], e["kind"]) for e in timeline_before]
    changed = next(e for e in timeline_after if e["kind"] == "address_changed")
    assert changed["data"] == {"old": None, "new": None, "erased": True}
    # and the customer's own words stay in the chat (evidence), behind a record that no longer names them
    profile = shop.api.get(f"/api/v1/customers/{person.customer_id}").json()
    assert (profile["name"], profile["phones"], profile["addresses"]) == ("已删除", [], [])


def test_an_erased_customer_is_no_longer_found_by_phone_or_name(app, runtime, shop, tee, person):
    # given an erased customer with an order
    shop_with_history(app, runtime, shop, tee, person)
    assert erase(shop, person).status_code == 200
    # when staff search customers and orders by their phone, its last four or their name
    for q in (person.phone, person.phone[-4:], person.name):
        customers = shop.api.post("/api/v1/customers/search", json={"q": q}).json()["items"]
        # then nothing is found
        assert [c["id"] for c in customers if c["id"] == person.customer_id] == []
        orders = shop.api.post("/api/v1/orders/search", json={"q": q, "status": ["completed"]})
        assert orders.status_code == 200, orders.text
        assert orders.json()["items"] == []


def test_chat_verify_passes_after_erasure(app, runtime, shop, tee, person, monkeypatch):
    # given an erased customer whose conversation holds their messages
    shop_with_history(app, runtime, shop, tee, person)
    assert erase(shop, person).status_code == 200
    # when the operator runs `shangliao chat verify` for the shop
    monkeypatch.setenv("SHANGLIAO_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("SHANGLIAO_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("SHANGLIAO_SECRET_KEY", runtime.settings.secret_key)
    monkeypatch.setenv("LANG", "C.UTF-8")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["chat", "verify", "--shop", shop.slug])
    finally:
        get_settings.cache_clear()
    # then every chain verifies
    assert result.exit_code == 0, result.output


def test_erasure_leaves_no_card_address_that_opens(app, runtime, shop, tee, person):
    # given a customer whose order's details card was sent to them, read in full before
    shop_with_history(app, runtime, shop, tee, person)
    conversation_id = shop.api.post(f"/api/v1/customers/{person.customer_id}/conversation").json()["id"]

    def stored_cards() -> list[dict]:
        with runtime.db.read() as session:
            return list(
                session.scalars(
                    select(Message.data).where(
                        Message.conversation_id == conversation_id, Message.kind == "order_card"
                    )
                )
            )

    def staff_cards() -> list[dict]:
        r = shop.api.get(f"/api/v1/conversations/{conversation_id}/messages")
        assert r.status_code == 200, r.text
        return [m["data"] for m in r.json() if m["kind"] == "order_card"]

    before = stored_cards()
    assert [c["address"]["detail"] for c in staff_cards()] == [person.street]
    # when the owner erases them
    assert erase(shop, person).status_code == 200
    # then the cards are stored byte for byte as sent, yet no key of the ring opens their address
    assert stored_cards() == before
    for data in before:
        assert not ring_opens(runtime.keyring, unseal(data["address_sealed"]))
    with runtime.db.read() as session:
        assert session.get(ConversationKey, conversation_id).wrapped is None
    # and staff, the customer's page and the export read the address as erased
    [card] = staff_cards()
    assert card["address_erased"] is True and card["address"]["receiver"] == "已删除"
    assert not found(person.secrets(), str(card))
    assert "收货人：已删除" in card["shown"]
    export = shop.api.get(f"/api/v1/customers/{person.customer_id}/export").json()
    [exported] = [m for c in export["conversations"] for m in c["messages"] if m["kind"] == "order_card"]
    assert exported["data"]["address_erased"] is True


def test_erasure_is_recorded_without_personal_data(app, runtime, shop, tee, person):
    # given a customer, when the owner erases them with a reason
    shop_with_history(app, runtime, shop, tee, person)
    assert erase(shop, person, confirm="删除", reason="consent_withdrawn").status_code == 200
    # then the audit log has one entry naming the customer's id, the reason code and counts only
    with runtime.db.read() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.shop_id == shop.id, AuditEntry.act == "customer.erased")
        ).one()
        assert (entry.target_type, entry.target_id) == ("customer", person.customer_id)
        assert entry.data["reason"] == "consent_withdrawn" and entry.data["orders"] == 1
        assert not found(person.secrets(), str(entry.data))


@pytest.mark.parametrize(
    ("confirm", "reason", "code"),
    [("张三", "customer_request", "privacy.confirm_mismatch"), ("删除", "because", "request.invalid")],
)
def test_erasure_needs_the_name_or_the_word_and_a_reason(shop, person, confirm, reason, code):
    # given a customer, when the erasure is asked with a wrong confirmation or no known reason
    r = erase(shop, person, confirm=confirm, reason=reason)
    # then it is refused and the customer is untouched
    assert r.status_code in (409, 422), r.text
    assert r.json()["error"]["code"] == code
    assert shop.api.get(f"/api/v1/customers/{person.customer_id}").json()["name"] == person.name


def test_erasure_is_refused_while_an_order_is_on_its_way(shop, tee, person):
    # given a customer with a shipped order
    order = make_order(
        shop, [(tee.variant_id, 1)], customer_id=person.customer_id, address=address_of(person)
    )
    act(shop, order, "confirm")
    act(shop, order, "ship", carrier_code="SF", tracking_number="SF1234567890")
    # when the owner asks to erase them
    r = erase(shop, person)
    # then it is refused with the order named, and nothing changed
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "privacy.open_orders"
    assert order["number"] in r.json()["error"]["message"]
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["address"]["detail"] == person.street


def test_erasure_is_idempotent(app, runtime, shop, tee, person):
    # given an erased customer
    order = shop_with_history(app, runtime, shop, tee, person)
    first = erase(shop, person)
    assert first.status_code == 200
    snapshot = rows_text(runtime, shop.id)
    # when the erasure is asked again (the name is gone now: 删除 confirms)
    again = erase(shop, person, confirm="删除")
    # then it succeeds, finds nothing left to remove, and the order is as it was
    assert again.status_code == 200, again.text
    assert (again.json()["phones"], again.json()["addresses"]) == (0, 0)
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["total"] == order["total"]
    after = rows_text(runtime, shop.id)
    assert after["customers"] == snapshot["customers"] and after["orders"] == snapshot["orders"]


def test_erasure_needs_team_management(app, runtime, shop, person):
    # given an agent (customer service: edits customers, no team.manage, phones masked)
    agent = make_member(runtime, shop, role="agent")
    # when they ask to erase a customer, then 403 and the customer is untouched
    r = agent.post(
        f"/api/v1/customers/{person.customer_id}/erase",
        json={"confirm": "删除", "reason": "customer_request"},
    )
    assert r.status_code == 403
    assert shop.api.get(f"/api/v1/customers/{person.customer_id}").json()["name"] == person.name


def test_a_member_who_sees_only_assigned_rows_cannot_export(runtime, shop, person):
    # given a custom role with team management and full phones, but only assigned orders in scope
    limited = make_member(
        runtime, shop, permissions={"team.manage", "customers.read", "customers.pii"}, data_scope="assigned"
    )
    # when they ask for a customer's copy, then 403: the copy holds every order, not only theirs
    r = limited.get(f"/api/v1/customers/{person.customer_id}/export")
    assert r.status_code == 403 and r.json()["error"]["code"] == "privacy.whole_shop_only"


def test_console_erasure_asks_for_the_name_then_anonymises(app, runtime, shop, person):
    # given the owner on the customer's page, which offers the PIPL actions
    console = sign_in(app, shop)
    profile = console.get(f"/customers/{person.customer_id}")
    assert f"/customers/{person.customer_id}/erase" in profile.text
    form = console.get(f"/customers/{person.customer_id}/erase")
    assert form.status_code == 200 and person.name in form.text
    # when they confirm with a wrong name, then the form says so and nothing changed
    wrong = console.post(
        f"/customers/{person.customer_id}/erase", data={"confirm": "别人", "reason": "customer_request"}
    )
    assert wrong.status_code == 422 and "请准确输入客户姓名" in wrong.text
    assert shop.api.get(f"/api/v1/customers/{person.customer_id}").json()["name"] == person.name
    # when they type the name, then they are taken back to a customer who is 已删除
    done = console.post(
        f"/customers/{person.customer_id}/erase", data={"confirm": person.name, "reason": "customer_request"}
    )
    assert done.status_code == 303 and done.headers["location"] == f"/customers/{person.customer_id}"
    assert shop.api.get(f"/api/v1/customers/{person.customer_id}").json()["name"] == "已删除"


def test_the_customer_page_hides_pipl_actions_from_an_agent(app, runtime, shop, person):
    # given an agent signed in to the console
    agent = make_member(runtime, shop, role="agent")
    page = agent.get(f"/customers/{person.customer_id}")
    # then the customer's page offers neither the copy nor the erasure
    assert page.status_code == 200
    assert "/export.html" not in page.text and "/erase" not in page.text
