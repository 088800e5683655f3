"""The customers screens over HTTP (as HTMX and as plain forms), on both databases."""

from __future__ import annotations

import re

from shangliao.web.console import (
    customer_address_pages,
    customer_merge_pages,
    customer_pages,
    customer_profile_pages,
)
from shangliao.web.routes import iter_routes
from tests.support.customers import make_customer
from tests.support.orders import make_order
from tests.test_console import HTMX, _untranslated, sign_in

API = "/api/v1/customers"
CONSOLE_ROUTERS = (customer_pages, customer_merge_pages, customer_address_pages, customer_profile_pages)
HANGZHOU = {"province_code": "330000", "city_code": "330100", "district_code": "330106"}
TYPED_ADDRESS = {"receiver": "李雷", "phone": "13900001234", **HANGZHOU, "detail": "文三路100号"}


def create(shop, **body) -> dict:
    r = shop.api.post(API, json={"name": "张三", **body})
    assert r.status_code == 201, r.text
    return r.json()


def listed(html: str) -> list[str]:
    return re.findall(r'class="customer-name">([^<]+)<', html)


def version_of(html: str) -> int:
    return int(re.search(r'id="customer-profile"[^>]*data-version="(\d+)"', html).group(1))


# --- the list -------------------------------------------------------------------------------------


def test_the_list_shows_this_shops_customers_with_masked_phones_and_figures(
    console, shop, other_shop, runtime, tee
):
    vip = create(shop, name="欧阳娜娜", phones=["13900007788"], tags=["VIP"])
    create(shop, name="黑名单客户", phones=["13600006666"])
    shop.api.patch(f"{API}/{create(shop, name='拉黑的人')['id']}", json={"blocked": True})
    order = make_order(shop, [(tee.variant_id, 2)], customer_id=vip["id"])
    shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "cash", "amount": 11800})
    create(other_shop, name="别家客户")
    page = console.get("/customers").text
    assert set(listed(page)) == {"欧阳娜娜", "黑名单客户", "拉黑的人"}
    assert listed(page)[0] == "欧阳娜娜"  # recent buyers first
    row = re.search(rf'data-id="{vip["id"]}".*?</tr>', page, re.S).group(0)
    assert "139****7788" in row and "13900007788" not in page
    assert '<span class="tag">VIP</span>' in row and "¥118.00" in row and ">1<" in row
    blocked_row = re.search(r"<tr[^>]*data-blocked.*?</tr>", page, re.S).group(0)
    assert "拉黑的人" in blocked_row and "已拉黑" in blocked_row


def test_search_by_name_whole_phone_and_last_four_is_posted(console, shop):
    create(shop, name="欧阳娜娜", phones=["13900007788"])
    create(shop, name="李四", phones=["15900001111"])
    for q in ("欧阳", "13900007788", "139 0000 7788", "7788"):
        found = console.post("/customers", data={"q": q}, headers=HTMX)
        assert found.status_code == 200 and listed(found.text) == ["欧阳娜娜"], q
    assert listed(console.post("/customers", data={"q": "不存在"}, headers=HTMX).text) == []
    # a phone put in a URL is neither used nor echoed back
    page = console.get("/customers?q=13900007788").text
    assert "13900007788" not in page and set(listed(page)) == {"欧阳娜娜", "李四"}


def test_filter_by_tag_and_blacklist(console, shop):
    create(shop, name="甲", tags=["VIP"])
    blocked = create(shop, name="乙", tags=["VIP"])
    create(shop, name="丙")
    shop.api.patch(f"{API}/{blocked['id']}", json={"blocked": True})
    assert set(listed(console.post("/customers", data={"tag": "VIP"}, headers=HTMX).text)) == {"甲", "乙"}
    assert listed(console.post("/customers", data={"blocked": "true"}, headers=HTMX).text) == ["乙"]
    page = console.get("/customers?tag=VIP&blocked=false").text
    assert listed(page) == ["甲"] and '<option value="VIP" selected>' in page


