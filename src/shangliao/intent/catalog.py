"""The shop's catalog as order-intent recognition sees it: word indexes built once per shop.

Words that name a product:
- the product name and its aliases (strongest);
- tails of them, at least two characters (T恤 from 纯棉圆领T恤, 泉水 from 矿泉水): Chinese nouns put
  the head last, so a tail still names the thing;
- heads of them (矿泉, 玻尿酸): a weaker hint, since a head is often just a modifier;
- their pinyin, full (kuangquanshui, tixu) and initials (kqs), as separate indexes.
A word claimed by several products keeps them all; the message decides (a variant word may pick one).

Words that name a variant come from option values with the spellings customers use: 红色/红,
M/M码/M号, 30/30码/腰围30, 500ml/500毫升/500, 5斤装/5斤, 番茄味/番茄, 五香/五香味.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from shangliao.intent.text import fold, initials, is_hanzi, pinyin_spellings
from shangliao.intent.titles import NEAR_SYNONYMS, brands_of, near_synonyms, read_title

NAME, TAIL, HEAD = 1.0, 0.85, 0.6
MIN_PINYIN_LETTERS = 3

_MEASURE = re.compile(r"^(\d+(?:\.\d+)?)(ml|l|kg|g)$")
_COUNTED = re.compile(r"^([1-9])([\u4e00-\u9fff]{1,2})$")
_SAID_DIGITS = {1: ("一",), 2: ("二", "两"), 3: ("三",), 4: ("四",), 5: ("五",), 6: ("六",)}
_SAID_DIGITS.update({7: ("七",), 8: ("八",), 9: ("九",)})
_MEASURE_WORDS = {"ml": ("毫升",), "l": ("升",), "kg": ("公斤", "千克"), "g": ("克",)}


@dataclass(frozen=True)
class CatalogVariant:
    variant_id: int
    product_id: int
    product_name: str  # e.g. "纯棉圆领T恤"
    spec: dict[str, str]  # option values, e.g. {"颜色": "红色", "尺码": "M"}; {} for a single-SKU product
    aliases: tuple[str, ...] = ()  # optional extra names, e.g. ("T恤", "短袖")


def variant_from_dict(row: dict) -> CatalogVariant:
    """A CatalogVariant from its JSON shape (as in tests/data/intent_catalog.json)."""
    return CatalogVariant(
        variant_id=int(row["variant_id"]),
        product_id=int(row["product_id"]),
        product_name=str(row["product_name"]),
        spec={str(k): str(v) for k, v in (row.get("spec") or {}).items()},
        aliases=tuple(str(a) for a in row.get("aliases") or ()),
    )


@dataclass(frozen=True)
class SpecWord:
    product_id: int
    option: str
    value: str


@dataclass(frozen=True)
class Meaning:
    """What one word of the lexicon stands for."""

    products: tuple[tuple[int, float], ...] = ()  # (product_id, strength)
    specs: tuple[SpecWord, ...] = ()


@dataclass(frozen=True)
class PinyinWord:
    spelling: str
    word: str  # the catalog word it spells, to tell a typo (体恤) from a different word
    meaning: Meaning


class Catalog:
    """Indexes over one shop's variants; build once, reuse for every message."""

    def __init__(self, variants: Iterable[CatalogVariant]) -> None:
        by_product: dict[int, list[CatalogVariant]] = defaultdict(list)
        for variant in variants:
            by_product[variant.product_id].append(variant)
        self.variants: dict[int, tuple[CatalogVariant, ...]] = {p: tuple(v) for p, v in by_product.items()}

        product_words = _product_words(self.variants)
        spec_words = _spec_words(self.variants)
        self.lexicon: dict[str, Meaning] = {}
        for word in product_words.keys() | spec_words.keys():
            self.lexicon[word] = Meaning(
                _strongest(product_words.get(word, {})), tuple(spec_words.get(word, ()))
            )
        lengths: dict[str, set[int]] = defaultdict(set)
        for word in self.lexicon:
            lengths[word[0]].add(len(word))
        self._lengths = {first: tuple(sorted(n, reverse=True)) for first, n in lengths.items()}

        self.pinyin: dict[str, list[PinyinWord]] = defaultdict(list)  # by spelling
        self.initials: dict[str, Meaning] = {}
        for word, meaning in self.lexicon.items():
            if not any(is_hanzi(ch) for ch in word):
                continue
            whole_name = any(strength == NAME for _, strength in meaning.products)
            for spelling in pinyin_spellings(word, in_context=whole_name):
                if len(spelling) >= MIN_PINYIN_LETTERS:
                    self.pinyin[spelling].append(PinyinWord(spelling, word, meaning))
            short = initials(word)
            if len(short) >= 2 and meaning.products and len(word) == len(short):
                self.initials.setdefault(short, meaning)
        spelled_lengths: dict[str, set[int]] = defaultdict(set)
        for spelling in self.pinyin:
            spelled_lengths[spelling[:2]].add(len(spelling))
        self._spelled_lengths = {
            first: tuple(sorted(n, reverse=True)) for first, n in spelled_lengths.items()
        }

    def spelled_at(self, letters: str, index: int, ends: bytes) -> Iterator[PinyinWord]:
        """Catalog words spelled in ``letters`` from ``index`` to an allowed end, longest first."""
        for length in self._spelled_lengths.get(letters[index : index + 2], ()):
            end = index + length
            if end < len(ends) and ends[end]:
                yield from self.pinyin.get(letters[index:end], ())

    def lookup(self, text: str, pos: int) -> tuple[int, Meaning] | None:
        """The longest lexicon word starting at ``pos`` (whole ASCII words only), as (end, meaning)."""
        for length in self._lengths.get(text[pos], ()):
            end = pos + length
            if end <= len(text):
                meaning = self.lexicon.get(text[pos:end])
                if meaning is not None and _ascii_bounded(text, pos, end):
                    return end, meaning
        return None

    def resolve_variant(self, product_id: int, specs: Iterable[SpecWord]) -> int | None:
        """The one variant the words pick; None when they pick none or several."""
        variants = self.variants[product_id]
        if len(variants) == 1:
            return variants[0].variant_id
        chosen = {spec.option: spec.value for spec in specs if spec.product_id == product_id}
        if not chosen:
            return None
        matches = [v for v in variants if all(v.spec.get(o) == value for o, value in chosen.items())]
        return matches[0].variant_id if len(matches) == 1 else None

    def variant_count(self, product_id: int) -> int:
        return len(self.variants[product_id])


