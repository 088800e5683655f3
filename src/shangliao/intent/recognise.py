"""Order intent in a chat message: is the customer ordering, and what, from this shop's catalog.

Offline and rule-based, so it runs in well under a millisecond per message with no service to call.
The result pre-fills an order draft for staff, who confirm or correct it; it never orders by itself.

How a message is read:
1. ``fold`` it (capped at ``MAX_MESSAGE_CHARS``; full width, case and emoji evened out).
2. Find words (``intent.words``): catalog words (product names, aliases, name parts, variant
   values; longest first), quantities (``intent.numbers``), product names typed in pinyin or with
   a homophone typo, pinyin initials typed alone (kqs).
3. Split into clauses at punctuation; a clause that complains, asks a price or asks a question
   orders nothing (unless it is a polite request such as "能不能帮我发两箱…"); negated words are
   dropped ("不要面膜了 换成面霜一瓶").
4. Group each clause's words into items and make each a line (``intent.lines``): its product, its
   variant when the words pick exactly one, its quantity (1 when not said). A quantity with an
   unknown noun ("一个充电宝") is a line with no product, left for staff.

Quantities: see ``intent.numbers`` (打 multiplies by 12; 双 and 对 are packages, so 一双 is 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from shangliao.intent.catalog import Catalog, CatalogVariant
from shangliao.intent.cues import CLAUSE_BREAK, read_cues
from shangliao.intent.lines import Line, State, drop_breakdown_totals, read_clause
from shangliao.intent.text import MAX_MESSAGE_CHARS, Folded, fold
from shangliao.intent.words import find_words

__all__ = ["MAX_MESSAGE_CHARS", "Catalog", "CatalogVariant", "Intent", "IntentLine", "recognise"]


@dataclass(frozen=True)
class IntentLine:
    text: str  # the part of the message this line came from, e.g. "两件红色M码的T恤"
    quantity: int  # 1 when not said
    unit: str | None  # "件", "箱", "瓶" … as written, or None
    product_id: int | None  # None: not recognised, left for staff
    variant_id: int | None  # None when the product has several variants and the words do not pick one
    confidence: float  # 0..1


@dataclass(frozen=True)
class Intent:
    is_order: bool
    lines: list[IntentLine]
    score: float


def recognise(message: str, catalog: Catalog) -> Intent:
    folded = fold(message)
    words = find_words(folded.text, catalog)
    state = State([t.start for t in words])
    cue_seen = False
    cursor = 0
    for start, end in _clauses(folded.text):
        cues = read_cues(folded.text[start:end])
        while cursor < len(words) and words[cursor].start < start:
            cursor += 1
        first = cursor
        while cursor < len(words) and words[cursor].end <= end:
            cursor += 1
        in_clause = words[first:cursor]
        if cues.may_order:
            cue_seen |= cues.order_cue
            read_clause(folded.text, in_clause, (start, end), cues, state)
        for word in in_clause:
            if word.kind == "P" and len(word.meaning.products) == 1:
                state.last_product = word.meaning.products[0][0]
    lines = drop_breakdown_totals(state.lines)
    for line in lines:
        if line.product_id is not None:
            line.variant_id = catalog.resolve_variant(line.product_id, line.specs)
    result = [_public_line(folded, line) for line in lines]
    return Intent(bool(result), result, _score(result, cue_seen))


def _public_line(folded: Folded, line: Line) -> IntentLine:
    quantity = line.quantity
    return IntentLine(
        text=folded.quote(line.start, line.end),
        quantity=quantity.quantity if quantity else 1,
        unit=quantity.unit if quantity else None,
        product_id=line.product_id,
        variant_id=line.variant_id,
        confidence=round(line.confidence * (1.0 if quantity else 0.85), 3),
    )


def _score(lines: list[IntentLine], cue_seen: bool) -> float:
    if not lines:
        return 0.0
    known = max(line.confidence for line in lines)
    return round(min(1.0, 0.5 + 0.2 * cue_seen + 0.3 * known), 3)


def _clauses(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for found in CLAUSE_BREAK.finditer(text):
        if found.start() > start:
            spans.append((start, found.start()))
        start = found.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans
