"""The console's 设置 hub and 支付方式 page (web/console/settings_pages.py), through TestClient."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.team import make_member
from tests.test_payment_settings import APIV3, BANK, png, private_pem

HTMX = {"HX-Request": "true"}


def test_the_hub_is_in_the_nav_of_who_may_configure_and_links_their_pages(app, runtime, shop, console):
    # given the owner's console
    # when they open any page, then the nav has 设置, and the hub links both settings pages
    assert 'href="/settings"' in console.get("/orders").text
    hub = console.get("/settings")
    assert hub.status_code == 200
    assert "支付方式" in hub.text and 'href="/settings/payments"' in hub.text
    assert 'href="/settings/assignment"' in hub.text

    # given an agent (neither settings.manage nor payments.manage, but payments.record)
    agent = make_member(runtime, shop, role="agent")
    page = agent.get("/orders")
    # then 设置 leads them to the payment-notification log only
    assert 'href="/settings"' in page.text
    hub = agent.get("/settings")
    assert hub.status_code == 200 and 'href="/payments/notifications"' in hub.text
    assert 'href="/settings/payments"' not in hub.text and 'href="/settings/assignment"' not in hub.text

    # given a member holding none of the hub's permissions, then no 设置 and the hub refuses them
    reader = make_member(runtime, shop, permissions=["orders.read"])
    assert 'href="/settings"' not in reader.get("/orders").text
    assert reader.get("/settings").status_code == 403

    # given finance (payments.manage only): the hub shows 支付方式 and not the assignment page
    finance = make_member(runtime, shop, role="finance")
    hub = finance.get("/settings")
    assert hub.status_code == 200
    assert 'href="/settings/payments"' in hub.text and 'href="/settings/assignment"' not in hub.text


def test_the_payments_page_shows_a_card_per_method_and_saves_bank_details(console):
    # when the owner opens 支付方式
    page = console.get("/settings/payments")

    # then there is one card per method, each switched off
    assert page.status_code == 200
    for kind in ("wechat", "alipay", "bank", "gateway"):
        assert f'id="method-{kind}"' in page.text
    assert page.text.count("已关闭") >= 4

    # when they fill in the bank card and switch it on (htmx posts the card's form)
    form = {"enabled": "1", **BANK}
    r = console.post("/settings/payments/bank", data=form, headers=HTMX)

    # then the card comes back saved, on, with the details
    assert r.status_code == 200, r.text
    assert "已保存" in r.text and "已开启" in r.text and BANK["account_number"] in r.text
    assert console.get("/api/v1/payment-methods/bank").json()["settings"] == BANK


def test_secrets_show_as_set_and_an_empty_field_keeps_them(console):
    # given WeChat Pay saved with its APIv3 key and private key through the page
    form = {"mchid": "1900000109", "appid": "wxd678efh567hg6787", "apiv3_key": APIV3,
            "merchant_private_key": private_pem()}  # fmt: skip
    r = console.post("/settings/payments/wechat", data=form, headers=HTMX)
    assert r.status_code == 200, r.text

    # then the card says 已设置 and never shows them
    assert "已设置" in r.text and APIV3 not in r.text and "PRIVATE KEY" not in r.text

    # when the card is saved again with the secret fields empty
    r = console.post(
        "/settings/payments/wechat", data={"mchid": "1900000110", "appid": "wxd678efh567hg6787"}, headers=HTMX
    )

    # then they are kept
    secrets = console.get("/api/v1/payment-methods/wechat").json()["secrets"]
    assert secrets == {"apiv3_key_set": True, "merchant_private_key_set": True}


def test_a_bad_field_is_refused_in_the_message_area(console):
    # when a bank account number with letters is saved
    r = console.post("/settings/payments/bank", data={**BANK, "account_number": "62AB"}, headers=HTMX)

    # then the refusal goes to the toast, in Chinese, and nothing is stored
    assert r.status_code == 422
    assert r.headers["HX-Retarget"] == "#toast"
    assert "payment_method.bad_account_number" in r.text and "8 到 32 位数字" in r.text
    assert console.get("/api/v1/payment-methods/bank").json()["configured"] is False


def test_a_payment_code_is_uploaded_from_the_card_and_shown(console):
    # when the owner uploads an Alipay code through the card's form
    r = console.post("/settings/payments/alipay/code", files={"file": ("code.png", png())}, headers=HTMX)

    # then the card shows the image, which the console may fetch
    assert r.status_code == 200, r.text
    assert 'class="code-image"' in r.text
    url = console.get("/api/v1/payment-methods/alipay").json()["static_code"]["url"]
    assert url in r.text.replace("&amp;", "&")
    assert console.get(url).status_code == 200

    # and removing it takes it away
    r = console.post("/settings/payments/alipay/code/remove", headers=HTMX)
    assert r.status_code == 200 and 'class="code-image"' not in r.text


def test_signed_out_visitors_of_the_settings_pages_go_to_sign_in(app):
    client = TestClient(app, follow_redirects=False)
    for path in ("/settings", "/settings/payments"):
        assert client.get(path).headers["location"].startswith("/login")


def test_the_audit_log_reads_a_method_change_in_words_without_its_secrets(console):
    # given WeChat Pay's APIv3 key saved through the page
    form = {"mchid": "1900000109", "apiv3_key": APIV3}
    assert console.post("/settings/payments/wechat", data=form, headers=HTMX).status_code == 200

    # when the owner reads 操作日志
    page = console.get("/audit")

    # then the act and the changed settings are named in words, and the key is nowhere
    assert page.status_code == 200
    assert "收款方式已修改" in page.text and "APIv3 密钥" in page.text and "商户号 (mchid)" in page.text
    assert APIV3 not in page.text
