"""A shop's payment methods (issue 13, "Payment methods and the customer's side"): hard validation
with coded errors, write-only secrets sealed at rest, a switch that keeps the configuration, the
static 收款码 image for staff and the shop's own customers, and who may read or change them."""

from __future__ import annotations

import datetime as dt
import io
from functools import cache

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from PIL import Image
from sqlalchemy import select

from shangliao.audit.models import AuditEntry
from shangliao.payments.methods import shop_payment_options
from shangliao.payments.models import PaymentMethod
from tests.support.chat import guest_client
from tests.support.team import make_member

API = "/api/v1/payment-methods"
APIV3 = "k" * 16 + "0123456789ABCDEF"
HMAC = "s3cret-" * 6


@cache
def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_pem(key=None) -> str:
    return (
        (key or rsa_key())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        .decode()
    )


def public_pem(key=None) -> str:
    return (
        (key or rsa_key())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@cache
def platform_certificate() -> tuple[str, str]:
    """A self-signed certificate standing in for a WeChat Pay platform certificate, and its serial."""
    key = rsa_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x5157F09EFDC096DE15EBE81A47057A7232F1B8E1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"


def wechat_body(**settings) -> dict:
    return {
        "enabled": True,
        "settings": {
            "mchid": "1900000109",
            "appid": "wxd678efh567hg6787",
            "merchant_serial": "444F4864EA9B34415B0F5A3A33B2C9B1E5B2D1A3",
            "platform_keys": [{"public_key": platform_certificate()[0]}],
            **settings,
        },
        "secrets": {"apiv3_key": APIV3, "merchant_private_key": private_pem()},
    }


BANK = {
    "account_name": "杭州小店有限公司",
    "bank": "招商银行",
    "account_number": "6214 8301 2345 6789",
    "branch": "西湖支行",
}


def png(size=(64, 64), fmt="PNG", exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, "white")
    for x in range(0, size[0], 4):  # something QR-like, so the encoder has work
        image.putpixel((x, x % size[1]), (0, 0, 0))
    image.save(out, fmt, **({"exif": exif} if exif else {}))
    return out.getvalue()


# --- saving and reading ------------------------------------------------------------------------------


def test_a_wechat_method_is_saved_and_its_secrets_are_never_answered_nor_audited(runtime, shop):
    # given the merchant's WeChat Pay credentials
    body = wechat_body()

    # when they are saved
    r = shop.api.put(f"{API}/wechat", json=body)

    # then the answer has the settings, the platform key under its certificate's serial, and only
    # whether each secret is set
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["enabled"] is True and out["configured"] is True and out["native_ready"] is True
    assert out["settings"]["mchid"] == "1900000109"
    assert [k["serial"] for k in out["settings"]["platform_keys"]] == [platform_certificate()[1]]
    assert "BEGIN PUBLIC KEY" in out["settings"]["platform_keys"][0]["public_key"]
    assert out["secrets"] == {"apiv3_key_set": True, "merchant_private_key_set": True}
    listed = shop.api.get(API).json()["items"]
    assert [m["kind"] for m in listed] == ["wechat", "alipay", "bank", "gateway"]
    secret_texts = (APIV3, "PRIVATE KEY", private_pem().splitlines()[1])
    for text in (r.text, shop.api.get(API).text, shop.api.get(f"{API}/wechat").text):
        assert not any(s in text for s in secret_texts)

    # and the audit row names the kind and the changed keys, never a value
    with runtime.db.read() as session:
        entries = session.scalars(
            select(AuditEntry.data).where(
                AuditEntry.shop_id == shop.id, AuditEntry.act == "payments.method_changed"
            )
        ).all()
        raw = session.scalar(select(PaymentMethod.secrets_enc).where(PaymentMethod.shop_id == shop.id))
    assert len(entries) == 1
    assert entries[0]["kind"] == "wechat" and entries[0]["enabled"] is True
    assert {"apiv3_key", "merchant_private_key", "mchid", "enabled"} <= set(entries[0]["changed"])
    assert not any(s in str(entries[0]) for s in secret_texts)
    # and the secrets are sealed at rest: the raw column holds neither
    assert raw and APIV3.encode() not in raw and b"PRIVATE KEY" not in raw


def test_secrets_are_sealed_and_open_to_what_was_sent(runtime, shop):
    # given saved Alipay credentials (Alipay's public key pasted bare, as its console shows it)
    bare = "".join(public_pem().splitlines()[1:-1])
    r = shop.api.put(
        f"{API}/alipay",
        json={
            "enabled": True,
            "settings": {
                "app_id": "2021000123456789",
                "seller_id": "2088123456789012",
                "alipay_public_key": bare,
            },
            "secrets": {"app_private_key": private_pem()},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["native_ready"] is True

    # when the row is read raw and opened with the keyring
    from shangliao.payments.methods import open_secrets

    with runtime.db.read() as session:
        method = session.scalar(select(PaymentMethod).where(PaymentMethod.shop_id == shop.id))
        raw, settings = method.secrets_enc, method.settings
        opened = open_secrets(runtime.keyring, method)

    # then the column is ciphertext and opens to the key (in its normal PKCS#8 form)
    assert b"PRIVATE" not in raw
    assert opened["app_private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert settings["alipay_public_key"] == public_pem()


def test_a_secret_left_out_is_kept_and_one_sent_as_null_is_removed(runtime, shop):
    # given a gateway with its secret
    assert (
        shop.api.put(
            f"{API}/gateway", json={"settings": {"name": "网关"}, "secrets": {"hmac_secret": HMAC}}
        ).status_code
        == 200
    )

    # when the settings change without the secret
    r = shop.api.put(f"{API}/gateway", json={"enabled": True, "settings": {"name": "新网关"}})

    # then the secret is still set (and the gateway could be switched on with it)
    assert r.status_code == 200, r.text
    assert r.json()["secrets"] == {"hmac_secret_set": True} and r.json()["enabled"] is True

    # when it is sent as null while the gateway is on
    r = shop.api.put(f"{API}/gateway", json={"secrets": {"hmac_secret": None}})
    # then it is refused (an enabled gateway needs it), and switched off it goes
    assert r.status_code == 422 and r.json()["error"]["code"] == "payment_method.incomplete"
    r = shop.api.put(f"{API}/gateway", json={"enabled": False, "secrets": {"hmac_secret": None}})
    assert r.status_code == 200 and r.json()["secrets"] == {"hmac_secret_set": False}


def test_switching_a_method_off_keeps_its_configuration(shop):
    # given bank transfer set up and on
    assert shop.api.put(f"{API}/bank", json={"enabled": True, "settings": BANK}).status_code == 200

    # when it is switched off, and later on again
    off = shop.api.put(f"{API}/bank", json={"enabled": False})
    on = shop.api.put(f"{API}/bank", json={"enabled": True})

    # then nothing of the configuration was lost
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert off.json()["settings"] == BANK
    assert on.json()["enabled"] is True and on.json()["settings"] == BANK


def test_a_method_cannot_be_switched_on_without_what_customers_need(shop):
    # when bank transfer is switched on without an account number
    r = shop.api.put(
        f"{API}/bank", json={"enabled": True, "settings": {"account_name": "张三", "bank": "工商银行"}}
    )

    # then it is refused naming the missing field, and nothing is stored
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "payment_method.incomplete"
    assert r.json()["error"]["details"]["fields"] == ["account_number"]
    assert shop.api.get(f"{API}/bank").json()["configured"] is False


# --- validation ---------------------------------------------------------------------------------------

WECHAT_BAD = [
    ({"settings": {"mchid": "19000abc"}}, "payment_method.bad_mchid"),
    ({"settings": {"appid": "wa1234567890123456"}}, "payment_method.bad_appid"),
    ({"settings": {"appid": "wx123"}}, "payment_method.bad_appid"),
    ({"settings": {"merchant_serial": "not-hex!"}}, "payment_method.bad_merchant_serial"),
    ({"secrets": {"apiv3_key": "short"}}, "payment_method.bad_apiv3_key"),
    ({"secrets": {"apiv3_key": "x" * 33}}, "payment_method.bad_apiv3_key"),
    (
        {"secrets": {"merchant_private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}},
        "payment_method.bad_private_key",
    ),
    ({"secrets": {"merchant_private_key": public_pem.__name__}}, "payment_method.bad_private_key"),
    (
        {"settings": {"platform_keys": [{"serial": "PUB_KEY_ID_01", "public_key": "hello"}]}},
        "payment_method.bad_public_key",
    ),
    ({"settings": {"platform_keys": [{"public_key": "PUBLIC"}]}}, "payment_method.bad_public_key"),
    ({"settings": {"unknown": "x"}}, "payment_method.invalid"),
    ({"secrets": {"api_key": "x"}}, "payment_method.invalid"),
]


@pytest.mark.parametrize(("change", "code"), WECHAT_BAD)
def test_wechat_fields_are_checked_with_a_coded_error_and_nothing_is_stored(shop, change, code):
    # given an otherwise good body with one bad field
    body = wechat_body()
    body["settings"].update(change.get("settings", {}))
    body["secrets"].update(change.get("secrets", {}))

    # when it is saved
    r = shop.api.put(f"{API}/wechat", json=body)

    # then it is refused with the field's code, and nothing is stored
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code
    assert shop.api.get(f"{API}/wechat").json()["configured"] is False


def test_platform_keys_need_a_serial_matching_the_certificate_and_an_rsa_key(shop):
    cert, serial = platform_certificate()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = (
        ec_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    cases = [
        ([{"serial": "ABCDEF0123456789", "public_key": cert}], "payment_method.platform_serial_mismatch"),
        ([{"public_key": public_pem()}], "payment_method.platform_serial_required"),
        ([{"serial": "PUB_KEY_ID_0114", "public_key": ec_pem}], "payment_method.bad_public_key"),
        ([{"serial": "PUB_KEY_ID_0114", "public_key": public_pem(weak)}], "payment_method.bad_public_key"),
        (
            [{"public_key": cert}, {"serial": serial, "public_key": public_pem()}],
            "payment_method.platform_serial_repeated",
        ),
    ]
    for keys, code in cases:
        r = shop.api.put(f"{API}/wechat", json=wechat_body(platform_keys=keys))
        assert r.status_code == 422 and r.json()["error"]["code"] == code, (code, r.text)
    # a public key with its id, and the certificate with its own serial, are taken
    good = [
        {"serial": "PUB_KEY_ID_0114232134912410", "public_key": public_pem()},
        {"serial": serial.lower(), "public_key": cert},
    ]
    r = shop.api.put(f"{API}/wechat", json=wechat_body(platform_keys=good))
    assert r.status_code == 200, r.text
    assert [k["serial"] for k in r.json()["settings"]["platform_keys"]] == [
        "PUB_KEY_ID_0114232134912410",
        serial,
    ]


OTHER_BAD = [
    ("alipay", {"settings": {"app_id": "20210001234"}}, "payment_method.bad_app_id"),
    ("alipay", {"settings": {"seller_id": "2099123456789012"}}, "payment_method.bad_seller_id"),
    ("alipay", {"settings": {"seller_id": "20881234567890123"}}, "payment_method.bad_seller_id"),
    (
        "alipay",
        {"settings": {"alipay_public_key": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"}},
        "payment_method.bad_public_key",
    ),
    (
        "alipay",
        {
            "secrets": {
                "app_private_key": "-----BEGIN RSA PRIVATE KEY-----\nzz\n-----END RSA PRIVATE KEY-----"
            }
        },
        "payment_method.bad_private_key",
    ),
    ("bank", {"settings": {**BANK, "account_number": "6214-8301-2345"}}, "payment_method.bad_account_number"),
    ("bank", {"settings": {**BANK, "account_number": "1234"}}, "payment_method.bad_account_number"),
    ("bank", {"settings": {**BANK, "bank": "x" * 65}}, "payment_method.invalid"),
    (
        "gateway",
        {"settings": {"name": "网关"}, "secrets": {"hmac_secret": "x" * 31}},
        "payment_method.bad_hmac_secret",
    ),
    ("gateway", {"enabled": True, "settings": {"name": "网关"}}, "payment_method.incomplete"),
    ("bank", {"secrets": {"anything": "x"}}, "payment_method.invalid"),
]


@pytest.mark.parametrize(("kind", "body", "code"), OTHER_BAD)
def test_alipay_bank_and_gateway_fields_are_checked(shop, kind, body, code):
    r = shop.api.put(f"{API}/{kind}", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code
    assert shop.api.get(f"{API}/{kind}").json()["configured"] is False


def test_oversized_or_malformed_keys_are_422_never_500(shop):
    huge = "-----BEGIN PUBLIC KEY-----\n" + "A" * 9000 + "\n-----END PUBLIC KEY-----"
    for body in (
        wechat_body(platform_keys=[{"serial": "PUB_KEY_ID_1", "public_key": huge}]),
        wechat_body(
            platform_keys=[
                {
                    "serial": "PUB_KEY_ID_0001",
                    "public_key": "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----",
                }
            ]
        ),
        wechat_body(platform_keys=[{"serial": "PUB_KEY_ID_0001", "public_key": "证书"}]),
        {
            "secrets": {
                "merchant_private_key": "-----BEGIN PRIVATE KEY-----\n\u00e9\n-----END PRIVATE KEY-----"
            }
        },
        {"secrets": {"merchant_private_key": private_pem()[:200]}},
    ):
        r = shop.api.put(f"{API}/wechat", json=body)
        assert r.status_code == 422, r.text


def test_an_unknown_kind_is_not_found(shop):
    assert shop.api.put(f"{API}/paypal", json={"enabled": True}).status_code == 404
    assert shop.api.get(f"{API}/bank/static-code").status_code == 404


# --- who may ----------------------------------------------------------------------------------------


def test_recorders_read_managers_change_and_others_are_refused(runtime, shop):
    # given an agent (payments.record), a member holding only payments.manage, and one with neither
    agent = make_member(runtime, shop, role="agent")
    manager = make_member(runtime, shop, permissions=["payments.manage"])
    nobody = make_member(runtime, shop, permissions=["orders.read"])

    # then the agent reads but cannot change, the manager does both, the other neither
    assert agent.get(API).status_code == 200
    r = agent.put(f"{API}/bank", json={"settings": BANK})
    assert r.status_code == 403 and r.json()["error"]["details"]["permission"] == "payments.manage"
    assert manager.get(API).status_code == 200
    assert manager.put(f"{API}/bank", json={"settings": BANK}).status_code == 200
    r = nobody.get(API)
    assert r.status_code == 403 and r.json()["error"]["details"]["permission"] == "payments.record"


def test_another_shop_sees_none_of_it(shop, other_shop):
    # given a shop with bank transfer and a payment code
    shop.api.put(f"{API}/bank", json={"enabled": True, "settings": BANK})
    assert shop.api.put(f"{API}/wechat/static-code", files={"file": ("c.png", png())}).status_code == 200

    # then another shop's staff see their own, empty methods and no code
    theirs = {m["kind"]: m for m in other_shop.api.get(API).json()["items"]}
    assert theirs["bank"]["configured"] is False and theirs["bank"]["settings"] == {}
    assert other_shop.api.get(f"{API}/wechat/static-code").status_code == 404


# --- the static code ----------------------------------------------------------------------------------


def test_a_payment_code_is_reencoded_without_metadata_and_served_to_staff(shop):
    # given a code image carrying EXIF (a phone's screenshot)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    sent = png((300, 300), "JPEG", exif=exif.tobytes())

    # when it is uploaded for WeChat Pay (not set up yet)
    r = shop.api.put(f"{API}/wechat/static-code", files={"file": ("code.jpg", sent)})

    # then the method exists, off, with the code; the stored image has no metadata
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["configured"] is True and out["enabled"] is False
    assert out["static_code"]["width"] == 300
    image = shop.api.get(out["static_code"]["url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"  # lossless
    assert image.headers["x-content-type-options"] == "nosniff"
    assert b"PhoneMaker" not in image.content
    assert "static_code" not in out["settings"]

    # and removing it keeps the method
    r = shop.api.delete(f"{API}/wechat/static-code")
    assert r.status_code == 200 and r.json()["static_code"] is None and r.json()["configured"] is True
    assert shop.api.get(f"{API}/wechat/static-code").status_code == 404


def test_uploads_that_are_not_a_png_jpeg_or_webp_or_too_large_are_refused(shop):
    # a text file, a GIF, a fake PNG, a file over the limit; a bank transfer has no code
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (4 * 1024 * 1024 + 10)
    cases = [
        ("wechat", ("c.png", b"just some text"), 422, "payment_method.code_not_image"),
        ("wechat", ("c.gif", png(fmt="GIF")), 422, "payment_method.code_not_image"),
        ("alipay", ("c.png", big), 413, "attachment.too_large"),
        ("bank", ("c.png", png()), 404, "payment_method.not_found"),
    ]
    for kind, file, status, code in cases:
        r = shop.api.put(f"{API}/{kind}/static-code", files={"file": file})
        assert r.status_code == status, (code, r.text[:200])
        assert r.json()["error"]["code"] == code
    assert all(not m["configured"] for m in shop.api.get(API).json()["items"])


def test_the_shops_customers_fetch_its_code_and_no_one_else(app, shop, other_shop):
    # given a shop's Alipay code, switched on, and a customer of it and one of another shop
    assert shop.api.put(f"{API}/alipay/static-code", files={"file": ("c.png", png())}).status_code == 200
    assert shop.api.put(f"{API}/alipay", json={"enabled": True}).status_code == 200
    mine = guest_client(app, shop, "王五", "13800001111")
    stranger = guest_client(app, other_shop, "赵六", "13800002222")
    url = f"/s/{shop.slug}/api/payment-codes/alipay"

    # then the shop's customer fetches it, the other shop's customer and nobody are refused
    assert mine.get(url).status_code == 200
    assert mine.get(url).headers["content-type"] == "image/png"
    assert stranger.get(url).status_code == 401
    assert stranger.get(f"/s/{other_shop.slug}/api/payment-codes/alipay").status_code == 404
    from fastapi.testclient import TestClient

    assert TestClient(app).get(url).status_code == 401

    # and once switched off, not even the shop's customers see it
    shop.api.put(f"{API}/alipay", json={"enabled": False})
    assert mine.get(url).status_code == 404


def test_shop_payment_options_lists_what_a_customer_may_see(runtime, shop):
    # given bank transfer on, WeChat Pay on with a code, Alipay on with nothing, a gateway on
    shop.api.put(f"{API}/bank", json={"enabled": True, "settings": BANK})
    shop.api.put(f"{API}/wechat/static-code", files={"file": ("c.png", png())})
    shop.api.put(f"{API}/wechat", json={"enabled": True})
    shop.api.put(f"{API}/alipay", json={"enabled": True, "settings": {"app_id": "2021000123456789"}})
    shop.api.put(
        f"{API}/gateway", json={"enabled": True, "settings": {"name": "g"}, "secrets": {"hmac_secret": HMAC}}
    )

    # when the customer's side asks
    with runtime.db.read() as session:
        options = shop_payment_options(session, shop.id)

    # then it is plain data: bank details, the code's address on the shop page, nothing secret
    by_kind = {o["kind"]: o for o in options}
    assert set(by_kind) == {"bank", "wechat"}
    assert by_kind["bank"]["bank"] == BANK and by_kind["bank"]["static_code_url"] is None
    assert by_kind["wechat"]["static_code_url"].startswith(f"/s/{shop.slug}/api/payment-codes/wechat?v=")
    assert by_kind["wechat"]["native"] is False and by_kind["wechat"]["label"] == "WeChat Pay"
    assert HMAC not in str(options)


def test_the_demo_shop_offers_bank_transfer_and_a_drawn_payment_code(runtime, app, shop):
    # given the demo's payment methods seeded onto a shop
    from shangliao.demo.payments import BANK as DEMO_BANK
    from shangliao.demo.payments import seed_payments

    seed_payments(runtime, shop.actor)

    # then a customer is offered the bank details and the WeChat Pay code, which is a real image
    with runtime.db.read() as session:
        by_kind = {o["kind"]: o for o in shop_payment_options(session, shop.id)}
    assert by_kind["bank"]["bank"]["account_number"] == DEMO_BANK["account_number"]
    guest = guest_client(app, shop, "演示顾客", "13800003333")
    image = guest.get(by_kind["wechat"]["static_code_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size[0] >= 200


# --- any input ----------------------------------------------------------------------------------------

FIELDS = {
    "wechat": ["mchid", "appid", "merchant_serial", "platform_keys"],
    "alipay": ["app_id", "seller_id", "alipay_public_key"],
    "bank": ["account_name", "bank", "account_number", "branch"],
    "gateway": ["name"],
}
SECRETS = {
    "wechat": ["apiv3_key", "merchant_private_key"],
    "alipay": ["app_private_key"],
    "bank": [],
    "gateway": ["hmac_secret"],
}


def junk_text():
    from hypothesis import strategies as st

    pem = st.sampled_from(
        [
            "-----BEGIN PUBLIC KEY-----\n",
            "-----BEGIN CERTIFICATE-----\n",
            "-----BEGIN PRIVATE KEY-----\n",
            "MIIB",
            "",
        ]
    )
    return st.one_of(
        st.text(max_size=80),
        st.builds(lambda head, body: head + body, pem, st.text(alphabet="AZaz09+/=\n 证", max_size=120)),
    )


@pytest.mark.parametrize("kind", list(FIELDS))
def test_no_body_makes_a_server_error_and_a_refusal_stores_nothing(shop, kind):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    value = st.one_of(
        junk_text(),
        st.integers(),
        st.none(),
        st.lists(st.fixed_dictionaries({"public_key": junk_text()}), max_size=2),
    )
    bodies = st.fixed_dictionaries(
        {},
        optional={
            "enabled": st.one_of(st.booleans(), st.text(max_size=3)),
            "settings": st.dictionaries(st.sampled_from([*FIELDS[kind], "extra"]), value, max_size=4),
            "secrets": st.dictionaries(
                st.sampled_from([*SECRETS[kind], "extra"]), st.one_of(junk_text(), st.none()), max_size=2
            ),
        },
    )

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies)
    def run(body):
        # when any body is sent
        before = shop.api.get(f"{API}/{kind}").json()
        r = shop.api.put(f"{API}/{kind}", json=body)
        # then it is answered (saved, or refused with a code) and never with a 500
        assert r.status_code in (200, 422), r.text
        if r.status_code == 422:
            assert r.json()["error"]["code"].startswith(("payment_method.", "request."))
            assert shop.api.get(f"{API}/{kind}").json() == before

    run()