def test_more_pages_follow_without_repeats(console, shop):
    made = {create(shop, name=f"客户{i:02d}")["name"] for i in range(33)}
    first = console.post("/customers", data={"sort": "-id"}, headers=HTMX).text
    cursor = re.search(r'"cursor": "([^"]+)"', first).group(1)
    rest = console.post("/customers", data={"sort": "-id", "cursor": cursor}, headers=HTMX).text
    shown = listed(first) + listed(rest)
    assert len(shown) == len(set(shown)) == 33 and set(shown) == made
    assert 'id="customers-more"' not in rest
    bad = console.post("/customers", data={"cursor": "garbage"}, headers=HTMX)
    assert bad.status_code == 422 and bad.headers["HX-Retarget"] == "#toast"


# --- the profile ----------------------------------------------------------------------------------


def test_the_profile_shows_phones_addresses_figures_and_orders_newest_first(console, shop, runtime, tee):
    customer_id, _ = make_customer(runtime, shop, name="王小明", phone="13812345678")
    shop.api.patch(f"{API}/{customer_id}", json={"tags": ["老客"], "note": "只收顺丰"})
    older = make_order(shop, [(tee.variant_id, 1)], customer_id=customer_id)
    newer = make_order(shop, [(tee.variant_id, 3)], customer_id=customer_id)
    stranger = make_order(shop, [(tee.variant_id, 1)])
    page = console.get(f"/customers/{customer_id}")
    assert page.status_code == 200
    html = page.text
    # the phone and the street masked until 显示 (customers/reveal.py)
    assert "138****5678" in html and "13812345678" not in html and "科技园南路 88 号" not in html
    assert (
        "只收顺丰" in html
        and "老客" in html
        and f'data-reveal="/api/v1/customers/{customer_id}/reveal"' in html
    )
    assert re.search(r'data-figure="orders">2<', html)
    numbers = re.findall(r'href="/orders/(\d+)" class="number"', html)
    assert numbers == [str(newer["id"]), str(older["id"])] and str(stranger["id"]) not in numbers


def test_the_order_history_pages_on_without_repeats(console, shop, runtime, tee):
    customer_id, _ = make_customer(runtime, shop)
    placed = {str(make_order(shop, [(tee.variant_id, 1)], customer_id=customer_id)["id"]) for _ in range(23)}
    first = console.get(f"/customers/{customer_id}").text
    more = re.search(r'hx-get="(/customers/\d+/orders\?cursor=[^"]+)"', first).group(1)
    rest = console.get(more.replace("&amp;", "&"), headers=HTMX).text
    shown = re.findall(r'href="/orders/(\d+)" class="number"', first + rest)
    assert len(shown) == len(set(shown)) == 23 and set(shown) == placed
    assert "/orders?cursor" not in rest and 'id="orders-more"' not in rest


def test_another_shops_customer_is_not_found(console, other_shop, runtime):
    theirs, _ = make_customer(runtime, other_shop)
    r = console.get(f"/customers/{theirs}")
    assert r.status_code == 404 and "客户不存在" in r.text and "13812345678" not in r.text
    r = console.post(f"/customers/{theirs}/note", data={"note": "x", "version": "1"}, headers=HTMX)
    assert r.status_code == 404 and r.headers["HX-Retarget"] == "#toast"


def test_tags_are_added_and_removed(console, shop):
    customer = create(shop)
    url = f"/customers/{customer['id']}"
    r = console.post(f"{url}/tags", data={"tag": " 批发 "}, headers=HTMX)
    assert r.status_code == 200 and '<span class="tag">批发' in r.text and "已添加标签" in r.text
    assert console.post(f"{url}/tags", data={"tag": ""}, headers=HTMX).status_code == 422
    r = console.post(f"{url}/tags/remove", data={"tag": "批发"}, headers=HTMX)
    assert r.status_code == 200 and shop.api.get(f"{API}/{customer['id']}").json()["tags"] == []


