"""A local stand-in for WeChat Pay's and Alipay's order APIs (an outside service, not our code):
a tiny HTTP server that checks each request's signature with the test's merchant key, as the
provider would, and answers like the provider (a native ``code_url`` signed with the test's
WeChat Pay platform key under ``Wechatpay-Serial``, a precreated ``qr_code`` signed with the test's
"Alipay" key) or, when a test says so, with an error, garbage, a forged signature or silence.

``configure_methods`` gives a shop WeChat Pay, Alipay and bank transfer with those keys."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shangliao.core import clock
from shangliao.payments import native, wechat
from shangliao.payments.methods import seal_secrets
from shangliao.payments.models import PaymentMethod


def _pem_pair() -> tuple[rsa.RSAPrivateKey, str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return key, private, public


# The merchant's key (WeChat Pay merchant API key, Alipay app key) and Alipay's own key, made once.
MERCHANT_KEY, MERCHANT_PRIVATE, MERCHANT_PUBLIC = _pem_pair()
ALIPAY_KEY, ALIPAY_PRIVATE, ALIPAY_PUBLIC = _pem_pair()
MCHID, APPID, SERIAL = "1900000109", "wxd678efh567hg6787", "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
ALIPAY_APP_ID, SELLER_ID = "2021000123456789", "2088102147948060"
# The WeChat Pay platform key (its public half in the method's platform_keys) signs its answers.
PLATFORM_SERIAL, PLATFORM_KEY = "PUB_KEY_ID_0114", ALIPAY_KEY
# Where tests say the server is reached from outside (config.py public_base_url).
PUBLIC_BASE_URL = "https://shop.example.test"
BANK = {
    "account_name": "杭州小铺商贸有限公司",
    "bank": "招商银行",
    "account_number": "6214 8312 3456 7890",
    "branch": "杭州西湖支行",
}


def _verifies(public_key, message: bytes, signature_b64: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature_b64), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def _auth_fields(header: str) -> dict[str, str]:
    scheme, _, rest = header.partition(" ")
    if scheme != "WECHATPAY2-SHA256-RSA2048":
        return {}
    fields = {}
    for part in rest.split(","):
        name, _, value = part.partition("=")
        fields[name.strip()] = value.strip().strip('"')
    return fields


@dataclass
class FakeProviders:
    """What the fake answers (``mode``: ok | error | garbage | slow | tampered | forged) and what it
    saw. ``forged``: WeChat Pay's answer signed by a key that is not the platform's."""

    url: str = ""
    mode: str = "ok"
    delay: float = 2.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)  # the code_url / qr_code handed out

    @property
    def calls(self) -> int:
        return len(self.requests)

    # --- WeChat Pay -----------------------------------------------------------------------------

    def wechat(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, dict[str, str]]:
        status, answer = self._wechat(path, headers, body)
        return status, answer, self._wechat_signed(answer)

    def _wechat_signed(self, answer: bytes) -> dict[str, str]:
        """The headers WeChat Pay signs an answer with (payments/wechat.py checks them)."""
        timestamp, nonce = str(int(clock.now().timestamp())), secrets.token_hex(16)
        key = MERCHANT_KEY if self.mode == "forged" else PLATFORM_KEY
        signature = key.sign(
            wechat.signed_message(timestamp, nonce, answer), padding.PKCS1v15(), hashes.SHA256()
        )
        return {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": base64.b64encode(signature).decode(),
            "Wechatpay-Serial": PLATFORM_SERIAL,
        }

    def _wechat(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        fields = _auth_fields(headers.get("authorization", ""))
        message = native.wechat_message(
            "POST", path, fields.get("timestamp", ""), fields.get("nonce_str", ""), body.decode()
        )
        signed = _verifies(MERCHANT_KEY.public_key(), message, fields.get("signature", ""))
        data = json.loads(body)
        self.requests.append({"provider": "wechat", "signed": signed, "auth": fields, "body": data})
        if not signed or fields.get("mchid") != MCHID or fields.get("serial_no") != SERIAL:
            return 401, json.dumps({"code": "SIGN_ERROR", "message": "签名错误"}).encode()
        if self.mode == "error":
            return 400, json.dumps({"code": "PARAM_ERROR", "message": "参数错误"}).encode()
        if self.mode == "garbage":
            return 200, b"<html>gateway timeout</html>"
        code_url = f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(8)}"
        self.answered.append(code_url)
        return 200, json.dumps({"code_url": code_url}).encode()

    # --- Alipay ------------------------------------------------------------------------------------

    def alipay(self, body: bytes) -> tuple[int, bytes]:
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        signed = _verifies(MERCHANT_KEY.public_key(), native.alipay_content(params), params.get("sign", ""))
        biz = json.loads(params.get("biz_content", "{}"))
        self.requests.append({"provider": "alipay", "signed": signed, "params": params, "biz": biz})
        if not signed or params.get("app_id") != ALIPAY_APP_ID:
            result = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"}
        elif self.mode == "error":
            result = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_HAS_CLOSE"}
        else:
            qr = f"https://qr.alipay.com/{secrets.token_urlsafe(8)}"
            self.answered.append(qr)
            result = {
                "code": "10000",
                "msg": "Success",
                "out_trade_no": biz.get("out_trade_no"),
                "qr_code": qr,
            }
        inner = json.dumps(result, ensure_ascii=False)
        sign = base64.b64encode(ALIPAY_KEY.sign(inner.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
        if self.mode == "tampered":
            inner = inner.replace("https://qr.alipay.com/", "https://qr.evil.example/")
        return 200, f'{{"{native.ALIPAY_ANSWER_KEY}": {inner}, "sign": "{sign}"}}'.encode()


@contextmanager
def fake_providers() -> Iterator[FakeProviders]:
    state = FakeProviders()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if state.mode == "slow":
                time.sleep(state.delay)
            headers = {k.lower(): v for k, v in self.headers.items()}
            signed: dict[str, str] = {}
            if self.path == native.WECHAT_NATIVE_PATH:
                status, answer, signed = state.wechat(self.path, headers, body)
            elif self.path == "/gateway.do":
                status, answer = state.alipay(body)
            else:
                status, answer = 404, b"{}"
            try:
                self.send_response(status)
                for name, value in signed.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the caller gave up (a timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def point_settings_at(settings, fake: FakeProviders) -> dict[str, str]:
    """Aim the runtime's provider URLs at the fake and set the public address notify URLs are built
    from (config.py ``public_base_url``); answers the old values to put back."""
    old = {
        "wechatpay_api_base": settings.wechatpay_api_base,
        "alipay_gateway": settings.alipay_gateway,
        "public_base_url": settings.public_base_url,
    }
    settings.wechatpay_api_base = fake.url
    settings.alipay_gateway = fake.url + "/gateway.do"
    settings.public_base_url = PUBLIC_BASE_URL
    return old


def static_code(kind: str) -> dict[str, Any]:
    """A 收款码 image's record as the settings page keeps it (the file itself is not needed here)."""
    digest = hashlib.sha256(kind.encode()).hexdigest()
    return {"key": f"codes/{kind}.png", "sha256": digest, "mime": "image/png", "width": 8, "height": 8}


