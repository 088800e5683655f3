"""Find the province → city → district part of free text ("浙江杭州西湖区文三路…" → 浙江省/杭州市/西湖区).

Every place in the text where a division name starts is tried; from there the scanner follows
children (skipping spaces, separators and picker filler such as "市辖区"), and each way through is
scored: a full name counts more than a short one, each further level adds to it, a start at a field
boundary adds a little. The best way through wins; equal ones that mean different places (朝阳区 of
北京 or of 长春) keep only what they agree on, so nothing is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shangliao.addresses.divisions import CITY, DISTRICT, PROVINCE, Division, DivisionTable, table

# Characters that separate fields in a pasted address; the parser also uses \x1e for a removed phone.
SEPARATORS = " \t\n\x1e,;:|/、。!?-"

FULL_SCORE = 3.0
SHORT_SCORE = 2.0
BOUNDARY_BONUS = 1.0

# Picker output between levels that names no place: "上海市 市辖区 长宁区", "湖北省 省直辖县级行政区划 天门市".
_FILLERS = ("自治区直辖县级行政区划", "省直辖县级行政区划", "直辖县级行政区划", "省直辖县", "市辖区")

# What may follow a short name when it was written with (a variant of) its ending.
_ENDINGS = {
    PROVINCE: re.compile(r"(?:壮族|回族|维吾尔族?)?自治区|省|市"),
    CITY: re.compile(r"市|州|地区|盟"),
    DISTRICT: re.compile(r"区|县|市|旗"),
}

# A short name followed by these is a street or a landmark named after the place (南京东路, 中山路,
# 杭州东站, 朝阳北大街), not the place itself.
_STREETISH = re.compile(r"[东西南北中]?(?:路|街|大街|大道|道|巷|弄|桥|站|里|广场|机场|公园)")


# A development zone or new area between two levels ("河北省 雄安新区 容城县"): not a division of its
# own, so the way down may step over it when a real division follows.
_ZONE = re.compile(r"[\u4e00-\u9fff]{1,10}?(?:新区|开发区|高新区|经开区|园区|保税区|示范区|试验区)")

# Traditional forms of characters common in division names and their endings, folded to simplified
# for matching only (one character for one, so positions in the text stay the same).
_TRADITIONAL = str.maketrans(
    "區縣鎮鄉廣東蘇龍陽華門灣島長寧遼黃興會慶漢滬豐衛雲貴蘭內鄭濟陝嶺齊爾義遠連鐵橋臨萊濱雙紅綿瀋營撫錦蘆無錫揚鹽"
    "贛閩粵瓊烏魯達壽溫麗樂關廈鳳鶴隨荊鍾歸萬藍雞澤滄棗濰駐聖頭崗嶼禪廬蕪銅涇壩寶陰峽巖瀘劍潁渦譙懷滿瀏鄲畢嶽嶗園"
    "張",
    "区县镇乡广东苏龙阳华门湾岛长宁辽黄兴会庆汉沪丰卫云贵兰内郑济陕岭齐尔义远连铁桥临莱滨双红绵沈营抚锦芦无锡扬盐"
    "赣闽粤琼乌鲁达寿温丽乐关厦凤鹤随荆钟归万蓝鸡泽沧枣潍驻圣头岗屿禅庐芜铜泾坝宝阴峡岩泸剑颍涡谯怀满浏郸毕岳崂园"
    "张",
)


def fold(text: str) -> str:
    """The text as the matcher reads it: traditional forms of division characters made simplified."""
    return text.translate(_TRADITIONAL)


@dataclass(frozen=True, slots=True)
class Step:
    division: Division
    start: int
    end: int
    full: bool


@dataclass(frozen=True, slots=True)
class RegionMatch:
    """Where the region is in the text and what it resolves to (codes may be empty when ambiguous)."""

    start: int
    end: int
    province: Division | None
    city: Division | None
    district: Division | None
    # Set when the district name is known but not which one (朝阳区 without its city).
    district_name: str = ""


def _is_boundary(text: str, index: int) -> bool:
    return index == 0 or text[index - 1] in SEPARATORS


def _skip_between_levels(text: str, pos: int) -> int:
    while pos < len(text):
        if text[pos] in SEPARATORS:
            pos += 1
            continue
        for filler in _FILLERS:
            if text.startswith(filler, pos):
                pos += len(filler)
                break
        else:
            return pos
    return pos


def names_at(t: DivisionTable, text: str, pos: int) -> list[tuple[Division, int, bool]]:
    """``(division, end, is_full)`` for every division whose name or short name starts at ``pos``."""
    found: list[tuple[Division, int, bool]] = []
    if pos >= len(text):
        return found
    for key, is_full, divisions in t.starting_with.get(text[pos : pos + 2], ()):
        if not text.startswith(key, pos):
            continue
        end = pos + len(key)
        if not is_full and _STREETISH.match(text, end):
            continue
        for division in divisions:
            stop = end
            if not is_full:
                ending = _ENDINGS[division.level].match(text, end)
                if ending:
                    stop = ending.end()
            found.append((division, stop, is_full))
    return found


def _best_from(t: DivisionTable, text: str, chain: list[Step]) -> tuple[float, list[Step]]:
    """The best way down from the last step of ``chain`` (depth ≤ 3, so plain recursion is fine)."""
    score = sum(FULL_SCORE if s.full else SHORT_SCORE for s in chain)
    best = (score, chain)
    last = chain[-1].division
    if last.level == DISTRICT:
        return best
    pos = _skip_between_levels(text, chain[-1].end)
    starts = [pos]
    zone = _ZONE.match(text, pos)
    if zone:
        starts.append(_skip_between_levels(text, zone.end()))
    for start in starts:
        for division, end, is_full in names_at(t, text, start):
            if t.is_within(division, last):
                candidate = _best_from(t, text, [*chain, Step(division, start, end, is_full)])
                if candidate[0] > best[0] or (candidate[0] == best[0] and len(candidate[1]) > len(best[1])):
                    best = candidate
    return best


def chains_at(text: str, pos: int, t: DivisionTable | None = None) -> list[tuple[float, list[Step]]]:
    """Every best way through the divisions that start at ``pos``, one per starting division."""
    t = t or table()
    return [_best_from(t, text, [Step(d, pos, end, full)]) for d, end, full in names_at(t, text, pos)]


def _resolve(t: DivisionTable, steps: list[Step]) -> tuple[Division | None, Division | None, Division | None]:
    """(province, city, district) from the deepest step, filling the levels above it."""
    deepest = steps[-1].division
    path = t.path(deepest.code)
    province = path[0]
    city = path[1] if len(path) > 1 else None
    district = path[2] if len(path) > 2 else None
    if city is None:
        # A municipality alone ("北京市…") still names its one city.
        kids = t.children_of[province.code]
        if len(kids) == 1 and kids[0].name == province.name:
            city = kids[0]
    return province, city, district


def find_region(text: str) -> RegionMatch | None:
    """The region named in ``text``, or None when none is found."""
    t = table()
    text = fold(text)
    best_score = 0.0
    best: list[tuple[int, list[Step]]] = []
    for pos in range(len(text)):
        if text[pos : pos + 2] not in t.starting_with:
            continue
        bonus = BOUNDARY_BONUS if _is_boundary(text, pos) else 0.0
        for score, steps in chains_at(text, pos, t):
            score += bonus
            if score > best_score:
                best_score, best = score, [(pos, steps)]
            elif score == best_score and best and best[0][0] == pos:
                best.append((pos, steps))
    if not best:
        return None
    end = max(steps[-1].end for _, steps in best)
    resolved = {_resolve(t, steps) for _, steps in best if steps[-1].end == end}
    start = best[0][0]
    if len(resolved) == 1:
        province, city, district = resolved.pop()
        return RegionMatch(start, end, province, city, district)
    # Several places fit equally well: keep only what they agree on.
    provinces = {r[0] for r in resolved}
    cities = {r[1] for r in resolved}
    districts = {r[2] for r in resolved}
    district_names = {d.name for d in districts if d is not None}
    return RegionMatch(
        start,
        end,
        provinces.pop() if len(provinces) == 1 else None,
        cities.pop() if len(cities) == 1 else None,
        districts.pop() if len(districts) == 1 else None,
        district_names.pop() if len(district_names) == 1 and len(districts) > 1 else "",
    )


def strip_repeated_region(text: str, region: RegionMatch) -> str:
    """Drop a repetition of the region at the start of the street part ("详细地址：浙江省杭州市西湖区…").

    Only when it is unmistakable: a full name, or at least two levels in a row. A lone short name is
    kept, since "杭州东站" or "西湖文化广场" are street detail, not a repetition.
    """
    named = {d.code for d in (region.province, region.city, region.district) if d is not None}
    if not named:
        return text
    t = table()
    folded = fold(text)
    pos = _skip_between_levels(folded, 0)
    chains = [
        steps
        for _, steps in chains_at(folded, pos, t)
        if all(s.division.code in named for s in steps) and (len(steps) > 1 or steps[0].full)
    ]
    if not chains:
        return text
    return text[max(steps[-1].end for steps in chains) :]