def test_a_stale_note_is_refused_and_the_newer_note_kept(console, shop):
    customer = create(shop)
    url = f"/customers/{customer['id']}"
    page = console.get(url).text
    seen = version_of(page)
    saved = console.post(f"{url}/note", data={"note": "周末送货", "version": seen}, headers=HTMX)
    assert saved.status_code == 200 and "周末送货" in saved.text and version_of(saved.text) == seen + 1
    stale = console.post(f"{url}/note", data={"note": "旧页面写的", "version": seen}, headers=HTMX)
    assert (
        stale.status_code == 409 and "请刷新后重试" in stale.text and stale.headers["HX-Retarget"] == "#toast"
    )
    assert shop.api.get(f"{API}/{customer['id']}").json()["note"] == "周末送货"
    plain = console.post(f"{url}/note", data={"note": "表单", "version": seen + 1})
    assert plain.status_code == 303 and plain.headers["location"] == url


def test_phones_are_added_made_primary_and_removed(console, shop):
    customer = create(shop, phones=["13812345678"])
    url = f"/customers/{customer['id']}"
    r = console.post(f"{url}/phones", data={"phone": "159 0000 1111"}, headers=HTMX)
    assert r.status_code == 200 and "159****1111" in r.text
    bad = console.post(f"{url}/phones", data={"phone": "12345"}, headers=HTMX)
    assert bad.status_code == 422 and "不是有效的中国大陆手机号" in bad.text
    phones = shop.api.get(f"{API}/{customer['id']}").json()["phones"]
    second = next(p["id"] for p in phones if p["phone"] == "15900001111")
    console.post(f"{url}/phones/{second}/primary", headers=HTMX)
    console.post(f"{url}/phones/{phones[0]['id']}/remove", headers=HTMX)
    assert [
        (p["phone"], p["is_primary"]) for p in shop.api.get(f"{API}/{customer['id']}").json()["phones"]
    ] == [("15900001111", True)]


def test_addresses_are_added_with_the_region_pickers_edited_made_default_and_removed(console, shop):
    customer = create(shop, addresses=[{"receiver": "张三", "phone": "13812345678", "province": "广东省",
                                        "city": "深圳市", "district": "南山区", "detail": "科技园"}])  # fmt: skip
    url = f"/customers/{customer['id']}"
    form = console.get(f"{url}/addresses/new", headers=HTMX).text
    assert 'name="province_code"' in form and "data-region-picker" in form
    r = console.post(
        f"{url}/addresses", data={**TYPED_ADDRESS, "label": "公司", "is_default": "1"}, headers=HTMX
    )
    assert r.status_code == 200 and "浙江省杭州市西湖区 " in r.text and "文三路100号" not in r.text
    addresses = shop.api.get(f"{API}/{customer['id']}").json()["addresses"]
    added = next(a for a in addresses if a["label"] == "公司")
    assert added["is_default"] is True and added["phone"] == "13900001234"
    # the edit form comes back with the regions picked, the street left for 显示 to fill in
    edit = console.get(f"{url}/addresses/{added['id']}/edit", headers=HTMX).text
    assert 'value="330106" selected' in edit and "文三路100号" not in edit and "data-reveal=" in edit
    r = console.post(
        f"{url}/addresses/{added['id']}", data={**TYPED_ADDRESS, "detail": "黄龙路1号"}, headers=HTMX
    )
    assert r.status_code == 200
    saved = shop.api.get(f"{API}/{customer['id']}").json()["addresses"]
    assert [a["detail"] for a in saved if a["id"] == added["id"]] == ["黄龙路1号"]
    missing = console.post(f"{url}/addresses", data={**TYPED_ADDRESS, "province_code": ""}, headers=HTMX)
    assert missing.status_code == 422 and "客户信息有缺失或无效的字段：省份。" in missing.text
    first = addresses[0]["id"]
    console.post(f"{url}/addresses/{first}/default", headers=HTMX)
    console.post(f"{url}/addresses/{added['id']}/remove", headers=HTMX)
    assert [
        (a["id"], a["is_default"]) for a in shop.api.get(f"{API}/{customer['id']}").json()["addresses"]
    ] == [(first, True)]


