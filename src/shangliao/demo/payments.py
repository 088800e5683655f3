"""The demo shop's payment methods: bank transfer details and a WeChat Pay 收款码, so the customer's
side shows how to pay from the first order.

The code is drawn here with segno (no outside service, as the product draws every QR) and goes
through the pipeline a merchant's upload does (``payments/api.py`` ``store_code``: judged,
re-encoded, kept under a random key). It encodes a plain sentence, not a payee: it pays nobody.
"""

from __future__ import annotations

import secrets

import segno

from shangliao.auth.actor import Actor
from shangliao.chat.attachments import INCOMING, Upload
from shangliao.payments import settings as payment_settings
from shangliao.payments.api import store_code
from shangliao.payments.schemas import MethodIn
from shangliao.runtime import Runtime

BANK = {
    "account_name": "杭州小满杂货铺有限公司",
    "bank": "招商银行",
    "account_number": "6214 8301 0000 2026",
    "branch": "杭州西湖支行",
}
CODE_TEXT = "小满杂货铺 演示收款码 (demo only, not a real payee)"


def seed_payments(rt: Runtime, actor: Actor) -> None:
    """Bank transfer on with its details; WeChat Pay on with a static code image."""
    with rt.db.write() as session:
        payment_settings.do_put_method(
            session, actor, rt.keyring, _checked("bank", enabled=True, settings=BANK)
        )
    incoming = rt.settings.uploads_dir / INCOMING
    incoming.mkdir(parents=True, exist_ok=True)
    temp = incoming / f"{secrets.token_hex(16)}.png"
    try:
        segno.make(CODE_TEXT, error="m").save(str(temp), kind="png", scale=10, border=4)
        store_code(rt, actor, "wechat", Upload(temp=temp, filename="wechat-code.png"))
    finally:
        temp.unlink(missing_ok=True)
    with rt.db.write() as session:
        payment_settings.do_put_method(session, actor, rt.keyring, _checked("wechat", enabled=True))


def _checked(kind: str, **body) -> payment_settings.CheckedMethod:
    return payment_settings.check_method_in(kind, MethodIn(**body))
