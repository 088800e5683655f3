"""The quick replies page over HTTP (as HTMX and as plain forms), on both databases."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.support.browser import PHONE, browser_fixture, live_fixture, open_console  # noqa: F401 (fixtures)
from tests.support.shops import make_shop
from tests.test_console import HTMX, _untranslated, sign_in

API = "/api/v1/reply-templates"


def shortcodes(html: str) -> list[str]:
    return re.findall(r'data-shortcode="([^"]+)"', html)


def api_item(shop, shortcode: str) -> dict | None:
    return next((t for t in shop.api.get(API).json()["items"] if t["shortcode"] == shortcode), None)


FORM = {
    "category": "shipping_notice",
    "shortcode": "kd",
    "title": "快递说明",
    "body": "{客户名}，默认发{快递公司}",
}


def test_the_page_lists_the_shops_replies_by_category_in_chinese(console, shop):
    r = console.get("/replies")

    assert r.status_code == 200, r.text
    assert "快捷回复" in r.text and 'href="/inbox"' in r.text
    groups = re.findall(r'class="reply-group" data-category="([^"]+)"', r.text)
    assert groups == ["order_confirmation", "shipping_notice", "after_sales", "custom"]
    assert shortcodes(r.text) == [t["shortcode"] for t in shop.api.get(API).json()["items"]]
    # each reply's preview uses sample values, not the placeholders
    assert "王小姐您好，您的订单 2406180015 已确认" in r.text
    assert _untranslated(r.text) == set()


def test_adding_a_reply_with_a_plain_form_and_with_htmx(console, shop):
    r = console.post("/replies", data=FORM)
    assert r.status_code == 303 and r.headers["location"] == "/replies"
    assert api_item(shop, "kd")["body"] == "{客户名}，默认发{快递公司}"

    r = console.post("/replies", data={**FORM, "shortcode": "kd2", "category": "custom"}, headers=HTMX)
    assert r.status_code == 200, r.text
    assert r.text.lstrip().startswith('<section id="reply-list"')
    assert "已添加快捷回复 /kd2" in r.text and "kd2" in shortcodes(r.text)


def test_a_shortcode_clash_is_shown_and_nothing_is_added(console, shop):
    before = shop.api.get(API).json()["items"]
    r = console.post("/replies", data={**FORM, "shortcode": "QR"}, headers=HTMX)

    assert r.status_code == 409
    assert r.headers["HX-Retarget"] == "#toast"
    assert "快捷码 /QR 已被其他快捷回复使用" in r.text
    assert shop.api.get(API).json()["items"] == before


def test_missing_fields_are_named(console, shop):
    r = console.post("/replies", data={**FORM, "title": ""}, headers=HTMX)
    assert r.status_code == 422 and "标题" in r.text  # the field named in the reader's language
    assert api_item(shop, "kd") is None


def test_editing_inline_then_saving(console, shop):
    qr = api_item(shop, "qr")
    form = console.get(f"/replies/{qr['id']}/edit", headers=HTMX)
    assert form.status_code == 200
    assert f'id="reply-{qr["id"]}"' in form.text and "王小姐" in form.text  # with its preview

    r = console.post(
        f"/replies/{qr['id']}",
        data={"category": "custom", "shortcode": "QR1", "title": "确认", "body": "好的{客户名}"},
        headers=HTMX,
    )

    assert r.status_code == 200, r.text
    assert "已保存" in r.text
    assert api_item(shop, "QR1") == {**qr, "category": "custom", "shortcode": "QR1", "title": "确认",
                                     "body": "好的{客户名}", "position": api_item(shop, "QR1")["position"]}  # fmt: skip
    # the full edit page works without HTMX too
    page = console.get(f"/replies/{qr['id']}/edit")
    assert page.status_code == 200 and "编辑快捷回复" in page.text and _untranslated(page.text) == set()


def test_deleting_and_restoring_defaults(console, shop):
    hi = api_item(shop, "hi")
    r = console.post(f"/replies/{hi['id']}/delete", headers=HTMX)
    assert r.status_code == 200 and "hi" not in shortcodes(r.text)

    r = console.post("/replies/restore-defaults", headers=HTMX)
    assert "已恢复 1 条默认快捷回复" in r.text and "hi" in shortcodes(r.text)
    r = console.post("/replies/restore-defaults", headers=HTMX)
    assert "默认快捷回复都在" in r.text


def test_live_preview_fills_sample_values_and_flags_unknown_braces(console):
    r = console.post(
        "/replies/preview", data={"body": "{客户名}，单号{订单号}，{客户}{__class__}"}, headers=HTMX
    )

    assert r.status_code == 200
    assert "王小姐，单号2406180015，{客户}{__class__}" in r.text
    assert "以下不是变量，会原样发出：{客户}、{__class__}" in r.text


def test_reply_text_is_escaped_in_the_page(console, shop):
    shop.api.post(
        API, json={"shortcode": "x1", "title": "<b>粗</b>", "body": "<script>alert(1)</script>{客户名}"}
    )
    r = console.get("/replies")
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;王小姐" in r.text
    assert "<b>粗</b>" not in r.text


def test_staff_without_chat_templates_see_the_page_but_cannot_change_it(app, shop):
    token = shop.api.post("/api/v1/auth/tokens", json={"name": "客服", "scopes": ["chat.read"]}).json()[
        "token"
    ]
    agent = TestClient(app, headers={"Authorization": f"Bearer {token}"}, raise_server_exceptions=False)

    page = agent.get("/replies")
    assert page.status_code == 200 and "qr" in shortcodes(page.text)
    assert "新增快捷回复" not in page.text and "/edit" not in page.text

    qr = api_item(shop, "qr")
    for path in (
        "/replies",
        f"/replies/{qr['id']}",
        f"/replies/{qr['id']}/delete",
        "/replies/restore-defaults",
    ):
        assert agent.post(path, data=FORM, follow_redirects=False).status_code == 403, path
    assert agent.get(f"/replies/{qr['id']}/edit").status_code == 403
    assert api_item(shop, "qr") == qr


def test_another_shops_reply_is_not_found(app, shop, other_shop):
    theirs = api_item(other_shop, "qr")
    console = sign_in(app, shop)
    assert console.get(f"/replies/{theirs['id']}/edit").status_code == 404
    assert console.post(f"/replies/{theirs['id']}", data=FORM).status_code == 404
    assert console.post(f"/replies/{theirs['id']}/delete").status_code == 404
    assert api_item(other_shop, "qr") == theirs
    assert theirs["id"] not in [t["id"] for t in shop.api.get(API).json()["items"]]


def test_on_a_phone_a_reply_is_written_with_variable_chips_and_a_live_preview(browser, live):
    # (the live console's own shop: the module's other tests use the per-backend one)
    shop = make_shop(live[1], live[2])
    page = open_console(browser, live, shop, viewport=PHONE)
    page.goto(live[0] + "/replies")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # When they open the editor, type, and tap two variable chips
    page.click("#reply-add summary")
    page.select_option("#reply-add select[name=category]", "shipping_notice")
    page.fill("#reply-add input[name=shortcode]", "dh")
    page.fill("#reply-add input[name=title]", "到货提醒")
    page.fill("#reply-body-new", "您好")
    page.click("#reply-add [data-insert='{客户名}']")
    page.type("#reply-body-new", "，包裹由")
    page.click("#reply-add [data-insert='{快递公司}']")

    # Then the preview shows sample values as they type, and saving lists the reply in its group
    page.wait_for_selector("#reply-preview-new .reply-preview:has-text('您好王小姐，包裹由顺丰速运')")
    page.click("#reply-add button.primary")
    page.wait_for_selector("[data-category=shipping_notice] [data-shortcode=dh]")
    assert page.text_content("[data-shortcode=dh] .reply-body") == "您好{客户名}，包裹由{快递公司}"
    assert "已添加快捷回复 /dh" in page.text_content("#reply-list")
