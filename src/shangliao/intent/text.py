"""Text folding and pinyin for order-intent recognition.

``fold`` turns a chat message into one comparable form (NFKC, so full-width letters, digits and
punctuation become ASCII; lower case; emoji and other symbols become spaces) while remembering, for
every folded character, which character of the message it came from: a recognised line can then
quote the customer's own words. Messages are capped at ``MAX_MESSAGE_CHARS`` first, so a pasted
essay costs no more than a long order.

Pinyin is tone-less and one reading per character (the most common one), the same way for catalog
words and messages, so a homophone typo (体恤 for T恤, 矿泉谁 for 矿泉水) and typed pinyin
(kuangquanshui, kuang泉水) land on the same letters.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

from pypinyin import lazy_pinyin

MAX_MESSAGE_CHARS = 500

_SYMBOL_CATEGORIES = {"So", "Sk", "Cs", "Co", "Cn", "Cf", "Mn", "Me"}
# How people type a Latin letter inside a product name when they spell it out in pinyin (T恤 → tixu).
_LETTER_READINGS = {"t": "ti"}

_fold_cache: dict[str, str] = {}
_syllable_cache: dict[str, str] = {}


@dataclass(frozen=True)
class Folded:
    original: str  # the message, capped
    text: str  # folded
    source: tuple[int, ...]  # index in ``original`` of each folded character

    def quote(self, start: int, end: int) -> str:
        """The customer's own words behind folded ``text[start:end]``."""
        if start >= end:
            return ""
        return self.original[self.source[start] : self.source[end - 1] + 1].strip()


def _fold_char(ch: str) -> str:
    folded = _fold_cache.get(ch)
    if folded is None:
        if ch == "\n":
            folded = "\n"
        elif ch.isspace() or unicodedata.category(ch) in _SYMBOL_CATEGORIES:
            folded = " "
        else:
            folded = "".join(
                c if len(c.lower()) != 1 else c.lower() for c in unicodedata.normalize("NFKC", ch)
            )
            folded = folded.replace("\u3000", " ")
        _fold_cache[ch] = folded
    return folded


def fold(message: str) -> Folded:
    original = message[:MAX_MESSAGE_CHARS]
    chars: list[str] = []
    source: list[int] = []
    for index, ch in enumerate(original):
        for out in _fold_char(ch):
            chars.append(out)
            source.append(index)
    return Folded(original, "".join(chars), tuple(source))


def is_hanzi(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def syllable(ch: str) -> str:
    """Tone-less pinyin of one Chinese character (its most common reading)."""
    found = _syllable_cache.get(ch)
    if found is None:
        found = lazy_pinyin(ch)[0]
        _syllable_cache[ch] = found
    return found


def pinyin_spellings(word: str, in_context: bool = False) -> set[str]:
    """Ways a customer may type ``word`` (folded) in full pinyin, without spaces.

    ``in_context`` adds the phrase reading, which knows polyphones in context (薄 read as bao in a
    word); it costs a pypinyin phrase lookup, so only whole names ask for it.
    """
    spellings = {"".join(_spell(ch) for ch in word)}
    if in_context and any(is_hanzi(ch) for ch in word):
        spellings.add("".join(lazy_pinyin(word)).lower())
    for letter, reading in _LETTER_READINGS.items():
        if letter in word:
            spellings |= {s.replace(letter, reading) for s in list(spellings)}
    return {s for s in spellings if s.isascii() and s.isalpha()}


def initials(word: str) -> str:
    """First letters of each syllable (矿泉水 → kqs; Latin letters stay as they are)."""
    if not all(is_hanzi(ch) or (ch.isascii() and ch.isalpha()) for ch in word):
        return ""
    return "".join(_spell(ch)[0] for ch in word)


def _spell(ch: str) -> str:
    return syllable(ch) if is_hanzi(ch) else ch


@dataclass(frozen=True)
class PinyinView:
    """A folded text spelled out in pinyin letters, mapped back to folded positions.

    Chinese characters become their syllable, ASCII letters stay, a space between two letters is
    dropped (``kuang quan shui``) and everything else becomes a space, so no match crosses it.
    ``starts``/``ends`` flag where a match may begin and end: at syllable edges inside Chinese text,
    anywhere inside typed letters (we cannot know where a typed syllable ends).
    """

    letters: str
    starts: bytes
    ends: bytes  # ends[i] is 1 when a match may end just before letter i
    _first_letter: tuple[int, ...]  # index in ``letters`` where each folded character begins

    def origin(self, index: int) -> int:
        """The folded position that letter ``index`` was spelled from."""
        return bisect_right(self._first_letter, index) - 1


_SKIPPED = ("", b"", b"")
_BREAK = (" ", b"\0", b"\0")
_piece_cache: dict[str, tuple[str, bytes, bytes]] = {}


def _piece(ch: str) -> tuple[str, bytes, bytes]:
    """One character's letters with their start and end flags (cached: messages repeat characters)."""
    piece = _piece_cache.get(ch)
    if piece is None:
        if is_hanzi(ch):
            spelled = syllable(ch)
            last = len(spelled) - 1
            piece = (spelled, bytes([1] + [0] * last), bytes([0] * last + [1]))
        elif ch.isascii() and ch.isalpha():
            piece = (ch, b"\1", b"\1")
        else:
            piece = _BREAK
        _piece_cache[ch] = piece
    return piece


def pinyin_view(text: str) -> PinyinView:
    pieces = [
        _SKIPPED if ch == " " and _between_letters(text, index) else _piece(ch)
        for index, ch in enumerate(text)
    ]
    first_letter = [0, *accumulate(len(piece[0]) for piece in pieces)][:-1]
    return PinyinView(
        "".join(piece[0] for piece in pieces),
        b"".join(piece[1] for piece in pieces),
        b"\0" + b"".join(piece[2] for piece in pieces),
        tuple(first_letter),
    )


def _between_letters(text: str, index: int) -> bool:
    before, after = text[index - 1 : index], text[index + 1 : index + 2]
    return before.isascii() and before.isalpha() and after.isascii() and after.isalpha()
