"""Translations: English msgids in code, Babel ``.po`` catalogs per locale, zh_CN by default.

Catalogs are read straight from the ``.po`` files at start-up, so there is no compile step to forget
on a fresh checkout. Each domain keeps its own file (``locale/zh_CN/LC_MESSAGES/orders.po`` …); all
files of a locale are merged.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

DEFAULT_LOCALE = "zh_CN"
SUPPORTED_LOCALES = ("zh_CN", "en")
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@cache
def catalog(locale: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as fh:
            po = read_po(fh, locale=locale)
        merged.update({m.id: m.string for m in po if m.id and m.string and not m.fuzzy})
    return merged


class Msg(str):
    """A parameter value that is itself a msgid (a status name, say): translated along with the text."""

    __slots__ = ()


class MsgList(tuple):
    """A parameter value that is a list of msgids (field names): each translated, joined the way
    the reader's language lists things ("省份、城市", "Province, City")."""

    __slots__ = ()


def _param(value: object, table: dict[str, str], locale: str) -> object:
    if isinstance(value, Msg):
        return table.get(value, value)
    if isinstance(value, MsgList):
        return ("、" if locale.startswith("zh") else ", ").join(table.get(v, v) for v in value) or "-"
    return value


def gettext(message: str, locale: str | None = None, **params: object) -> str:
    """Translate ``message`` into ``locale`` (or the request's locale) and fill ``{name}`` params."""
    locale = locale or current_locale.get()
    table = catalog(locale)
    text = table.get(message, message)
    if not params:
        return text
    return text.format(**{k: _param(v, table, locale) for k, v in params.items()})


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now (translated when shown)."""
    return message


def negotiate(accept_language: str | None) -> str:
    """Pick a supported locale from an Accept-Language header; Chinese unless English is preferred."""
    if not accept_language:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        lang, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((weight, lang.strip().lower()))
    for _, lang in sorted(ranked, key=lambda r: -r[0]):
        if lang.startswith("zh"):
            return "zh_CN"
        if lang.startswith("en"):
            return "en"
    return DEFAULT_LOCALE