# --- the blacklist --------------------------------------------------------------------------------


def test_a_blacklisted_customer_cannot_have_orders_placed_anywhere(console, shop, runtime, tee):
    customer_id, address_id = make_customer(runtime, shop, name="黑名单", phone="13600006666")
    url = f"/customers/{customer_id}"
    page = console.get(url).text
    assert 'data-open="block-dialog"' in page and 'id="block-dialog"' in page  # asks before blocking
    r = console.post(f"{url}/block", headers=HTMX)
    assert r.status_code == 200 and 'data-blocked="true"' in r.text
    assert "该客户已被拉黑，不能为其下单。" in r.text and 'id="unblock-dialog"' in r.text
    # then the API refuses an order for them, with the reason
    body = {"items": [{"variant_id": tee.variant_id, "quantity": 1}], "customer_id": customer_id}
    refused = shop.api.post("/api/v1/orders", json=body)
    assert refused.status_code == 409 and refused.json()["error"] == {
        "code": "customer.blocked",
        "message": "该客户已被拉黑，不能为其下单。",
        "details": {"customer_id": customer_id},
    }
    # and the console's order form shows it as a message
    form = {"customer_id": customer_id, "address_id": address_id, "variant_id": tee.variant_id, "quantity": 1}
    toast = console.post("/orders/new", data=form, headers=HTMX)
    assert toast.status_code == 409 and toast.headers["HX-Retarget"] == "#toast"
    assert "该客户已被拉黑，不能为其下单。" in toast.text
    # until they are taken off the blacklist
    console.post(f"{url}/unblock", headers=HTMX)
    assert shop.api.post("/api/v1/orders", json=body).status_code == 201


# --- merging --------------------------------------------------------------------------------------


def test_merge_a_duplicate_found_by_phone_after_a_preview(console, shop, tee):
    keep = create(shop, name="张三", phones=["13812345678"], tags=["VIP"])
    drop = create(shop, name="张三 微信", phones=["15900001111"], tags=["老客"], note="爱喝茶")
    order = make_order(shop, [(tee.variant_id, 1)], customer_id=drop["id"])
    url = f"/customers/{keep['id']}"
    # the search finds the duplicate by its last 4, never the customer on screen
    found = console.post(f"{url}/merge/search", data={"mq": "1111"}, headers=HTMX).text
    assert f"other_id={drop['id']}" in found and f"other_id={keep['id']}" not in found
    mine = console.post(f"{url}/merge/search", data={"mq": "5678"}, headers=HTMX).text
    assert "other_id=" not in mine
    # the preview says what moves
    preview = console.get(f"{url}/merge/preview?other_id={drop['id']}", headers=HTMX).text
    assert re.search(r'data-move="orders">[^<]*1', preview) and "159****1111" in preview
    assert "老客" in preview and 'name="other_version"' in preview
    # the confirmation merges and shows the kept customer with everything
    r = console.post(
        f"{url}/merge",
        data={"other_id": drop["id"], "version": keep["version"], "other_version": drop["version"]},
        headers=HTMX,
    )
    assert r.status_code == 200 and "159****1111" in r.text and "爱喝茶" in r.text
    assert f'href="/orders/{order["id"]}"' in r.text and "张三 微信" in r.text  # placed as
    # and an old link to the duplicate leads to the kept customer
    old = console.get(f"/customers/{drop['id']}")
    assert old.status_code == 303 and old.headers["location"] == url