def _ascii_bounded(text: str, start: int, end: int) -> bool:
    """An ASCII word must not be cut out of a longer one (m in ml, 30 in 330, xl in xxl)."""
    first, last = text[start], text[end - 1]
    if first.isascii() and first.isalnum() and start:
        before = text[start - 1]
        if before.isascii() and (before.isalnum() or (before == "." and first.isdigit())):
            return False
    if last.isascii() and last.isalnum() and end < len(text):
        after = text[end]
        if after.isascii() and (after.isalnum() or (after == "." and last.isdigit())):
            return False
    return True


def _strongest(claims: dict[int, float]) -> tuple[tuple[int, float], ...]:
    if not claims:
        return ()
    best = max(claims.values())
    return tuple((product, strength) for product, strength in claims.items() if strength == best)


def _product_words(variants: dict[int, tuple[CatalogVariant, ...]]) -> dict[str, dict[int, float]]:
    words: dict[str, dict[int, float]] = defaultdict(dict)

    def claim(word: str, product: int, strength: float) -> None:
        if (len(word) >= 2 or word in NEAR_SYNONYMS) and strength > words[word].get(product, 0.0):
            words[word][product] = strength

    def claim_name(name: str, product: int) -> None:
        claim(name, product, NAME)
        for cut in range(1, len(name) - 1):
            claim(name[cut:], product, TAIL)
            claim(name[: len(name) - cut], product, HEAD)

    titles = {product: fold(pv[0].product_name).text.strip() for product, pv in variants.items()}
    brands = brands_of(titles.values())
    for product, product_variants in variants.items():
        title = read_title(titles[product], brands)
        claim(titles[product], product, NAME)  # the whole title, as copied from the listing
        claim_name(title.noun, product)
        for word in near_synonyms(title.noun):
            claim(word, product, TAIL)
        for word in (title.brand, *title.others):  # hints: 禾田 (its milk), 鸡肉味 (the cat food)
            if word:
                claim(word, product, HEAD)
        aliases = {fold(a).text.strip() for v in product_variants for a in v.aliases}
        for alias in aliases - {""}:
            claim_name(alias, product)
    return words


def _spec_words(variants: dict[int, tuple[CatalogVariant, ...]]) -> dict[str, set[SpecWord]]:
    words: dict[str, set[SpecWord]] = defaultdict(set)
    for product, product_variants in variants.items():
        for variant in product_variants:
            for option, value in variant.spec.items():
                spec = SpecWord(product, option, value)
                for spelling in spellings_of_value(value.strip().lower()):
                    words[spelling].add(spec)
    return words


def spellings_of_value(value: str) -> set[str]:
    """How customers write an option value: 红色 → 红; M → m码; 30 → 30码; 500ml → 500毫升, 500."""
    spellings = {value}
    measure = _MEASURE.match(value)
    if value.endswith(("色", "装")) and len(value) >= 2:
        spellings.add(value[:-1])
    elif value.endswith("味"):
        if len(value) >= 3:
            spellings.add(value[:-1])
    elif all(is_hanzi(ch) for ch in value) and len(value) == 2 and not value.endswith("号"):
        spellings.add(value + "味")  # flavours written without 味: 五香 → 五香味
    if value.isascii() and value.isalpha() and len(value) <= 4:  # letter sizes
        spellings |= {value + "码", value + "号"}
    elif value.isdigit():  # number sizes
        spellings |= {value + "码", value + "号", "腰围" + value, value + "腰"}
    elif _COUNTED.match(value):  # 1段 → 一段, 2米 → 二米 / 两米: the way it is said
        number, rest = _COUNTED.match(value).groups()
        spellings |= {digit + rest for digit in _SAID_DIGITS[int(number)]}
    elif measure:
        number, unit = measure.groups()
        spellings |= {number + word for word in _MEASURE_WORDS[unit]}
        if unit in ("ml", "l"):  # "330的" for a 330ml can; weights are not dropped that way
            spellings.add(number)
    return spellings
