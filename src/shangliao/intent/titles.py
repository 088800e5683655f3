"""Marketplace titles read for the words customers use: brand, head noun, the rest.

Merchants copy titles the way marketplaces write them: brand + noun + spec + selling points
("禾田 纯牛奶 250ml×12盒 整箱装", "云朵 抽纸 3层120抽×24包 家用实惠装"), and customers say the noun
("牛奶", "纸巾"). A title is cut into tokens at spaces and punctuation; then
- spec parts are set aside: sizes, counts and their units (250ml, ×12盒, 3层, 5双装, 20000mAh,
  UPF50+: any ASCII token with a digit);
- marketing words are set aside (整箱装, 家用, 实惠装, 正品, 新款 …), whole or at a token's edges;
- the first token is the brand when the title has more than one word token left (or, in a title
  without spaces, a known brand at its start: one that begins another title of the shop);
- the head noun is the first word token after the brand with a Chinese character in it (纯牛奶,
  氨基酸洗发水, 快充数据线 after "Type-C"); the tokens after it are selling points (降噪, 鸡肉味).

The catalog indexes the head noun as a name (its tails name the thing too: 氨基酸洗发水 → 洗发水),
and the brand and the selling points only as weak hints. A title that is one plain word (矿泉水,
纯棉圆领T恤) is its own head noun, as before.

``NEAR_SYNONYMS`` is a small table of common household nouns customers use for a noun a title
holds ("纸巾" for 抽纸, "水" for 天然水). It is deliberately short: a merchant's own aliases
(``Product.aliases``) cover everything else, shop by shop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from shangliao.intent.text import is_hanzi

# Units a spec is counted or measured in, in titles ("250ml×12盒", "3层120抽×24包", "5双装").
_SPEC_UNITS = (
    "毫升|千克|公斤|毫米|厘米|英寸|升|克|斤|米|寸|片|袋|包|盒|箱|瓶|支|卷|抽|层|双|只|个|罐|桶|听|粒|"
    "条|枚|套|件|杯|入|提|对|组|块|张|贴|颗|根|段|码|号|寸|人份|斤装|g|kg|ml|l|mg|cm|mm|m|w|v|mah|gb|tb|"
    "oz|pcs"
)
_SPEC = re.compile(
    rf"(?:[x×*]\s*)?\d+(?:\.\d+)?\s*(?:{_SPEC_UNITS})?(?:装)?(?:\s*[x×*]\s*\d+(?:\.\d+)?\s*(?:{_SPEC_UNITS})?)*"
)
_BREAKS = re.compile(r"[\s,，、/|+＋;；:：()（）\[\]【】<>《》\"'“”‘’!！?？。·~～]+")

# Selling words that say nothing about what the thing is. Set aside whole, or at a token's edge
# ("家用实惠装" → "", "新款纯棉T恤" → "纯棉T恤").
MARKETING = (
    "整箱装",
    "整箱",
    "家用",
    "实惠装",
    "家庭装",
    "量贩装",
    "分享装",
    "囤货装",
    "组合装",
    "正品",
    "新款",
    "爆款",
    "热卖",
    "特价",
    "包邮",
    "现货",
    "官方",
    "旗舰店",
    "同款",
    "网红",
    "新品",
    "促销",
    "限时",
    "秒杀",
    "大容量",
)
_MARKETING_EDGE = re.compile("^(?:" + "|".join(MARKETING) + ")+|(?:" + "|".join(MARKETING) + ")+$")

# Common household nouns and the nouns they stand for: a product whose head noun ends with one of
# the nouns on the right is also named by the word on the left. Kept small on purpose (see above).
NEAR_SYNONYMS: dict[str, tuple[str, ...]] = {
    "水": ("矿泉水", "天然水", "饮用水", "纯净水"),
    "奶": ("牛奶", "纯奶"),
    "米": ("大米", "香米", "粳米", "籼米"),
    "油": ("食用油", "花生油", "菜籽油", "调和油", "玉米油", "大豆油", "葵花籽油", "橄榄油"),
    "纸巾": ("抽纸", "面巾纸", "餐巾纸"),
    "面巾纸": ("抽纸",),
    "抽纸": ("面巾纸",),
    "卫生纸": ("卷纸", "卷筒纸"),
    "卷纸": ("卫生纸",),
    "湿纸巾": ("湿巾",),
    "耳机": ("耳麦",),
    "耳麦": ("耳机",),
    "充电宝": ("移动电源",),
    "移动电源": ("充电宝",),
    "充电线": ("数据线",),
    "尿不湿": ("纸尿裤", "纸尿片", "拉拉裤"),
    "纸尿裤": ("尿不湿",),
    "狗粮": ("犬粮",),
    "袜子": ("袜",),
    "短袖": ("t恤",),
    "跑鞋": ("跑步鞋",),
    "球鞋": ("运动鞋",),
    "唇膏": ("口红",),
    "口红": ("唇膏",),
    "洗碗液": ("洗洁精",),
    "洗洁精": ("洗碗液", "洗碗精"),
    "沐浴液": ("沐浴露",),
    "沐浴露": ("沐浴液",),
    "洗发露": ("洗发水",),
    "洗发水": ("洗发露",),
    "面包": ("吐司",),
    "吐司": ("吐司面包",),
    "苏打水": ("苏打气泡水",),
}


MAX_BRAND_CHARS = 4


@dataclass(frozen=True)
class Title:
    brand: str | None  # "禾田"
    noun: str  # "纯牛奶": the head noun token, folded
    others: tuple[str, ...]  # selling points left after spec and marketing words: ("低温冷藏",)


def tokens(title: str) -> list[str]:
    """The word tokens of a folded title, in order: spec parts and marketing words set aside."""
    found = []
    for raw in _BREAKS.split(title):
        if not raw:
            continue
        if not any(is_hanzi(ch) for ch in raw):
            # An ASCII token with a digit is a spec (SPF50, USB3.0, 22.5w); without one it is a word
            # (type-c, nfc), kept if the title has nothing better.
            if not any(ch.isdigit() for ch in raw):
                found.append(raw)
            continue
        for piece in _SPEC.split(raw):
            piece = _MARKETING_EDGE.sub("", piece.strip("-_.&"))
            if len(piece) >= 2 or (piece and not is_hanzi(piece)):
                found.append(piece)
    return [t for t in found if len(t) >= 2]


def read_title(title: str, brands: Iterable[str] = ()) -> Title:
    """The brand, head noun and selling points of a folded title (see the module's doc)."""
    words = tokens(title)
    if not words:
        return Title(None, title, ())
    brand = None
    if len(words) >= 2 and title.startswith(words[0]) and _may_be_brand(words[0], brands):
        brand, words = words[0], words[1:]
    else:
        brand = next((b for b in brands if words[0].startswith(b) and len(words[0]) - len(b) >= 2), None)
        if brand is not None:
            words = [words[0][len(brand) :], *words[1:]]
    head = next((i for i, w in enumerate(words) if any(is_hanzi(ch) for ch in w)), 0)
    return Title(brand, words[head], tuple(words[:head] + words[head + 1 :]))


def _may_be_brand(word: str, brands: Iterable[str]) -> bool:
    """A Chinese brand is short (禾田, 草原汉); a longer leading word is one when another title of the
    shop starts with it too, else it is more likely the noun itself ("加厚垃圾袋 手提式")."""
    return word in brands or not is_hanzi(word[0]) or len(word) <= MAX_BRAND_CHARS


def brands_of(titles: Iterable[str]) -> set[str]:
    """Leading tokens that begin two or more titles with several word tokens: the shop's brands."""
    seen: dict[str, int] = {}
    for title in titles:
        words = tokens(title)
        if len(words) >= 2 and title.startswith(words[0]):
            seen[words[0]] = seen.get(words[0], 0) + 1
    return {word for word, count in seen.items() if count >= 2}


def near_synonyms(noun: str) -> list[str]:
    """The household words that also name a product whose head noun is ``noun`` (纸巾 for 抽纸)."""
    return [word for word, nouns in NEAR_SYNONYMS.items() if noun.endswith(nouns) and word != noun]
