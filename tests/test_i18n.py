"""Every user-facing message marked with N_() has a Chinese translation with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_file

import shangliao
from shangliao.core.i18n import catalog, gettext, negotiate

SOURCE = Path(shangliao.__file__).parent
PLACEHOLDER = re.compile(r"\{(\w+)\}")


# Python marks text with N_(); console templates show it with _("…").
EXTRACTORS = (("*.py", "python", {"N_": None}), ("*.html", "jinja2.ext:babel_extract", {"_": None}))


def marked_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for pattern, method, keywords in EXTRACTORS:
        for path in sorted(SOURCE.rglob(pattern)):
            if "static" in path.parts:
                continue
            for lineno, message, _comments, _context in extract_from_file(
                method, str(path), keywords=keywords
            ):
                text = message[0] if isinstance(message, tuple) else message
                if text:
                    found.setdefault(text, f"{path.relative_to(SOURCE)}:{lineno}")
    return found


def test_every_marked_message_is_translated_to_chinese():
    zh = catalog("zh_CN")
    messages = marked_messages()
    assert len(messages) > 50
    missing = {m: where for m, where in messages.items() if m not in zh}
    assert missing == {}


def test_translations_keep_the_placeholders():
    zh = catalog("zh_CN")
    wrong = {
        m: zh[m]
        for m in marked_messages()
        if m in zh and set(PLACEHOLDER.findall(m)) != set(PLACEHOLDER.findall(zh[m]))
    }
    assert wrong == {}


def test_language_negotiation_defaults_to_chinese():
    assert negotiate(None) == "zh_CN"
    assert negotiate("en-US,en;q=0.9") == "en"
    assert negotiate("fr-FR, en;q=0.5") == "en"
    assert negotiate("zh-TW") == "zh_CN"
    assert gettext("No such order.", "en") == "No such order."
    assert gettext("No such order.", "zh_CN") == "订单不存在。"


def test_api_errors_follow_accept_language(shop):
    zh = shop.api.get("/api/v1/orders/999999999")
    en = shop.api.get("/api/v1/orders/999999999", headers={"Accept-Language": "en"})
    assert zh.json()["error"] == {"code": "order.not_found", "message": "订单不存在。", "details": {}}
    assert en.json()["error"]["message"] == "No such order."
