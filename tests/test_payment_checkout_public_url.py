"""Native QR after the issue-13 security review: the notify_url a provider is given comes from the
configured public address (config.py ``public_base_url``), never from the request's Host header;
without that address no native QR is offered; and WeChat Pay's answer must carry the platform
key's signature (the fake provider signs as WeChat Pay does, tests/support/fake_providers.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from shangliao.config import Settings
from shangliao.payments.models import PaymentAttempt
from tests.support.chat import guest_client
from tests.support.fake_providers import PUBLIC_BASE_URL, configure_methods, fake_providers, point_settings_at
from tests.support.orders import make_order


@pytest.fixture
def fake(runtime):
    with fake_providers() as providers:
        old = point_settings_at(runtime.settings, providers)
        yield providers
        for name, value in old.items():
            setattr(runtime.settings, name, value)


@pytest.fixture
def guest(app, shop):
    return guest_client(app, shop, "小红", "13700001234")


@pytest.fixture
def order(shop, tee, guest):
    return make_order(shop, [(tee.variant_id, 2)], customer_id=guest.customer_id)


def statuses(runtime, order_id: int) -> list[tuple[str, str | None]]:
    with runtime.db.read() as session:
        rows = session.scalars(select(PaymentAttempt).where(PaymentAttempt.order_id == order_id))
        return [(a.status, a.error) for a in rows]


@pytest.mark.parametrize("kind", ["wechat", "alipay"])
def test_the_notify_url_is_the_public_address_whatever_host_is_sent(runtime, shop, guest, order, fake, kind):
    # given a shop taking WeChat Pay and Alipay, and the server's public address configured
    configure_methods(runtime, shop.id)
    # when a customer asks for a QR with a forged Host header
    r = guest.post(
        f"/s/{shop.slug}/api/orders/{order['id']}/pay/{kind}", headers={"Host": "attacker.example"}
    )
    # then the provider is told to notify the configured address, not the caller's Host
    assert r.status_code == 200, r.text
    sent = fake.requests[0]
    notify_url = sent["body"]["notify_url"] if kind == "wechat" else sent["params"]["notify_url"]
    assert notify_url == f"{PUBLIC_BASE_URL}/api/v1/providers/{shop.slug}/{kind}"


def test_without_a_public_address_no_native_qr_is_offered(runtime, shop, guest, order, console, fake):
    # given complete merchant credentials but no public address
    configure_methods(runtime, shop.id)
    runtime.settings.public_base_url = ""  # put back by `fake`
    # when the customer reads how to pay, and asks for a QR all the same
    view = guest.get(f"/s/{shop.slug}/api/orders/{order['id']}/pay").json()
    r = guest.post(f"/s/{shop.slug}/api/orders/{order['id']}/pay/wechat")
    # then no native QR is offered nor asked of the provider (the 收款码 images still are)
    assert {m["kind"]: m["native"] for m in view["methods"]} == {
        "wechat": False,
        "alipay": False,
        "bank": False,
    }
    assert r.status_code == 404 and r.json()["error"]["code"] == "payment.method_unavailable"
    assert fake.calls == 0 and statuses(runtime, order["id"]) == []
    # and staff are told why on the payment settings page
    page = console.get("/settings/payments")
    assert page.status_code == 200 and "需要先配置对外访问地址" in page.text


@pytest.mark.parametrize(
    "value",
    [
        "http://shop.example.com",
        "shop.example.com",
        "https://",
        "https://a.example/?x=1",
        "https://u@a.example",
    ],
)
def test_the_public_address_must_be_https(value):
    # given an address that is not a plain https URL, then the server refuses to start with it
    with pytest.raises(ValidationError):
        Settings(public_base_url=value)
    # and a good one is kept without its trailing slash
    assert Settings(public_base_url="https://shop.example.com/").public_base_url == "https://shop.example.com"


def test_a_wechat_answer_not_signed_by_the_platform_key_is_no_qr(runtime, shop, guest, order, fake):
    # given WeChat Pay's answer signed by a key that is not the platform key the shop configured
    configure_methods(runtime, shop.id)
    fake.mode = "forged"
    # when the customer asks for a WeChat Pay QR
    r = guest.post(f"/s/{shop.slug}/api/orders/{order['id']}/pay/wechat")
    # then no code is shown and the attempt is failed with why
    assert r.status_code == 502, r.text
    assert r.json()["error"]["code"] == "payment.qr_unavailable"
    assert fake.answered and fake.answered[0] not in r.text
    assert statuses(runtime, order["id"]) == [("failed", "wechat.answer_bad_signature")]


def test_a_wechat_answer_signed_by_the_platform_key_is_shown(runtime, shop, guest, order, fake):
    # given WeChat Pay answering as it does, signed by the platform key under its serial
    configure_methods(runtime, shop.id)
    # when the customer asks for a WeChat Pay QR
    r = guest.post(f"/s/{shop.slug}/api/orders/{order['id']}/pay/wechat")
    # then the code is shown
    assert r.status_code == 200, r.text
    assert statuses(runtime, order["id"]) == [("open", None)]