def test_a_merge_refused_in_the_preview_or_when_stale(console, shop):
    keep = create(shop, name="张三", phones=["13812345678"])
    drop = create(shop, name="李四", phones=["15900001111"])
    url = f"/customers/{keep['id']}"
    itself = console.get(f"{url}/merge/preview?other_id={keep['id']}", headers=HTMX).text
    assert "不能合并到自己" in itself and "data-confirm-merge" not in itself
    shop.api.patch(f"{API}/{drop['id']}", json={"note": "刚改过"})  # someone edits the duplicate
    stale = console.post(
        f"{url}/merge",
        data={"other_id": drop["id"], "version": keep["version"], "other_version": drop["version"]},
        headers=HTMX,
    )
    assert stale.status_code == 409 and "请刷新后重试" in stale.text
    assert shop.api.get(f"{API}/{drop['id']}").status_code == 200
    unpicked = console.post(f"{url}/merge", data={"version": keep["version"]}, headers=HTMX)
    assert unpicked.status_code == 422


# --- access and language --------------------------------------------------------------------------


def _customer_routes(app):
    for route in iter_routes(app):
        if route.endpoint.__module__ in {m.__name__ for m in CONSOLE_ROUTERS} or route.path.endswith(
            "/merge"
        ):
            yield route


def test_every_customer_route_is_staff_only_and_404_for_another_shop(app, anon, shop, other_shop, runtime):
    customer_id, address_id = make_customer(runtime, shop)
    phone_id = shop.api.get(f"{API}/{customer_id}").json()["phones"][0]["id"]
    ids = {"customer_id": customer_id, "address_id": address_id, "phone_id": phone_id}
    routes = list(_customer_routes(app))
    assert len(routes) >= 20
    for route in routes:
        assert len(route.rules) == 1 and route.rules[0].kind == "staff", route.path
        for method in route.methods - {"HEAD"}:
            api = route.path.startswith("/api/")
            # As tests/test_access.py sends them: no form, and the API body from its SAMPLE_BODIES.
            body = {"json": {"other_id": customer_id}} if api else {}
            r = anon.request(method, re.sub(r"\{[^}]+\}", "1", route.path), follow_redirects=False)
            assert r.status_code == (401 if api else 303), (method, route.path, r.status_code)
            if "{" in route.path:
                r = other_shop.api.request(method, route.path.format(**ids), follow_redirects=False, **body)
                assert r.status_code == 404, (method, route.path, r.status_code, r.text)
    assert shop.api.get(f"{API}/{customer_id}").json()["note"] == ""


def test_every_customer_page_is_translated(app, shop, runtime, tee):
    customer_id, address_id = make_customer(runtime, shop, name="王小明", phone="13812345678")
    other = create(shop, name="王小明 微信", phones=["15900001111"])
    make_order(shop, [(tee.variant_id, 1)], customer_id=customer_id)
    shop.api.patch(f"{API}/{customer_id}", json={"blocked": True, "tags": ["VIP"]})
    pages = [
        "/customers",
        f"/customers/{customer_id}",
        f"/customers/{customer_id}/addresses/new",
        f"/customers/{customer_id}/addresses/{address_id}/edit",
        f"/customers/{customer_id}/merge/preview?other_id={other['id']}",
    ]
    zh = sign_in(app, shop)
    en = sign_in(app, shop, lang="en")
    for path in pages:
        html = zh.get(path).text
        assert _untranslated(html) == set(), path
        assert en.get(path).status_code == 200, path
    assert "Blacklisted" in en.get("/customers").text and "Blacklisted" not in zh.get("/customers").text
    found = zh.post(f"/customers/{customer_id}/merge/search", data={"mq": "1111"}, headers=HTMX).text
    assert _untranslated(found) == set() and "王小明 微信" in found
    missing = zh.get("/customers/999999999")
    assert (
        missing.status_code == 404 and _untranslated(missing.text) == set() and "客户不存在" in missing.text
    )
