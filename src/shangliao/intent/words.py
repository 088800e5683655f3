"""Finding words in a folded chat message: catalog words, quantities, pinyin, initials.

Written words come first (longest catalog word at each position, or a quantity when it is longer;
a tie goes to the catalog word, remembering the quantity it could also be: 5斤 is an apple box size
and, for oranges, a weight). Then product names typed in pinyin or with a homophone typo replace
shorter written matches they cover (矿泉谁 over 矿泉), and pinyin initials typed alone (kqs) fill
what is left. Joining words (和, 再来…) are found last, where no other word is.
"""

from __future__ import annotations

from dataclasses import dataclass

from shangliao.intent.catalog import HEAD, NAME, Catalog, Meaning
from shangliao.intent.cues import CONJUNCTION
from shangliao.intent.numbers import QuantityMatch, match_quantity, may_start_quantity
from shangliao.intent.text import PinyinView, is_hanzi, pinyin_view

PINYIN, INITIALS = 0.85, 0.7  # how much a pinyin or initials match is trusted next to the written word
NO_MEANING = Meaning()


@dataclass
class Word:
    kind: str  # "P" product, "S" variant word, "Q" quantity, "B" joining word
    start: int
    end: int
    meaning: Meaning = NO_MEANING
    quantity: QuantityMatch | None = None  # for "S": the quantity it could also be ("5斤", "30")
    trust: float = 1.0


def find_words(text: str, catalog: Catalog) -> list[Word]:
    written = _with_brands_joined(text, _glued_out(text, _written_words(text, catalog)))
    words = _add_pinyin_words(text, catalog, written)
    taken = bytearray(len(text))
    for word in words:
        taken[word.start : word.end] = b"\1" * (word.end - word.start)
    words += _initials_words(text, catalog, taken)
    words += [
        Word("B", found.start(), found.end())
        for found in CONJUNCTION.finditer(text)
        if not any(taken[found.start() : found.end()])
    ]
    words.sort(key=lambda t: t.start)
    return words


def _written_words(text: str, catalog: Catalog) -> list[Word]:
    words, pos = [], 0
    while pos < len(text):
        found = catalog.lookup(text, pos)
        quantity = match_quantity(text, pos) if may_start_quantity(text[pos]) else None
        if found and (quantity is None or found[0] >= quantity.end):
            end, meaning = found
            if meaning.products:
                words.append(Word("P", pos, end, meaning))
            else:
                same = quantity if quantity and quantity.end == end else None
                words.append(Word("S", pos, end, meaning, same))
            pos = end
        elif quantity:
            words.append(Word("Q", pos, quantity.end, quantity=quantity))
            pos = quantity.end
        else:
            pos += 1
    return words


# What may stand right after a one-character noun ("水来一箱", "奶要两箱", "米和油"): a particle, an
# ordering verb or a joining word. Any other character makes it part of a longer word.
_AFTER_SHORT = set("的了吧啊呀嘛哦啦呢来要拿买订和跟与及再还也都就各给先")


def _glued_out(text: str, words: list[Word]) -> list[Word]:
    """One-character nouns (水, 奶, 米: see ``intent.titles.NEAR_SYNONYMS``) only where they stand
    alone: 酱油, 洗头水, 水果 and 奶茶 name something else."""
    ends = {word.end for word in words}
    starts = {word.start for word in words}
    kept = []
    for word in words:
        if word.kind == "P" and word.end - word.start == 1:
            before = text[word.start - 1] if word.start else " "
            after = text[word.end] if word.end < len(text) else " "
            alone_before = not is_hanzi(before) or before == "的" or word.start in ends
            alone_after = not is_hanzi(after) or after in _AFTER_SHORT or word.end in starts
            if not (alone_before and alone_after):
                continue
        kept.append(word)
    return kept


_BRAND_LINK = ("", "的", " ", "家的", "家")


