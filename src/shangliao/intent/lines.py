"""Turning the words of a message into order lines, clause by clause.

Within a clause, words are grouped into items: a new item starts at a second product, a second
quantity, a joining word, or a variant word right after a quantity that closed an item
("原味两包番茄三包"). Each item becomes a line: its product (named; else the one its variant words
fit; else the one talked about just before), its variant words and its quantity. A quantity with
an unknown noun after it ("一个充电宝") is a line with no product, left for staff.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field

from shangliao.intent.catalog import HEAD, SpecWord
from shangliao.intent.cues import CONDITION, EACH, ClauseCues, negated_spans
from shangliao.intent.numbers import QuantityMatch
from shangliao.intent.text import is_hanzi
from shangliao.intent.words import Word

INFERRED, INHERITED, UNKNOWN = 0.7, 0.6, 0.3
# Characters that end the noun after a quantity: "两件就行" names nothing, "两个充电宝" does.
_FILLER = set("的了吧啊呀哈嘛呢吗哦噢喔啦嘞就行好先也都给我你要来拿谢过送发这那个")


@dataclass
class Line:
    product_id: int | None
    specs: list[SpecWord]
    quantity: QuantityMatch | None
    start: int
    end: int
    confidence: float
    named: bool  # the product was named in this item, not inferred
    variant_id: int | None = None
    pending: bool = False  # named without a quantity or an ordering word: an item if one follows


@dataclass
class State:
    word_starts: list[int]  # where each word found in the message starts, in order
    lines: list[Line] = field(default_factory=list)
    last_product: int | None = None  # the product talked about most recently, ordered or not


def read_clause(text: str, words: list[Word], span: tuple[int, int], cues: ClauseCues, state: State) -> None:
    start, end = span
    condition = text.rfind(CONDITION, start, end)
    main_start = condition + len(CONDITION) if condition >= 0 else start
    negated = negated_spans(text[start:end], start)
    usable = [
        t for t in words if t.start >= main_start and not any(s <= t.start and t.end <= e for s, e in negated)
    ]
    carried: list[Word] = []
    first_line = len(state.lines)
    pending: list[Line] = []  # named items waiting for a sign that this clause orders

    def says_no_noun(quantity: Word) -> bool:
        return not _unknown_noun_end(text, quantity.end, state.word_starts)

    for group in _group(usable, says_no_noun):
        group = carried + group
        carried = []
        if not any(t.kind in "PQ" for t in group):
            if not _refine_last_line(group, state):
                carried = group  # variant words before their product ("红色的 T恤一件")
            continue
        if says_no_noun(group[-1]) and _quantity_for_last_line(group, state):
            continue
        line = _line_from(text, group, cues, state)
        if line is None:
            continue
        if line.pending:
            pending.append(line)
            continue
        # A named item without a quantity is one when an item follows it: "防晒衣白色L码+防晒霜一支".
        state.lines.extend(pending)
        pending = []
        state.lines.append(line)
        if line.product_id is not None:
            state.last_product = line.product_id
    if cues.each:
        _share_each(state.lines[first_line:], text.find(EACH, start, end))


def _share_each(lines: list[Line], each: int) -> None:
    """The quantity after 各 goes to every item before it that has none ("苹果和香蕉各来一箱")."""
    shared = next((line.quantity for line in lines if line.quantity and line.quantity.start > each), None)
    for line in lines:
        if line.quantity is None and line.start < each:
            line.quantity = shared


def _group(words: list[Word], says_no_noun: Callable[[Word], bool]) -> list[list[Word]]:
    groups: list[list[Word]] = []
    current: list[Word] = []
    for index, word in enumerate(words):
        kinds = {t.kind for t in current}
        last = current[-1].kind if current else None
        if word.kind == "B":
            # "猫粮再来两袋": a joining word between a product and a bare count is "more of it".
            following = words[index + 1] if index + 1 < len(words) else None
            more_of_it = (
                kinds == {"P"}
                and following is not None
                and following.kind == "Q"
                and says_no_noun(following)
                and (index + 2 == len(words) or words[index + 2].kind not in "PB")
            )
            starts_new = bool(kinds & {"P", "Q"}) and not more_of_it
        elif word.kind == "P":
            starts_new = "P" in kinds
        elif word.kind == "Q":
            starts_new = "Q" in kinds
        else:  # a variant word after "…两包" belongs to the next item: "原味两包番茄三包"
            starts_new = last == "Q" and bool(kinds & {"P", "S"})
        if starts_new and current:
            groups.append(current)
            current = []
        if word.kind != "B":
            current.append(word)
    if current:
        groups.append(current)
    return groups


def _refine_last_line(group: list[Word], state: State) -> bool:
    """Variant words alone ("，要330ml的") add to the line before when they fit its product."""
    if not state.lines or state.lines[-1].product_id is None:
        return False
    line = state.lines[-1]
    fitting = [s for t in group for s in t.meaning.specs if s.product_id == line.product_id]
    line.specs.extend(fitting)
    return bool(fitting)


def _line_from(text: str, group: list[Word], cues: ClauseCues, state: State) -> Line | None:
    product_word = next((t for t in group if t.kind == "P"), None)
    quantity_word = next((t for t in group if t.kind == "Q"), None)
    spec_words = [t for t in group if t.kind == "S"]
    start, end = group[0].start, group[-1].end
    strength = 0.0
    if product_word is not None:
        product = _pick_named(product_word, spec_words, state)
        strength = max(s for _, s in product_word.meaning.products) * product_word.trust
        confidence = strength if product is not None else UNKNOWN
    elif spec_words:
        product = _pick_by_specs(spec_words, state)
        confidence = INFERRED if product is not None else UNKNOWN
    else:
        if not cues.order_cue:
            return None  # a bare count needs an ordering verb: "订两份坚果，一份自己吃一份送人"
        noun_end = _unknown_noun_end(text, quantity_word.end, state.word_starts)
        if noun_end:
            product, confidence, end = None, UNKNOWN, max(end, noun_end)
        else:
            product, confidence = state.last_product, INHERITED if state.last_product else UNKNOWN
    quantity = quantity_word.quantity if quantity_word else None
    specs: list[SpecWord] = []
    for word in spec_words:
        fitting = [s for s in word.meaning.specs if s.product_id == product]
        specs.extend(fitting)
        if not fitting and quantity is None and word.quantity is not None:
            quantity = word.quantity  # "橙子5斤": 5斤 is an apple box size, here a weight
    if quantity is None:
        earlier = next((line for line in reversed(state.lines) if line.product_id == product), None)
        if product is not None and earlier is not None:
            earlier.specs.extend(specs)  # "一箱苹果…，苹果要10斤的" says more about the same line
            return None
        # Without a quantity only a clearly named product is an item, and only in an ordering context.
        clearly_named = product_word is not None and strength > HEAD
        if not clearly_named:
            return None
        waits = not (cues.order_cue or cues.each or state.lines)
        return Line(product, specs, None, start, end, confidence, named=True, pending=waits)
    return Line(product, specs, quantity, start, end, confidence, named=product_word is not None)


def _quantity_for_last_line(group: list[Word], state: State) -> bool:
    """A quantity alone in a later clause is the one the line before left unsaid ("酸奶要草莓味的，
    两箱"); it changes nothing when that line has its quantity."""
    if {t.kind for t in group} != {"Q"} or not state.lines:
        return False
    line = state.lines[-1]
    if line.quantity is not None or line.product_id is None:
        return False
    line.quantity = group[0].quantity
    line.end = group[-1].end
    return True


def _pick_named(word: Word, specs: list[Word], state: State) -> int | None:
    candidates = [product for product, _ in word.meaning.products]
    if len(candidates) > 1:
        fitting = {s.product_id for t in specs for s in t.meaning.specs}
        candidates = [c for c in candidates if c in fitting] or candidates
    if len(candidates) > 1 and state.last_product in candidates:
        return state.last_product
    return candidates[0] if len(candidates) == 1 else None


def _pick_by_specs(specs: list[Word], state: State) -> int | None:
    per_word = [{s.product_id for s in t.meaning.specs} for t in specs]
    fitting = set.intersection(*per_word) or set.union(*per_word)
    previous = state.lines[-1].product_id if state.lines else state.last_product
    if previous in fitting:
        return previous
    return next(iter(fitting)) if len(fitting) == 1 else None


def _unknown_noun_end(text: str, pos: int, word_starts: list[int]) -> int:
    """End of the unknown noun right after a quantity ("一个充电宝"), or 0 when there is none."""
    while pos < len(text) and text[pos] in " 的":
        pos += 1
    end = pos
    following = bisect_left(word_starts, pos)  # the noun stops at the next word found ("和", "两箱")
    limit = word_starts[following] if following < len(word_starts) else len(text)
    while end < limit and (is_hanzi(text[end]) or text[end].isalpha()) and text[end] not in _FILLER:
        end += 1
    return end if end > pos else 0


def drop_breakdown_totals(lines: list[Line]) -> list[Line]:
    """Drops a total that is followed by its breakdown ("两支口红，一支正红一支豆沙")."""
    kept = []
    for index, line in enumerate(lines):
        following = []
        for later in lines[index + 1 :]:
            if later.named or later.product_id != line.product_id:
                break
            following.append(later)
        total = sum(later.quantity.quantity if later.quantity else 1 for later in following)
        is_total = (
            line.named
            and line.quantity is not None
            and len(following) >= 2
            and total == line.quantity.quantity
            and not line.specs
        )
        if not is_total:
            kept.append(line)
    return kept
