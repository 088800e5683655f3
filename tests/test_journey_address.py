"""A chat-born order gets its address: the one the customer wrote in the chat or saved with an
earlier order is offered on the draft, a product-link order's address is kept (once) on the
customer's record and offered on their next order form, the shop's region picker reads a public
regions list, and every refusal names its fields in the reader's language."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient

from tests.support.catalog import make_product
from tests.support.orders import ADDRESS, OWNER_ADDRESS, make_order
from tests.test_console import HTMX

CHAT_ADDRESS = "王小美 13912345678 浙江省杭州市西湖区文三路100号华星大厦5楼"


@pytest.fixture
def phone(app) -> TestClient:
    """A customer's phone: no staff credential, keeps its cookies."""
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def tee(runtime, shop):
    product = make_product(runtime, shop, name="纯棉T恤", stock=20, price=5900)
    token = shop.api.get(f"/api/v1/products/{product.product_id}").json()["share_token"]
    return product, token


def link_order(device, shop, tee, address: dict, **who) -> dict:
    product, token = tee
    body = {"token": token, "variant_id": product.variant_id, "quantity": 1, "address": address, **who}
    r = device.post(f"/s/{shop.slug}/api/orders", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def chat_draft(shop, conversation_id: int, tee) -> dict:
    """Staff turn the conversation into a draft order (as the inbox's draft dialog does)."""
    body = {"items": [{"variant_id": tee[0].variant_id, "quantity": 1}], "draft": True}
    r = shop.api.post(f"/api/v1/conversations/{conversation_id}/orders", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def offered(page: str) -> list[dict]:
    """The address choices a page offers, as their data-address."""
    return [json.loads(html.unescape(x)) for x in re.findall(r'data-address="([^"]*)"', page)]


def saved_addresses(shop, customer_id: int) -> list[dict]:
    return shop.api.get(f"/api/v1/customers/{customer_id}").json()["addresses"]


# --- refusals in the reader's words -----------------------------------------------------------------


def test_an_address_refusal_names_the_fields_in_chinese_and_changes_nothing(console, shop, tee):
    # given a draft without an address
    draft = make_order(shop, [(tee[0].variant_id, 1)], address=None, draft=True)

    # when staff save the address dialog with no region and no street
    r = console.post(
        f"/orders/{draft['id']}/edit/address", data={"receiver": "王五", "phone": "13700001111"}, headers=HTMX
    )

    # then the refusal lists the missing fields in Chinese, in the form's order, and none in English
    assert r.status_code == 422
    assert "订单信息不完整或有误：省份、城市、详细地址。" in r.text
    assert not re.search(r"\b(phone|city|province|detail)\b", r.text)
    assert shop.api.get(f"/api/v1/orders/{draft['id']}").json()["address"] is None


def test_api_refusals_keep_machine_names_in_details_and_name_fields_for_people(phone, shop, tee):
    # when a customer's order form is sent without a receiver and a street
    product, token = tee
    body = {
        "token": token,
        "variant_id": product.variant_id,
        "quantity": 1,
        "address": {**ADDRESS, "receiver": "", "detail": ""},
        "name": "小红",
        "phone": "13700001234",
    }
    error = phone.post(f"/s/{shop.slug}/api/orders", json=body).json()["error"]

    # then the message names the fields in Chinese, and the details keep their paths
    assert error["message"] == "以下信息缺失或有误：收货人、详细地址。"
    assert [e["loc"] for e in error["details"]["errors"]] == [
        ["body", "address", "receiver"],
        ["body", "address", "detail"],
    ]


def test_a_lifecycle_step_refusal_names_its_missing_fields_in_chinese(shop, tee):
    # given a confirmed order
    order = make_order(shop, [(tee[0].variant_id, 1)])
    shop.api.post(f"/api/v1/orders/{order['id']}/confirm", json={"version": order["version"]})
    current = shop.api.get(f"/api/v1/orders/{order['id']}").json()

    # when it is shipped without a carrier and a tracking number
    error = shop.api.post(f"/api/v1/orders/{order['id']}/ship", json={"version": current["version"]}).json()

    # then the message names both in Chinese; the details keep their machine names
    assert error["error"]["message"] == "此操作需要填写：快递公司、快递单号。"
    assert error["error"]["details"] == {"fields": ["carrier_code", "tracking_number"]}


# --- the address from the chat -------------------------------------------------------------------------


def test_a_chat_draft_offers_the_address_the_customer_wrote_in_the_chat(console, phone, shop, tee):
    # given a customer who asked in the chat and then wrote their address there
    me = phone.post(f"/s/{shop.slug}/api/visitor", json={"name": "王小美", "phone": "13900001111"}).json()
    # (what comes after it is no whole address: a phone alone, a city alone)
    for text in ("你好，我要一件纯棉T恤", CHAT_ADDRESS, "谢谢", "电话 13912345670", "我在浙江省杭州市"):
        assert phone.post(f"/s/{shop.slug}/api/messages", json={"body": text}).status_code == 201

    # when staff turn it into a draft and open it
    draft = chat_draft(shop, me["conversation_id"], tee)
    page = console.get(f"/orders/{draft['id']}").text

    # then the page offers the chat's address, read into its fields, as the first choice
    assert "使用聊天中的地址" in page and "聊天中的地址" in page
    [from_chat] = offered(page)
    assert from_chat == {
        "receiver": "王小美",
        "phone": "13912345678",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路100号华星大厦5楼",
        "province_code": "330000",
        "city_code": "330100",
        "district_code": "330106",
    }

    # and saving it (as the dialog's fields post it) lets the draft be submitted
    fields = {
        k: from_chat[k]
        for k in ("receiver", "phone", "detail", "province_code", "city_code", "district_code")
    }
    r = console.post(
        f"/orders/{draft['id']}/edit/address", data={**fields, "version": draft["version"]}, headers=HTMX
    )
    assert r.status_code == 200, r.text
    current = shop.api.get(f"/api/v1/orders/{draft['id']}").json()
    r = shop.api.post(f"/api/v1/orders/{draft['id']}/submit", json={"version": current["version"]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending"


def test_staff_who_may_not_read_chats_are_not_offered_the_address_from_the_chat(app, phone, shop, tee):
    # given a customer who wrote their address in the chat, and a draft made from that chat
    me = phone.post(f"/s/{shop.slug}/api/visitor", json={"name": "王小美", "phone": "13900002222"}).json()
    assert phone.post(f"/s/{shop.slug}/api/messages", json={"body": CHAT_ADDRESS}).status_code == 201
    draft = chat_draft(shop, me["conversation_id"], tee)
    # and a staff credential that handles orders but may not read chats
    token = shop.api.post(
        "/api/v1/auth/tokens", json={"name": "仓库", "scopes": ["orders.read", "orders.write"]}
    ).json()["token"]
    clerk = TestClient(app, headers={"Authorization": f"Bearer {token}"}, raise_server_exceptions=False)

    # when they open the draft
    page = clerk.get(f"/orders/{draft['id']}")

    # then the address dialog offers nothing read from the chat
    assert page.status_code == 200
    assert "聊天中的地址" not in page.text and "文三路100号" not in page.text
    assert offered(page.text) == []


# --- a product-link order's address is kept ------------------------------------------------------------


def test_a_product_link_address_is_saved_once_and_offered_on_the_next_draft_and_form(
    app, console, phone, shop, tee
):
    # given a customer who ordered twice from a product link with the same address
    first = link_order(phone, shop, tee, ADDRESS, name="小红", phone="13700001234")
    link_order(phone, shop, tee, {**ADDRESS, "detail": " 文三路100号 "})

    # then the address is on their record once
    [saved] = saved_addresses(shop, first["customer_id"])
    assert {k: saved[k] for k in ADDRESS} == ADDRESS and saved["is_default"] is True

    # when staff make a draft in their chat, it starts with that address, and offers it to pick again
    draft = chat_draft(shop, first["conversation_id"], tee)
    # (masked on staff's page until 显示: the saved one is offered by its id)
    page = console.get(f"/orders/{draft['id']}").text
    assert "暂无收货地址" not in page and "浙江省杭州市西湖区 " in page and "文三路100号" not in page
    assert offered(page) == [] and page.count("data-address-id=") == 1

    # and the next order form on their phone has it ready to use
    form = phone.get(f"/s/{shop.slug}/p/{tee[1]}").text
    assert [{k: a[k] for k in ADDRESS} for a in offered(form)] == [ADDRESS]
    assert "data-prefill" in form

    # but another device that only typed their number is offered none of it
    stranger = TestClient(app, raise_server_exceptions=False)
    stranger.post(f"/s/{shop.slug}/api/visitor", json={"name": "小红", "phone": "13700001234"})
    stranger_form = stranger.get(f"/s/{shop.slug}/p/{tee[1]}").text
    assert offered(stranger_form) == [] and "文三路100号" not in stranger_form

    # and another address is saved beside it
    link_order(phone, shop, tee, {**ADDRESS, "detail": "文二路8号"})
    assert sorted(a["detail"] for a in saved_addresses(shop, first["customer_id"])) == [
        "文三路100号",
        "文二路8号",
    ]


# --- what a device nobody vouched for is shown -------------------------------------------------------------


@pytest.fixture
def stranger_customer(phone, shop) -> dict:
    """A device typed a number the shop did not know, so that customer is its own; staff then took it
    for the real owner and saved the owner's address and mobile on it."""
    me = phone.post(f"/s/{shop.slug}/api/visitor", json={"name": "李真", "phone": "13700009999"}).json()
    customer_id = me["customer_id"]
    r = shop.api.post(
        f"/api/v1/customers/{customer_id}/phones", json={"phone": "13600005555", "primary": True}
    )
    assert r.status_code == 201, r.text
    r = shop.api.post(
        f"/api/v1/customers/{customer_id}/addresses",
        json={**OWNER_ADDRESS, "label": "家", "is_default": True},
    )
    assert r.status_code == 201, r.text
    return {"customer_id": customer_id, "address_id": r.json()["id"]}


def test_a_device_nobody_vouched_for_sees_a_saved_address_masked_and_orders_to_it_by_id(
    phone, shop, tee, stranger_customer
):
    # when that device opens a product's share link
    r = phone.get(f"/s/{shop.slug}/p/{tee[1]}")

    # then the page names the saved address by who and which city only, and is kept by no cache
    assert r.status_code == 200
    assert r.headers["cache-control"] == "private, no-store"
    assert "漕溪北路88号" not in r.text and "13600005555" not in r.text
    assert "136****5555" in r.text and "上海市 徐汇区" in r.text
    assert f'data-address-id="{stranger_customer["address_id"]}"' in r.text
    assert offered(r.text) == []
    # and the receiver's mobile starts as the number the device typed, not the one staff added
    assert 'value="13700009999"' in r.text

    # when it orders to that saved address by its id
    product, token = tee
    body = {"token": token, "variant_id": product.variant_id, "quantity": 1}
    placed = phone.post(
        f"/s/{shop.slug}/api/orders", json={**body, "address_id": stranger_customer["address_id"]}
    )

    # then the shop has the whole address on the order, and the device is answered with it masked
    assert placed.status_code == 201, placed.text
    order = shop.api.get(f"/api/v1/orders/{placed.json()['order']['id']}").json()
    assert {k: order["address"][k] for k in OWNER_ADDRESS} == OWNER_ADDRESS
    assert "漕溪北路88号" not in placed.text and "13600005555" not in placed.text


def test_an_address_id_of_another_customer_or_none_at_all_is_refused_and_orders_nothing(
    app, phone, shop, tee, stranger_customer
):
    # given another device, a customer of its own
    other = TestClient(app, raise_server_exceptions=False)
    other.post(f"/s/{shop.slug}/api/visitor", json={"name": "小刚", "phone": "13700008888"})
    product, token = tee
    body = {"token": token, "variant_id": product.variant_id, "quantity": 1}

    # when it orders to the first customer's saved address by id, or names no address at all
    stolen = other.post(
        f"/s/{shop.slug}/api/orders", json={**body, "address_id": stranger_customer["address_id"]}
    )
    bare = other.post(f"/s/{shop.slug}/api/orders", json=body)
    both = other.post(
        f"/s/{shop.slug}/api/orders",
        json={**body, "address": ADDRESS, "address_id": stranger_customer["address_id"]},
    )

    # then each is refused in Chinese, and the shop has no order
    assert stolen.status_code == 404 and "漕溪北路88号" not in stolen.text
    assert bare.status_code == 422 and bare.json()["error"]["message"] == "订单需要收货地址。"
    assert both.status_code == 422
    assert shop.api.get("/api/v1/orders").json()["items"] == []


def test_the_chat_page_drawn_for_a_device_is_kept_by_no_cache(phone, shop, stranger_customer):
    # when that device opens the chat page
    chat = phone.get(f"/s/{shop.slug}")

    # then no shared cache nor the browser's history may keep it, and the owner's mobile is not on it
    assert chat.status_code == 200 and "13600005555" not in chat.text
    assert chat.headers["cache-control"] == "private, no-store"


# --- the public regions list ----------------------------------------------------------------------------


def test_anyone_reads_the_regions_list_from_a_long_cache(phone):
    r = phone.get("/api/v1/public/regions", params={"parent": "330000"})
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=86400"
    assert {"code": "330100", "name": "杭州市", "level": 2, "leaf": False} in r.json()
    assert [d["name"] for d in phone.get("/api/v1/public/regions").json()][:2] == ["北京市", "天津市"]
    missing = phone.get("/api/v1/public/regions", params={"parent": "999999"})
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "行政区划不存在。"
    bad = phone.get("/api/v1/public/regions", params={"parent": "33"}).json()["error"]
    assert bad["code"] == "request.invalid" and bad["message"] == "以下信息缺失或有误：地区。"


def test_every_address_form_uses_the_one_region_picker(console, phone, shop, tee):
    customer = shop.api.post("/api/v1/customers", json={"name": "李四"}).json()
    pages = [
        console.get("/orders/new").text,
        console.get(f"/customers/{customer['id']}/addresses/new").text,
        console.get(f"/orders/{make_order(shop, [(tee[0].variant_id, 1)])['id']}").text,
        phone.get(f"/s/{shop.slug}/p/{tee[1]}").text,
    ]
    for page in pages:
        assert "data-region-picker" in page and "/static/common/region-picker.js" in page
        assert 'hx-get="/orders/new/regions' not in page