def _with_brands_joined(text: str, words: list[Word]) -> list[Word]:
    """A weak word (a brand: 禾田, 启明) right before a product word of the same product is one
    word with it ("两箱禾田纯牛奶", "启明的耳机"), not an item of its own."""
    joined: list[Word] = []
    for word in words:
        before = joined[-1] if joined else None
        if (
            before is not None
            and before.kind == word.kind == "P"
            and all(strength <= HEAD for _, strength in before.meaning.products)
            and text[before.end : word.start] in _BRAND_LINK
        ):
            brand_of = {product for product, _ in before.meaning.products}
            shared = tuple(claim for claim in word.meaning.products if claim[0] in brand_of)
            if shared:
                joined[-1] = Word(
                    "P", before.start, word.end, Meaning(shared, word.meaning.specs), trust=word.trust
                )
                continue
        joined.append(word)
    return joined


def _add_pinyin_words(text: str, catalog: Catalog, words: list[Word]) -> list[Word]:
    """Product names in pinyin or with a homophone typo; they replace shorter written matches."""
    owner: list[Word | None] = [None] * len(text)
    for word in words:
        owner[word.start : word.end] = [word] * (word.end - word.start)
    view = pinyin_view(text)
    index, replaced = view.starts.find(1), []
    while 0 <= index < len(view.letters) - 2:
        found = _pinyin_at(text, catalog, view, index) if _may_start(view, owner, index) else None
        if found is None:
            index = view.starts.find(1, index + 1)  # matches begin only at syllable edges
            continue
        word, index = found
        covered = {id(t): t for t in owner[word.start : word.end] if t is not None}.values()
        if all(t.kind == "P" and t.end - t.start < word.end - word.start for t in covered):
            replaced.extend(covered)
            owner[word.start : word.end] = [word] * (word.end - word.start)
            words.append(word)
    return [t for t in words if not any(t is r for r in replaced)] if replaced else words


def _may_start(view: PinyinView, owner: list[Word | None], index: int) -> bool:
    """A pinyin match may not start inside a quantity, a variant word or a full product name."""
    inside = owner[view.origin(index)]
    return inside is None or (inside.kind == "P" and inside.meaning.products[0][1] < NAME)


def _pinyin_at(text: str, catalog: Catalog, view: PinyinView, index: int) -> tuple[Word, int] | None:
    for entry in catalog.spelled_at(view.letters, index, view.ends):
        end = index + len(entry.spelling)
        start, stop = view.origin(index), view.origin(end - 1) + 1
        if _plausible_spelling(text[start:stop], entry.word, bool(entry.meaning.products)):
            kind = "P" if entry.meaning.products else "S"
            return Word(kind, start, stop, entry.meaning, trust=PINYIN), end
    return None


def _plausible_spelling(written: str, word: str, names_product: bool) -> bool:
    if written == word:
        return False  # already found as written
    typed = all(ch.isascii() for ch in written)
    if not names_product:
        return typed  # variant words only from typed pinyin: hanzi homophones of them are too common
    if any(is_hanzi(ch) for ch in written) and not any(not is_hanzi(ch) for ch in written):
        # A pure-hanzi homophone must share a character or be long: 体恤 (T恤) yes, 建国 (坚果) no.
        return len(written) >= 3 or bool(set(written) & set(word))
    return True


def _initials_words(text: str, catalog: Catalog, taken: bytearray) -> list[Word]:
    found, pos = [], 0
    while pos < len(text):
        if not (text[pos].isascii() and text[pos].isalpha()):
            pos += 1
            continue
        end = pos
        while end < len(text) and text[end].isascii() and text[end].isalpha():
            end += 1
        meaning = catalog.initials.get(text[pos:end])
        after_digit = pos > 0 and text[pos - 1].isdigit()
        if meaning and not after_digit and not any(taken[pos:end]):
            found.append(Word("P", pos, end, meaning, trust=INITIALS))
        pos = end
    return found