def configure_methods(
    runtime, shop_id: int, *, kinds=("wechat", "alipay", "bank"), static_codes: bool = True
) -> None:
    """The shop takes WeChat Pay and Alipay (merchant API credentials complete, a 收款码 image each)
    and bank transfer; written as the settings page stores them (payments/methods.py)."""
    rows = {
        "wechat": (
            {
                "mchid": MCHID,
                "appid": APPID,
                "merchant_serial": SERIAL,
                "platform_keys": [{"serial": PLATFORM_SERIAL, "public_key": ALIPAY_PUBLIC}],
            },
            {"apiv3_key": "a" * 32, "merchant_private_key": MERCHANT_PRIVATE},
        ),
        "alipay": (
            {"app_id": ALIPAY_APP_ID, "seller_id": SELLER_ID, "alipay_public_key": ALIPAY_PUBLIC},
            {"app_private_key": MERCHANT_PRIVATE},
        ),
        "bank": (dict(BANK), {}),
    }
    with runtime.db.write() as session:
        for kind in kinds:
            settings, secret = rows[kind]
            settings = {**settings, "secrets_set": sorted(secret)}  # what the settings page records
            if static_codes and kind in ("wechat", "alipay"):
                settings["static_code"] = static_code(kind)
            session.add(
                PaymentMethod(
                    shop_id=shop_id,
                    kind=kind,
                    enabled=True,
                    settings=settings,
                    secrets_enc=seal_secrets(runtime.keyring, secret),
                )
            )
