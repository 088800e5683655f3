"""The 支付方式 page in Chromium on a phone: the owner reaches it through 设置, saves bank transfer
details, uploads a WeChat Pay 收款码 (previewed before it is sent), and a customer of the shop sees it."""

from __future__ import annotations

import io

import httpx
import segno

from tests.support.browser import (  # noqa: F401 (fixtures)
    PHONE,
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    open_console,
)
from tests.test_payment_settings import BANK


def test_on_a_phone_the_owner_saves_bank_details_and_uploads_a_payment_code(browser, live, shop, tmp_path):
    url, _runtime, _app = live
    page = open_console(browser, live, shop, viewport=PHONE)

    # Given the owner on a phone opens 设置 from the navigation, then 支付方式
    page.click("nav a[href='/settings']")
    page.wait_for_url(url + "/settings")
    page.click("a[href='/settings/payments']")
    page.wait_for_url(url + "/settings/payments")

    # Then the cards fit the phone's width (nothing scrolls sideways)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # When they fill in the bank card, switch it on and save
    card = page.locator("#method-bank")
    card.locator("input[name=enabled]").check()
    for name, value in BANK.items():
        card.locator(f"input[name={name}]").fill(value)
    card.locator("button.primary").click()

    # Then the card comes back saved and on, and the API says the same
    page.locator("#method-bank h2 .method-on").wait_for()
    assert page.locator("#method-bank .notice").inner_text() == "已保存。"
    assert "已开启" in page.locator("#method-bank h2").inner_text()
    saved = httpx.get(url + "/api/v1/payment-methods/bank", headers={"Authorization": f"Bearer {shop.token}"})
    assert saved.json()["enabled"] is True and saved.json()["settings"] == BANK

    # When they choose a 收款码 picture for WeChat Pay
    code = tmp_path / "wechat.png"
    segno.make("测试收款码").save(str(code), kind="png", scale=8)
    wechat = page.locator("#method-wechat")
    wechat.locator("input[type=file]").set_input_files(str(code))

    # Then it is previewed before it is sent, and uploaded it shows on the card
    wechat.locator(".code-preview").wait_for(state="visible")
    wechat.locator(".code-form button.primary").click()
    image = page.locator("#method-wechat img.code-image")
    image.wait_for(state="visible")
    # Visible is not yet drawn: the picture is fetched after its element shows (slower on a busy machine).
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=10_000
    )
    box = image.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]

    # And once WeChat Pay is switched on, the shop's customer fetches the same image
    wechat = page.locator("#method-wechat")
    wechat.locator("input[name=enabled]").check()
    wechat.locator(".method-form button.primary").click()
    page.locator("#method-wechat h2 .method-on").wait_for()  # the card redrawn, switched on
    with httpx.Client(base_url=url) as customer:
        r = customer.post(f"/s/{shop.slug}/api/visitor", json={"name": "顾客", "phone": "13800004444"})
        assert r.status_code == 200, r.text
        fetched = customer.get(f"/s/{shop.slug}/api/payment-codes/wechat")
        assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
        assert io.BytesIO(fetched.content).getbuffer().nbytes > 100
