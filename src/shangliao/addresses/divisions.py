"""Administrative divisions of mainland China (GB/T 2260 codes): province → city → district.

The table ships with the package (``data/divisions.tsv``, see ``data/SOURCE.md``) and is read once,
on first use. Codes are six-digit strings (``"330106"``). Every division has a level: 1 province,
2 city, 3 district. Municipalities have one city named like themselves (北京市 → 北京市 → 朝阳区);
directly-administered county-level units (仙桃市, 琼海市, 石河子市 …) and 东莞/中山/儋州/嘉峪关 are
cities without districts.

Names can be looked up by their short form as people write them: 浙江 ↔ 浙江省, 广西 ↔ 广西壮族自治区,
恩施 or 恩施州 ↔ 恩施土家族苗族自治州, 西湖 ↔ 西湖区.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "divisions.tsv"

PROVINCE, CITY, DISTRICT = 1, 2, 3

# Endings that people leave out. Longest first, so 自治县 goes before 县.
_SUFFIXES = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "林区",
    "新区",
    "特区",
    "省",
    "市",
    "区",
    "县",
    "旗",
    "盟",
)
# The 55 minority peoples' names as they appear inside autonomous-area names (维吾尔, 哈萨克 …
# are used without 族 too). Single-character ones are only removed with 族, so a place name that
# merely ends in 白, 水 or 京 keeps its last character.
_PEOPLES = [
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
]
_PEOPLE_ENDINGS = sorted(
    [p + "族" for p in _PEOPLES] + [p for p in _PEOPLES if len(p) > 1] + ["各族"], key=len, reverse=True
)
# Spellings in common use that the rules above do not produce.
_EXTRA_ALIASES = {"150000": ("内蒙",)}


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str
    level: int
    parent: str  # "" for a province
    short: str  # the name as commonly written without its ending; "" when that would be one character

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"


def short_name(name: str) -> str:
    """``浙江省`` → ``浙江``, ``恩施土家族苗族自治州`` → ``恩施``, ``城区`` → ``""`` (too short to mean anything)."""
    stem = name
    for suffix in _SUFFIXES:
        if stem.endswith(suffix) and len(stem) - len(suffix) >= 2:
            stem = stem[: -len(suffix)]
            break
    if name.endswith(("自治区", "自治州", "自治县", "自治旗")):
        stem = _strip_peoples(stem)
    return stem if stem != name and len(stem) >= 2 else ""


def _strip_peoples(stem: str) -> str:
    """``恩施土家族苗族`` → ``恩施``; a name that is only a people (``鄂温克族``) keeps the people."""
    while True:
        for people in _PEOPLE_ENDINGS:
            if stem.endswith(people) and len(stem) - len(people) >= 2:
                stem = stem[: -len(people)]
                break
        else:
            return stem.removesuffix("族") if len(stem) > 3 and stem.endswith("族") else stem


def _aliases(division: Division) -> tuple[str, ...]:
    found = [division.short] if division.short else []
    if division.name.endswith("自治州") and division.short:
        found.append(division.short + "州")  # 恩施州, 大理州, 伊犁州: how most people write them
    found.extend(_EXTRA_ALIASES.get(division.code, ()))
    return tuple(found)


class DivisionTable:
    """All divisions with the indexes the lookups and the address parser need. Built once."""

    def __init__(self, rows: Iterable[tuple[str, str, str]]) -> None:
        self.by_code: dict[str, Division] = {}
        self.children_of: dict[str, list[Division]] = {"": []}
        for code, parent, name in rows:
            level = 1 if not parent else self.by_code[parent].level + 1
            division = Division(code, name, level, parent, short_name(name))
            self.by_code[code] = division
            self.children_of.setdefault(parent, []).append(division)
            self.children_of.setdefault(code, [])
        # name → divisions, for full names and for short names / aliases separately
        self.full: dict[str, list[Division]] = {}
        self.alias: dict[str, list[Division]] = {}
        for division in self.by_code.values():
            self.full.setdefault(division.name, []).append(division)
            for alias in _aliases(division):
                self.alias.setdefault(alias, []).append(division)
        # first two characters → (name, is_full, divisions), longest first: what a scanner over free
        # text needs (every name and alias has at least two characters)
        self.starting_with: dict[str, list[tuple[str, bool, tuple[Division, ...]]]] = {}
        for table, is_full in ((self.full, True), (self.alias, False)):
            for key, found in table.items():
                self.starting_with.setdefault(key[:2], []).append((key, is_full, tuple(found)))
        for entries in self.starting_with.values():
            entries.sort(key=lambda e: (-len(e[0]), not e[1]))

    def path(self, code: str) -> tuple[Division, ...]:
        """Province first, ``code`` last; empty for an unknown code."""
        chain: list[Division] = []
        division = self.by_code.get(code)
        while division is not None:
            chain.append(division)
            division = self.by_code.get(division.parent)
        return tuple(reversed(chain))

    def is_within(self, division: Division, ancestor: Division) -> bool:
        """True when ``division`` lies (at any depth) under ``ancestor``."""
        if division.level <= ancestor.level:
            return False
        if ancestor.level == PROVINCE:
            return division.code[:2] == ancestor.code[:2]
        return division.parent == ancestor.code


def _read_rows(path: Path) -> list[tuple[str, str, str]]:
    with path.open(encoding="utf-8") as fh:
        next(fh)  # header
        return [tuple(line.rstrip("\n").split("\t")) for line in fh if line.strip()]  # type: ignore[misc]


@cache
def table() -> DivisionTable:
    """The shared table, read from the data file on first use (about 3,200 rows, a few ms)."""
    return DivisionTable(_read_rows(DATA_FILE))


def provinces() -> list[Division]:
    """The 31 provincial divisions, in code order."""
    return list(table().children_of[""])


def children(code: str | None) -> list[Division]:
    """Provinces when ``code`` is empty or None; otherwise the direct children (``[]`` for a leaf or
    an unknown code: check with :func:`lookup` when the difference matters)."""
    return list(table().children_of.get(code or "", []))


def lookup(code: str) -> Division | None:
    return table().by_code.get(code)


def path(code: str) -> tuple[Division, ...]:
    """``path("330106")`` → (浙江省, 杭州市, 西湖区); empty for an unknown code."""
    return table().path(code)


def find_all(name: str, parent: str | None = None) -> list[Division]:
    """Every division called ``name`` (full name first; short names and aliases when no full name
    matches), optionally only those under the division with code ``parent`` (at any depth)."""
    t = table()
    name = name.strip()
    if not name:
        return []
    anchor = t.by_code.get(parent) if parent else None
    if parent and anchor is None:
        return []

    def within(found: list[Division]) -> list[Division]:
        return [d for d in found if anchor is None or t.is_within(d, anchor)]

    exact = within(t.full.get(name, []))
    if exact:
        return exact
    by_alias = within(t.alias.get(name, []))
    if by_alias:
        return by_alias
    # "广西省", "内蒙古省": a short name with the wrong ending
    stem = short_name(name)
    return within(t.alias.get(stem, []) + t.full.get(stem, [])) if stem else []


def find(name: str, parent: str | None = None) -> Division | None:
    """The one division ``name`` means, or None when there is none or it is ambiguous.

    ``find("西湖")`` is None (杭州 and 南昌 both have a 西湖区); ``find("西湖", parent="330100")`` is
    杭州's. When all matches lie on one line of descent (北京市 the province and 北京市 the city;
    吉林省 and 吉林市), the highest one is meant.
    """
    found = find_all(name, parent)
    if not found:
        return None
    top = min(found, key=lambda d: d.level)
    t = table()
    if all(d is top or t.is_within(d, top) for d in found):
        return top
    return None
