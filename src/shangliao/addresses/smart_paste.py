"""Smart paste: one pasted block of text → receiver, phone, province, city, district, street detail.

    >>> a = parse_address("张三 13812345678 浙江省杭州市西湖区文三路 100 号")
    >>> (a.receiver, a.phone, a.province, a.city, a.district, a.detail)
    ('张三', '13812345678', '浙江省', '杭州市', '西湖区', '文三路100号')

Works offline in pure Python on what customers paste from chat or shop apps: fields in any order,
separated by spaces, commas, newlines or ，。；：、|/, with or without labels (收货人：, 手机号码：,
所在地区：, 详细地址：), the province left out (filled in from the city or district when only one place
fits), short names (浙江杭州西湖区), picker output (北京市 北京市 朝阳区; 湖北省 省直辖县级行政区划 天门市).

What comes out, and how it is normalised:

- ``phone``: a mainland mobile as 11 digits (``+86 138-1234-5678`` → ``13812345678``, checked with
  :func:`shangliao.core.phones.normalize_mobile`); failing that a fixed line as ``0571-88886666``
  (``-123`` for an extension). ``phone_kind`` says which: ``mobile``, ``landline``, ``unverified``
  (looks like a mobile but is not a valid number), or ``""``. Further numbers go to ``other_phones``.
- ``province`` / ``city`` / ``district``: official full names from :mod:`.divisions` with their codes.
  Municipalities repeat their name as the city (北京市/北京市/朝阳区); 东莞, 中山, 儋州, 嘉峪关 and the
  directly-administered county-level cities (仙桃市, 琼海市 …) are cities with an empty district. When
  a district name fits several places (朝阳区, 鼓楼区) and nothing else in the text decides, the
  district name is kept and the province, city and codes stay empty: nothing is guessed.
- ``detail``: the street part, full-width letters and digits made half-width (NFKC), a repetition of
  the region at its start removed, whitespace and separator punctuation removed, except a single space
  between two Latin letters or digits ("文三路 100 号" → "文三路100号", "Room 508" stays).
- ``receiver``: as written (王先生 keeps 先生), middle dots unified to "·".
- ``note``: courier instructions and remarks ("（工作日送）", "备注：周末送货", "到了打电话"), kept out of
  the detail; several are joined with "；".
- ``missing``: the fields that could not be filled, for the console to highlight.

The only exception raised for a ``str`` is :class:`~shangliao.core.errors.Invalid`
(``address.text_too_long``) beyond :data:`MAX_TEXT_LENGTH` characters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from shangliao.addresses import receivers
from shangliao.addresses.divisions import children
from shangliao.addresses.regions import RegionMatch, find_region, strip_repeated_region
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_
from shangliao.core.phones import normalize_mobile

MAX_TEXT_LENGTH = 2000
PHONE_MARK = "\x1e"  # where a phone number was taken out: a field boundary the name is often next to

FIELDS = ("receiver", "phone", "province", "city", "district", "detail")


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    receiver: str = ""
    phone: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    detail: str = ""
    province_code: str = ""
    city_code: str = ""
    district_code: str = ""
    phone_kind: str = ""  # "mobile" | "landline" | "unverified" | ""
    other_phones: tuple[str, ...] = ()
    note: str = ""  # courier instructions and remarks: "(工作日送)", "备注：周末送货", "到了打电话"
    missing: tuple[str, ...] = ()


# --- text clean-up ----------------------------------------------------------------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\x00"), None)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_PICTOGRAPHS = re.compile(
    "[\U0001f000-\U0001faff\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff\u25a0-\u27bf\u2b00-\u2bff"
    "\ue000-\uf8ff\ufe0e\ufe0f\ud800-\udfff]+"
)


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text.translate(_INVISIBLE))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _CONTROL.sub(" ", text)
    # Emoji and pictographs from chat ("📞138…", "🏠 地址") separate fields; they are never part of one.
    return _PICTOGRAPHS.sub(" ", text)


# --- phones -----------------------------------------------------------------------------------------

_MOBILE = re.compile(
    r"(?<![\d])(?:(?:\+|00)?86[\s-]*|\(\+?86\)[\s-]*)?"
    r"(1[3-9]\d(?:\d{8}|[\s-]\d{4}[\s-]?\d{4}|\d[\s-]\d{3}[\s-]\d{4}|\d{4}[\s-]\d{4}|[\s-]\d{8}))(?![\d])"
)
_LANDLINE = re.compile(
    r"(?<![\d])(?:\(\s*(0(?:[12]\d|[3-9]\d{2}))\s*\)|(0(?:[12]\d|[3-9]\d{2})))[\s-]?"
    r"([2-9]\d{2,3}[\s-]?\d{4})(?:\s?(?:转|-|ext\.?)\s?(\d{1,6}))?(?![\d])"
)


def _take_phones(text: str) -> tuple[list[tuple[str, str]], str]:
    """``[(number, kind)]`` in text order, and the text with each number replaced by PHONE_MARK."""
    found: list[tuple[int, str, str]] = []

    def mobile(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(1))
        try:
            found.append((match.start(), normalize_mobile(digits), "mobile"))
        except Invalid:
            found.append((match.start(), digits, "unverified"))
        return PHONE_MARK

    def landline(match: re.Match[str]) -> str:
        area = match.group(1) or match.group(2)
        number = area + "-" + re.sub(r"\D", "", match.group(3))
        if match.group(4):
            number += f"-{match.group(4)}"
        found.append((match.start(), number, "landline"))
        return PHONE_MARK

    text = _MOBILE.sub(mobile, text)
    text = _LANDLINE.sub(landline, text)
    rank = {"mobile": 0, "landline": 1, "unverified": 2}
    ordered = sorted(found, key=lambda f: (rank[f[2]], f[0]))
    return [(number, kind) for _, number, kind in ordered], text


# --- labels and postcodes ---------------------------------------------------------------------------

_STRONG_LABELS = [
    "收货人姓名",
    "收件人姓名",
    "收货人",
    "收件人",
    "联系人",
    "手机号码",
    "联系电话",
    "电话号码",
    "联系方式",
    "手机号",
    "所在地区",
    "所在地址",
    "详细地址",
    "收货地址",
    "收件地址",
    "省市区县",
    "省市区",
]
# Words that are labels only when a colon follows (街道, 地区 and 地址 also occur inside addresses).
_WEAK_LABELS = [
    "姓名",
    "名字",
    "电话",
    "手机",
    "地址",
    "地区",
    "所在地",
    "区域",
    "省份",
    "城市",
    "区县",
    "街道",
    "门牌",
    "邮编",
    "name",
    "phone",
    "mobile",
    "tel",
    "address",
]
_LABEL = re.compile(
    rf"(?:{'|'.join(_STRONG_LABELS)})\s*:?|(?:{'|'.join(_WEAK_LABELS)})\s*(?::|(?={PHONE_MARK}))",
    re.IGNORECASE,
)
_LABEL_IN_BRACKETS = re.compile(rf"【\s*(?:{'|'.join(_STRONG_LABELS + _WEAK_LABELS)})\s*】")
# A remark runs to the end of its line or field: "备注：周末送货" is for the courier, not the street.
_REMARK = re.compile(r"(?:买家留言|备注|留言)\s*:\s*([^\n;]*)")
_POSTCODE = re.compile(r"(?:邮政编码|邮编)\s*:?\s*\d{6}(?!\d)|(?<![\w-])\d{6}(?![\w-])")


def _drop_labels(text: str, notes: list[str]) -> str:
    def remark(match: re.Match[str]) -> str:
        if match.group(1).strip():
            notes.append(match.group(1).strip())
        return "\n"

    text = _REMARK.sub(remark, text)
    text = _POSTCODE.sub("\n", text)
    text = _LABEL_IN_BRACKETS.sub("\n", text)
    return _LABEL.sub("\n", text)


# --- brackets: "(张伟收)" names the receiver, "(工作日送)" is a note for the courier ----------------

_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff]"
_BRACKETED = re.compile(r"[(\[【〔]([^()\[\]【】〔〕]{1,40})[)\]】〕]")
_ADDRESSED_TO = re.compile(rf"\s*({_CJK}{{2,4}}|{_CJK}{{1,8}}·{_CJK}{{1,8}})\s*收\s*")
# Instructions written as a field of their own ("…1号 陈伟强 139… 到了打电话"); stricter than the
# bracket list because a street name may contain 送 or 放 (解放路).
_INSTRUCTION = re.compile(
    r"打电话|电话联系|联系我|送货|送到|送上|周末|工作日|上班|下班|放门口|放门卫|放快递柜|勿|请"
)
_SPACED_ADDRESSED_TO = re.compile(rf"({_CJK}{{2,4}})\s+收(?=\s|$|[\n{PHONE_MARK},;])")
_NOTE_WORDS = re.compile(r"送|放|勿|请|快递|电话|联系|微信|周末|工作日|上班|下班|门卫|代收|驿站|打我")


def _take_brackets(text: str, notes: list[str]) -> str:
    """Bracketed receivers become a field of their own; bracketed notes leave the text."""

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        if _ADDRESSED_TO.fullmatch(inner):
            return "\n" + _ADDRESSED_TO.fullmatch(inner).group(1) + "\n"  # type: ignore[union-attr]
        if _NOTE_WORDS.search(inner):
            notes.append(inner.strip())
            return "\n"
        return match.group()

    text = _BRACKETED.sub(replace, text)
    # "李建国 收": the receiver with the letter-style "收" written apart
    return _SPACED_ADDRESSED_TO.sub(r"\1收", text)


# --- fields -----------------------------------------------------------------------------------------

_FIELD_SPLIT = re.compile(rf"[\n{PHONE_MARK},;:|/、。!?【】]+")
_DETAIL_SPLIT = re.compile(rf"[\s{PHONE_MARK},;:|/、。!?【】]+")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")
_EMPTY_BRACKETS = re.compile(r"\(\)|\[\]|【】")
# Chat pleasantries around a pasted address: neither a name nor part of the street.
_PLEASANTRIES = frozenset(
    [
        "谢谢",
        "谢谢啦",
        "谢谢了",
        "多谢",
        "感谢",
        "你好",
        "您好",
        "亲",
        "亲亲",
        "麻烦了",
        "麻烦",
        "辛苦了",
        "辛苦",
        "拜托了",
        "地址是",
        "地址如下",
        "收货信息",
    ]
)

# Scores a candidate needs: a whole field ("，张三，") is a name unless it clearly is not; a last
# word inside the street part ("文三路 100 号 张三") needs more evidence.
_FIELD_THRESHOLD = 0.0
_TAIL_THRESHOLD = 2.0
_NEXT_TO_PHONE_BONUS = 1.0
# "…5 号 泽仁拉姆": the word before ended the street part (a number, 号, 室 …), so the last word is
# likely the name even without a surname we know.
_AFTER_STREET_END_BONUS = 1.0
_STREET_END = re.compile(r"[0-9A-Za-z号室楼层栋幢座户组)]$")


@dataclass
class _Piece:
    """A field of the text outside the region, with what we know about its place."""

    text: str
    before_region: bool
    next_to_phone: bool
    glued_to_region: bool = False  # starts right after the region, no separator: street detail


def _pieces(raw: str, *, before_region: bool, after_region: bool = False) -> list[_Piece]:
    pieces: list[_Piece] = []
    pos, separator_before = 0, ""
    for match in _FIELD_SPLIT.finditer(raw + "\n"):
        chunk = " ".join(w for w in raw[pos : match.start()].split() if w not in _PLEASANTRIES)
        if chunk:
            next_to_phone = PHONE_MARK in separator_before + match.group()
            glued = after_region and pos == 0 and not raw[:1].isspace()
            pieces.append(_Piece(chunk.strip(), before_region, next_to_phone, glued))
        pos, separator_before = match.end(), match.group()
    return pieces


def _clean_detail(parts: list[str]) -> str:
    """Join street parts: drop spaces and separators, except one space between two Latin letters/digits."""
    words = [w for part in parts for w in _DETAIL_SPLIT.split(part) if w]
    out = ""
    for word in words:
        if out and _ASCII_ALNUM.fullmatch(out[-1]) and _ASCII_ALNUM.fullmatch(word[0]):
            out += " "
        out += word
    return _EMPTY_BRACKETS.sub("", out).rstrip(".-")


@dataclass
class _NameChoice:
    score: float
    order: tuple[int, int]  # before the region first (earliest), then after it (latest)
    piece: int
    where: str  # "all" of the piece, or its "first" or "last" word (the rest is street detail)


def _choose_name(pieces: list[_Piece]) -> _NameChoice | None:
    best: _NameChoice | None = None
    for index, piece in enumerate(pieces):
        words = piece.text.split()
        bonus = _NEXT_TO_PHONE_BONUS if piece.next_to_phone else 0.0
        options: list[tuple[str, float, str]] = []
        if len(words) == 1 and not piece.glued_to_region:
            options.append((words[0], _FIELD_THRESHOLD, "all"))
        elif len(words) > 1:
            tail_bonus = _AFTER_STREET_END_BONUS if _STREET_END.search(words[-2]) else 0.0
            options.append((words[-1], _TAIL_THRESHOLD - tail_bonus, "last"))
            if piece.before_region and not piece.glued_to_region:
                options.append((words[0], _TAIL_THRESHOLD, "first"))
        for word, threshold, where in options:
            score = receivers.name_score(receivers.addressed_to(word)) + bonus
            if score < threshold:
                continue
            order = (0, index) if piece.before_region else (1, -index)
            choice = _NameChoice(score, order, index, where)
            if best is None or (score, _neg(order)) > (best.score, _neg(best.order)):
                best = choice
    return best


def _neg(order: tuple[int, int]) -> tuple[int, int]:
    return (-order[0], -order[1])


def _split_name_and_detail(text: str, region: RegionMatch | None, notes: list[str]) -> tuple[str, str]:
    if region is None:
        pieces = _pieces(text, before_region=True)
    else:
        pieces = _pieces(text[: region.start], before_region=True)
        pieces += _pieces(text[region.end :], before_region=False, after_region=True)
    for piece in pieces:
        if _INSTRUCTION.search(piece.text) and not re.search(r"\d", piece.text):
            notes.append(piece.text)
            piece.text = ""
    pieces = [p for p in pieces if p.text]

    receiver = ""
    choice = _choose_name(pieces)
    if choice is not None:
        piece = pieces[choice.piece]
        words = piece.text.split()
        if choice.where == "first":
            receiver, piece.text = words[0], " ".join(words[1:])
        else:
            receiver, piece.text = words[-1], " ".join(words[:-1])
        receiver = receivers.addressed_to(receiver)
    else:
        # "…文三路100号张三13812345678": the name glued to the end of the street part
        for piece in reversed(pieces):
            if piece.next_to_phone or piece is pieces[-1]:
                split = receivers.glued_tail_name(piece.text)
                if split:
                    piece.text, receiver = split
                    break

    after = [p.text for p in pieces if not p.before_region and p.text]
    before = [p.text for p in pieces if p.before_region and p.text]
    street = after or before
    if street and region is not None:
        street[0] = strip_repeated_region(street[0], region)
    return receivers.normalize_name(receiver), _clean_detail(street)


# --- entry point ------------------------------------------------------------------------------------


def parse_address(text: str) -> ParsedAddress:
    """Split a pasted address into its fields; see the module docstring for what each one holds."""
    if len(text) > MAX_TEXT_LENGTH:
        raise Invalid(
            "address.text_too_long",
            N_("The address text is too long: at most {limit} characters."),
            limit=MAX_TEXT_LENGTH,
        )
    phones, rest = _take_phones(_normalize(text))
    notes: list[str] = []
    rest = _take_brackets(_drop_labels(rest, notes), notes)
    region = find_region(rest)
    receiver, detail = _split_name_and_detail(rest, region, notes)

    province = region.province if region else None
    city = region.city if region else None
    district = region.district if region else None
    district_name = district.name if district else (region.district_name if region else "")
    phone, kind = phones[0] if phones else ("", "")
    values = {
        "receiver": receiver,
        "phone": phone,
        "province": province.name if province else "",
        "city": city.name if city else "",
        "district": district_name,
        "detail": detail,
    }
    missing = [f for f in FIELDS if not values[f]]
    if city is not None and not district_name and not children(city.code):
        missing.remove("district")  # 东莞市, 仙桃市 …: there is no district to fill in
    return ParsedAddress(
        **values,
        province_code=province.code if province else "",
        city_code=city.code if city else "",
        district_code=district.code if district else "",
        phone_kind=kind,
        other_phones=tuple(number for number, _ in phones[1:]),
        note="；".join(notes),
        missing=tuple(missing),
    )
