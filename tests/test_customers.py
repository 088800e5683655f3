"""Customers: create, read, search and edit; phones, addresses, the blacklist; tenant isolation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from shangliao.core.errors import Conflict, NotFound
from shangliao.core.pagination import encode_cursor
from shangliao.customers import service
from shangliao.customers.models import Customer
from shangliao.customers.schemas import MAX_TAGS
from shangliao.events import log
from tests.support.customers import SAMPLE_ADDRESS, make_customer

API = "/api/v1/customers"
ADDRESS = {
    "receiver": "王小明",
    "phone": "139 1234 5678",
    "province": "广东省",
    "city": "东莞市",
    "district": "",  # 东莞 has no district level
    "detail": "松山湖大道 1 号",
}


def create(shop, **body) -> dict:
    r = shop.api.post(API, json={"name": "李四", **body})
    assert r.status_code == 201, r.text
    return r.json()


def search(shop, **body) -> dict:
    r = shop.api.post(f"{API}/search", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def names(page: dict) -> list[str]:
    return sorted(c["name"] for c in page["items"])


def error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    return r.json()["error"]


# --- create and read ------------------------------------------------------------------------------


def test_create_and_get_returns_phones_and_addresses_decrypted(shop):
    # given a customer typed in with messy input
    created = create(
        shop,
        name=" 王小明 ",
        phones=["+86 138-1234-5678", "13812345678", "15900001111"],
        addresses=[{**ADDRESS, "label": "公司"}],
        tags=["VIP", "VIP", " 老客 "],
        note="喜欢顺丰",
    )
    # when it is read back
    got = shop.api.get(f"{API}/{created['id']}").json()
    # then phones are normalised and deduplicated, the first one primary
    assert [(p["phone"], p["is_primary"]) for p in got["phones"]] == [
        ("13812345678", True),
        ("15900001111", False),
    ]
    # and the address is decrypted, normalised, and the default as the only one
    (address,) = got["addresses"]
    assert address == {
        **ADDRESS,
        "phone": "13912345678",
        "label": "公司",
        "is_default": True,
        "id": address["id"],
    }
    assert got["name"] == "王小明"
    assert got["tags"] == sorted(["VIP", "老客"])
    assert got["note"] == "喜欢顺丰"
    figures = ("order_count", "total_spent", "first_order_at", "last_order_at")
    assert [got[f] for f in figures] == [0, 0, None, None]
    assert got == created


def test_a_customer_needs_only_a_name(shop):
    created = create(shop, name="只有名字")
    assert (created["phones"], created["addresses"], created["tags"]) == ([], [], [])


# --- search ---------------------------------------------------------------------------------------


def test_search_by_full_phone_last_four_digits_and_name(shop):
    # given three customers, two of them sharing the last four digits
    create(shop, name="王小明", phones=["13812345678"])
    create(shop, name="王大明", phones=["13987655678"])
    create(shop, name="李华", phones=["15011112222"])
    # then a whole number finds exactly its owner, however it is typed
    assert names(search(shop, q="138 1234 5678")) == ["王小明"]
    assert names(search(shop, q="+86 13812345678")) == ["王小明"]
    # and four digits find everyone whose number ends with them
    assert names(search(shop, q="5678")) == ["王大明", "王小明"]
    assert names(search(shop, q="2222")) == ["李华"]
    assert names(search(shop, q="0000")) == []
    # and anything else is part of a name
    assert names(search(shop, q="小明")) == ["王小明"]
    assert names(search(shop, q="王")) == ["王大明", "王小明"]
    assert names(search(shop, q="%")) == []
    # and the list row shows the phone masked only
    (row,) = search(shop, q="13812345678")["items"]
    assert row["phone"] == "138****5678"


def test_search_never_reaches_into_another_shop(shop, other_shop):
    # given the same phone number and name in two shops (phones are unique per shop only)
    mine = create(shop, name="张三", phones=["13812345678"])
    create(other_shop, name="张三", phones=["13812345678"])
    # then each shop only finds its own customer
    for q in ("13812345678", "5678", "张三"):
        assert [c["id"] for c in search(shop, q=q)["items"]] == [mine["id"]]


def test_filter_by_tag_and_blacklist(shop):
    vip = create(shop, name="甲", tags=["VIP"])
    blocked = create(shop, name="乙", tags=["VIP"])
    create(shop, name="丙")
    shop.api.patch(f"{API}/{blocked['id']}", json={"blocked": True})
    assert names(search(shop, tag="VIP")) == ["乙", "甲"]
    assert names(search(shop, tag="VIP", blocked=False)) == ["甲"]
    listed = shop.api.get(API, params={"blocked": "true"}).json()
    assert [c["id"] for c in listed["items"]] == [blocked["id"]]
    listed = shop.api.get(API, params={"tag": "VIP", "blocked": "false"}).json()
    assert [c["id"] for c in listed["items"]] == [vip["id"]]


def test_pages_newest_first_and_oldest_first(shop):
    ids = [create(shop, name=f"客户{i}")["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        page = shop.api.get(API, params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    first = search(shop, sort="id", limit=3)
    rest = search(shop, sort="id", limit=3, cursor=first["next_cursor"])
    assert [c["id"] for c in first["items"] + rest["items"]] == ids
    assert rest["next_cursor"] is None


def test_pages_by_last_order_with_customers_who_never_ordered_last(shop, runtime):
    # given customers who ordered at different times (two at the same instant) and some who never did
    ids = [create(shop, name=f"客户{i}")["id"] for i in range(5)]
    base = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    when = {ids[0]: base, ids[1]: base + timedelta(days=2), ids[3]: base + timedelta(days=2)}
    with runtime.db.write() as session:
        for customer_id, at in when.items():
            session.execute(update(Customer).where(Customer.id == customer_id).values(last_order_at=at))
    # when paging one customer at a time
    seen, cursor = [], None
    for _ in range(10):
        page = search(shop, sort="-last_order_at", limit=1, cursor=cursor)
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # then the latest order comes first (ties by newest customer), never-ordered customers last
    assert seen == [ids[3], ids[1], ids[0], ids[4], ids[2]]


def test_a_cursor_from_another_sort_or_garbage_is_refused(shop):
    for i in range(3):
        create(shop, name=f"客户{i}")
    cursor = search(shop, limit=1)["next_cursor"]
    r = shop.api.post(f"{API}/search", json={"sort": "-last_order_at", "cursor": cursor})
    assert error(r, 422)["code"] == "pagination.bad_cursor"
    r = shop.api.get(API, params={"cursor": "not-a-cursor"})
    assert error(r, 422)["code"] == "pagination.bad_cursor"
    r = shop.api.get(API, params={"limit": 101})
    assert error(r, 422)["code"] == "request.invalid"


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("phone", ["12345", "010-12345678", "02112345678", "+1 650 253 0000", "手机"])
def test_a_phone_that_is_not_a_mainland_mobile_is_refused(shop, phone):
    r = shop.api.post(API, json={"name": "张三", "phones": [phone]})
    assert error(r, 422)["code"] == "phone.invalid"
    r = shop.api.post(API, json={"name": "张三", "addresses": [{**ADDRESS, "phone": phone}]})
    assert error(r, 422)["code"] == "phone.invalid"
    assert search(shop)["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"name": "张三", "vip": True},  # unknown field
        {"name": ""},
        {"name": "张" * 65},
        {"name": "张三", "tags": [f"t{i}" for i in range(MAX_TAGS + 1)]},
        {"name": "张三", "tags": ["x" * 33]},
        {"name": "张三", "tags": [""]},
        {"name": "张三", "phones": [f"1381234567{i}" for i in range(6)]},  # more than MAX_PHONES
        {"name": "张三", "addresses": [{**ADDRESS, "detail": ""}]},
        {"name": "张三", "addresses": [{**ADDRESS, "detail": "路" * 201}]},
        {"name": "张三", "addresses": [{**ADDRESS, "receiver": "王" * 33}]},
        {"name": "张三", "addresses": [{**ADDRESS, "floor": 3}]},
        {"name": "张三", "addresses": [{**ADDRESS, "is_default": True}, {**ADDRESS, "is_default": True}]},
    ],
)
def test_bad_input_is_refused_and_changes_nothing(shop, body):
    r = shop.api.post(API, json=body)
    assert error(r, 422)["code"] == "request.invalid"
    assert search(shop)["items"] == []


def test_a_phone_of_another_customer_is_refused_with_their_id(shop):
    # given a customer with a phone
    owner = create(shop, name="甲", phones=["13812345678"])
    # when another customer is created with the same number, typed differently
    r = shop.api.post(API, json={"name": "乙", "phones": ["+86 138 1234 5678"]})
    # then it is refused, naming the customer who has it, and nothing is created
    err = error(r, 409)
    assert err["code"] == "customer.phone_taken"
    assert err["details"] == {"customer_id": owner["id"]}
    assert err["message"] == "该手机号已属于另一位客户。"
    assert names(search(shop)) == ["甲"]
    # and adding it to an existing customer is refused the same way
    other = create(shop, name="乙")
    r = shop.api.post(f"{API}/{other['id']}/phones", json={"phone": "13812345678"})
    assert error(r, 409)["details"] == {"customer_id": owner["id"]}
    # but adding the owner's own number again is a harmless repeat
    again = shop.api.post(f"{API}/{owner['id']}/phones", json={"phone": "138-1234-5678"})
    assert again.status_code == 201
    assert again.json() == owner["phones"][0]


def test_messages_follow_the_callers_language(shop):
    create(shop, name="甲", phones=["13812345678"])
    r = shop.api.post(API, json={"name": "乙", "phones": ["13812345678"]}, headers={"Accept-Language": "en"})
    assert error(r, 409)["message"] == "This phone number already belongs to another customer."


def test_read_only_token_cannot_write(shop):
    token = shop.api.post("/api/v1/auth/tokens", json={"name": "crm", "scopes": ["customers.read"]}).json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert shop.api.post(f"{API}/search", json={}, headers=headers).status_code == 200
    r = shop.api.post(API, json={"name": "张三"}, headers=headers)
    assert error(r, 403)["code"] == "auth.forbidden"


# --- edits ----------------------------------------------------------------------------------------


def test_patch_changes_given_fields_and_bumps_the_version(shop):
    created = create(shop, name="张三", tags=["新客"], note="原备注")
    r = shop.api.patch(
        f"{API}/{created['id']}",
        json={"name": "张三丰", "tags": ["VIP", "VIP"], "version": created["version"]},
    )
    assert r.status_code == 200, r.text
    patched = r.json()
    assert (patched["name"], patched["tags"], patched["note"]) == ("张三丰", ["VIP"], "原备注")
    assert patched["version"] == created["version"] + 1
    # a PATCH that changes nothing keeps the version
    same = shop.api.patch(f"{API}/{created['id']}", json={"name": "张三丰"}).json()
    assert same["version"] == patched["version"]


def test_patch_refusals(shop):
    created = create(shop, name="张三")
    url = f"{API}/{created['id']}"
    assert error(shop.api.patch(url, json={"nickname": "x"}), 422)["code"] == "request.invalid"
    assert error(shop.api.patch(url, json={"name": None}), 422)["code"] == "request.invalid"
    assert error(shop.api.patch(url, json={"order_count": 9}), 422)["code"] == "request.invalid"
    shop.api.patch(url, json={"note": "第一次修改"})
    stale = shop.api.patch(url, json={"note": "基于旧版本", "version": created["version"]})
    err = error(stale, 409)
    assert err["code"] == "customer.stale"
    assert shop.api.get(url).json()["note"] == "第一次修改"


def test_phones_can_be_added_made_primary_and_removed(shop):
    customer = create(shop, name="张三", phones=["13812345678"])
    url = f"{API}/{customer['id']}"
    first = customer["phones"][0]
    second = shop.api.post(f"{url}/phones", json={"phone": "15900001111"}).json()
    assert second["is_primary"] is False
    made = shop.api.post(f"{url}/phones/{second['id']}/primary")
    assert made.json()["is_primary"] is True
    phones = {p["id"]: p["is_primary"] for p in shop.api.get(url).json()["phones"]}
    assert phones == {first["id"]: False, second["id"]: True}
    # removing the primary phone promotes the remaining one
    assert shop.api.delete(f"{url}/phones/{second['id']}").status_code == 204
    assert shop.api.get(url).json()["phones"] == [{**first, "is_primary": True}]
    # and a removed phone's number is free for another customer
    assert create(shop, name="李四", phones=["15900001111"])["phones"][0]["phone"] == "15900001111"
    assert error(shop.api.delete(f"{url}/phones/{second['id']}"), 404)["code"] == "customer.phone_not_found"


def test_addresses_can_be_added_updated_made_default_and_removed(shop):
    customer = create(shop, name="张三", addresses=[ADDRESS])
    url = f"{API}/{customer['id']}"
    home = customer["addresses"][0]
    work = shop.api.post(
        f"{url}/addresses",
        json={**ADDRESS, "province": "北京市", "city": "北京市", "district": "海淀区", "label": "公司"},
    )
    assert work.status_code == 201, work.text
    work = work.json()
    assert (home["is_default"], work["is_default"]) == (True, False)
    # update replaces the whole address
    moved = shop.api.put(f"{url}/addresses/{work['id']}", json={**ADDRESS, "detail": "新地址 2 号"}).json()
    assert (moved["detail"], moved["label"], moved["phone"]) == ("新地址 2 号", "", "13912345678")
    # set default moves the flag
    assert shop.api.post(f"{url}/addresses/{work['id']}/default").json()["is_default"] is True
    flags = {a["id"]: a["is_default"] for a in shop.api.get(url).json()["addresses"]}
    assert flags == {home["id"]: False, work["id"]: True}
    # removing the default promotes the remaining address
    assert shop.api.delete(f"{url}/addresses/{work['id']}").status_code == 204
    assert [(a["id"], a["is_default"]) for a in shop.api.get(url).json()["addresses"]] == [(home["id"], True)]
    r = shop.api.put(f"{url}/addresses/{home['id']}", json={**ADDRESS, "phone": "12345"})
    assert error(r, 422)["code"] == "phone.invalid"
    r = shop.api.put(f"{url}/addresses/{home['id']}", json={**ADDRESS, "is_default": True})
    assert error(r, 422)["code"] == "request.invalid"


# --- tenant isolation -----------------------------------------------------------------------------


def test_every_id_route_answers_404_for_another_shops_customer(shop, other_shop, runtime):
    # given a customer of another shop, with a phone and an address
    theirs = create(other_shop, name="别家客户", phones=["13812345678"], addresses=[ADDRESS])
    cid, pid, aid = theirs["id"], theirs["phones"][0]["id"], theirs["addresses"][0]["id"]
    calls = [
        ("GET", f"{API}/{cid}", None),
        ("PATCH", f"{API}/{cid}", {"blocked": True}),
        ("POST", f"{API}/{cid}/phones", {"phone": "15900001111"}),
        ("DELETE", f"{API}/{cid}/phones/{pid}", None),
        ("POST", f"{API}/{cid}/phones/{pid}/primary", None),
        ("POST", f"{API}/{cid}/addresses", ADDRESS),
        ("PUT", f"{API}/{cid}/addresses/{aid}", ADDRESS),
        ("DELETE", f"{API}/{cid}/addresses/{aid}", None),
        ("POST", f"{API}/{cid}/addresses/{aid}/default", None),
    ]
    # when this shop's owner calls every route with those ids
    for method, url, body in calls:
        r = shop.api.request(method, url, json=body)
        # then each is not found, as if the customer did not exist
        assert error(r, 404)["code"] == "customer.not_found", (method, url)
    # and the other shop's ids under this shop's own customer are not found either
    mine = create(shop, name="本店客户", phones=["13812345678"], addresses=[ADDRESS])["id"]
    for method, url, body, code in [
        ("DELETE", f"{API}/{mine}/phones/{pid}", None, "customer.phone_not_found"),
        ("POST", f"{API}/{mine}/phones/{pid}/primary", None, "customer.phone_not_found"),
        ("DELETE", f"{API}/{mine}/addresses/{aid}", None, "customer.address_not_found"),
        ("PUT", f"{API}/{mine}/addresses/{aid}", ADDRESS, "customer.address_not_found"),
        ("POST", f"{API}/{mine}/addresses/{aid}/default", None, "customer.address_not_found"),
    ]:
        assert error(shop.api.request(method, url, json=body), 404)["code"] == code, (method, url)
    # and nothing changed over there
    assert other_shop.api.get(f"{API}/{cid}").json() == theirs
    with runtime.db.read() as session:
        with pytest.raises(NotFound):
            service.access_customer(session, shop.id, cid)
        with pytest.raises(NotFound):
            service.address_of(session, runtime.keyring, shop.id, cid, aid)


# --- what the orders domain relies on -------------------------------------------------------------


def test_a_blacklisted_customer_cannot_order(shop, runtime):
    customer_id, _ = make_customer(runtime, shop)
    with runtime.db.read() as session:
        service.check_can_order(service.access_customer(session, shop.id, customer_id))
    shop.api.patch(f"{API}/{customer_id}", json={"blocked": True})
    with runtime.db.read() as session:
        customer = service.access_customer(session, shop.id, customer_id)
        with pytest.raises(Conflict) as refused:
            service.check_can_order(customer)
    assert refused.value.code == "customer.blocked"
    assert refused.value.status == 409
    assert refused.value.details == {"customer_id": customer_id}
    assert refused.value.localized("zh_CN") == "该客户已被拉黑，不能为其下单。"


def test_address_of_gives_the_default_or_the_named_address(shop, runtime):
    customer_id, home_id = make_customer(runtime, shop)
    other_id, other_address = make_customer(runtime, shop, name="李四", phone="15900001111")
    bare_id, none = make_customer(runtime, shop, name="王五", phone=None, address=False)
    assert none is None
    work = shop.api.post(f"{API}/{customer_id}/addresses", json={**ADDRESS, "label": "公司"}).json()
    with runtime.db.read() as session:
        default = service.address_of(session, runtime.keyring, shop.id, customer_id, None)
        named = service.address_of(session, runtime.keyring, shop.id, customer_id, work["id"])
        assert service.address_of(session, runtime.keyring, shop.id, bare_id, None) is None
        with pytest.raises(NotFound) as not_theirs:
            service.address_of(session, runtime.keyring, shop.id, customer_id, other_address)
        with pytest.raises(NotFound) as no_customer:
            service.address_of(session, runtime.keyring, shop.id, 2**62, None)
    assert (default.receiver, default.phone, default.detail) == (
        "张三",
        "13812345678",
        SAMPLE_ADDRESS["detail"],
    )
    assert (named.city, named.district, named.phone) == ("东莞市", "", "13912345678")
    assert not_theirs.value.code == "customer.address_not_found"
    assert no_customer.value.code == "customer.not_found"
    assert home_id is not None and other_id != customer_id


def test_changes_are_logged_as_events_with_ids_only(shop, runtime):
    # given a customer created and then edited in several ways
    customer = create(shop, name="张三", phones=["13812345678"], addresses=[ADDRESS], tags=["VIP"])
    url = f"{API}/{customer['id']}"
    phone = shop.api.post(f"{url}/phones", json={"phone": "15900001111"}).json()
    address = shop.api.post(f"{url}/addresses", json=ADDRESS).json()
    shop.api.patch(url, json={"blocked": True, "note": "恶意退款"})
    # then each change is in the shop's event log, in order
    with runtime.db.read() as session:
        events = [(e.type, e.entity_type, e.entity_id, e.data) for e in log.since(session, shop.id, 0)]
    customer_events = [(type_, data) for type_, entity, _, data in events if entity == "customer"]
    assert customer_events == [
        ("customer.created", {}),
        ("customer.phone_added", {"phone_id": phone["id"]}),
        ("customer.address_added", {"address_id": address["id"]}),
        ("customer.updated", {"fields": ["note", "blocked"], "blocked": True}),
    ]
    assert {entity_id for _, entity, entity_id, _ in events if entity == "customer"} == {customer["id"]}
    # and none of them carries a phone, a name, an address or the note
    dumped = json.dumps([data for *_, data in events], ensure_ascii=False)
    for secret in ("13812345678", "15900001111", "13912345678", "张三", "王小明", "松山湖", "恶意退款"):
        assert secret not in dumped


# --- input a database cannot take -----------------------------------------------------------------


def test_text_with_a_nul_character_is_refused_and_nothing_is_stored(shop):
    # when a customer's name or a tag holds a NUL character (PostgreSQL refused it with a 500)
    r = shop.api.post(API, json={"name": "张\x00三", "tags": ["vip\x00"]})
    # then it is a clear 422 naming both fields, and no customer was created
    locs = [e["loc"] for e in error(r, 422)["details"]["errors"]]
    assert locs == [["body", "name"], ["body", "tags"]]
    assert search(shop)["items"] == []


def test_a_forged_cursor_with_an_out_of_range_value_is_refused(shop):
    create(shop)
    # an id past 64 bits overflowed the driver, a year-1 time the UTC conversion: both were 500s
    for cursor in (["-id", None, 2**70], ["-last_order_at", "0001-01-01T00:00:00+14:00", 1]):
        r = shop.api.post(f"{API}/search", json={"sort": cursor[0], "cursor": encode_cursor(cursor)})
        assert error(r, 422)["code"] == "pagination.bad_cursor"
