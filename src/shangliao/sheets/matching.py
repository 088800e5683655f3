"""Which of the shop's variants a quote sheet's row means: by SKU, then by name and spec.

A merchant's sheet names a product the way the merchant does: the SKU when they keep one (SKU-2203,
any case), else a name that may be the catalog's title, an alias or a shortening of it (纯棉T恤 for
棉知 纯棉圆领短袖T恤 男女同款), and a spec cell written in any of the usual shapes (红色 M, 红色/M,
颜色:红色;尺码:M, M码). The order of trust:

1. the SKU, exactly (case aside); an unknown SKU falls back to the name, which the preview shows;
2. the whole name equal to a product's title or alias (width and case aside);
3. the name and spec read by the chat recogniser (``intent``), which knows the catalog's words,
   their tails (T恤 names 纯棉圆领短袖T恤) and the spellings of option values (红 for 红色, 2公斤).

The product found, the spec cell picks the variant: every option value of the variant must be
named by a word of the spec (or of the name). A product with one variant needs none. A row the
matcher is not sure of is refused with its reason, never guessed: the preview shows it and the
merchant writes the SKU or the full name. Measured on two labelled sets, one written blind
(tests/test_quote_matching.py; the figures are in docs/architecture.md, "Data").
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shangliao.intent.catalog import Catalog, CatalogVariant, spellings_of_value
from shangliao.intent.recognise import recognise
from shangliao.intent.text import fold

BY_SKU, BY_NAME, BY_WORDS = "sku", "name", "words"
NO_PRODUCT = "sheet.quote.no_product"
WHICH_OPTION = "sheet.quote.which_option"
NO_SUCH_OPTION = "sheet.quote.no_such_option"
_SPEC_SPLIT = re.compile(r"[\s/,，;；|、+&＋]+")
_OPTION_NAMED = re.compile(r"^[^:：=]{1,8}[:：=]")  # 颜色:红色 → 红色
# A sheet's spec often adds the kind of value the catalog leaves off (巧克力味 for 巧克力, 藏青色 for
# 藏青, 42码 for 42): such a word also counts without it.
_KIND_SUFFIX = re.compile(r"(?<=.)(味|色|款|码|号|装)$")


@dataclass(frozen=True)
class Match:
    variant_id: int | None
    product_id: int | None
    how: str | None  # BY_SKU, BY_NAME, BY_WORDS; None when nothing was matched
    problem: str | None = None  # NO_PRODUCT, WHICH_OPTION, NO_SUCH_OPTION


def _folded(text: str) -> str:
    return fold(text).text.strip()


def spec_parts(text: str) -> list[set[str]]:
    """Each word of a spec cell with its spellings, option names dropped (颜色:红色;尺码:M →
    [{红色, 红}, {m}])."""
    parts = []
    for part in _SPEC_SPLIT.split(_folded(text)):
        value = _OPTION_NAMED.sub("", part).strip()
        if value:
            parts.append({value, _KIND_SUFFIX.sub("", value)})
    return parts


def spec_words(text: str) -> set[str]:
    return set().union(*spec_parts(text))


class Matcher:
    """Built once per import from the shop's variants on offer and their SKUs."""

    def __init__(self, variants: Iterable[CatalogVariant], skus: Mapping[str, int]) -> None:
        self.catalog = Catalog(variants)
        self.by_id = {v.variant_id: v for vs in self.catalog.variants.values() for v in vs}
        self.skus = {sku.upper(): vid for sku, vid in skus.items() if vid in self.by_id}
        self.titles: dict[str, set[int]] = defaultdict(set)
        for product_id, variants_of in self.catalog.variants.items():
            first = variants_of[0]
            for title in (first.product_name, *first.aliases):
                self.titles[_folded(title)].add(product_id)

    def match(self, sku: str | None, name: str | None, spec: str | None) -> Match:
        if sku and (found := self.skus.get(sku.strip().upper())) is not None:
            return Match(found, self.by_id[found].product_id, BY_SKU)
        name, spec = (name or "").strip(), (spec or "").strip()
        if not name:
            return Match(None, None, None, NO_PRODUCT)
        named = self.titles.get(_folded(name), set())
        if len(named) == 1:
            return self._variant_of(next(iter(named)), spec, "", BY_NAME)
        # The recogniser reads chat, where a line is an order only when asked for; a sheet's row is
        # asked for by being there, so it is read as one (要 …).
        products = {line.product_id for line in recognise(f"要 {name} {spec}", self.catalog).lines}
        if len(products) != 1 or None in products:
            return Match(None, None, None, NO_PRODUCT)
        return self._variant_of(products.pop(), spec, name, BY_WORDS)

    def _variant_of(self, product_id: int, spec: str, name: str, how: str) -> Match:
        """The one variant of ``product_id`` whose every option value the spec (or, failing that,
        the name) names; a product of one variant needs no spec."""
        variants = self.catalog.variants[product_id]
        if len(variants) == 1 and not variants[0].spec:
            return Match(variants[0].variant_id, product_id, how)
        for words in (spec_words(spec), spec_words(f"{spec} {name}") | _inner_words(name, variants)):
            fitting = [v for v in variants if _names_all(words, v)]
            if len(fitting) == 1:
                return Match(fitting[0].variant_id, product_id, how)
        # 红色 for a product of colours and sizes: which size? 粉色 when none is pink: no such one.
        unknown = any(not _names_some_option(part, variants) for part in spec_parts(spec))
        return Match(None, product_id, None, NO_SUCH_OPTION if unknown else WHICH_OPTION)


def _spellings(value: str) -> set[str]:
    return spellings_of_value(_folded(value))


def _names_all(words: set[str], variant: CatalogVariant) -> bool:
    return bool(variant.spec) and all(words & _spellings(value) for value in variant.spec.values())


def _names_some_option(words: set[str], variants: tuple[CatalogVariant, ...]) -> bool:
    return any(words & _spellings(value) for v in variants for value in v.spec.values())


def _inner_words(name: str, variants: tuple[CatalogVariant, ...]) -> set[str]:
    """Option values written inside the name cell without a space (白色T恤 → 白色)."""
    folded = _folded(name)
    return {
        spelling
        for v in variants
        for value in v.spec.values()
        for spelling in _spellings(value)
        if len(spelling) >= 2 and spelling in folded
    }
