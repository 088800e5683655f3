"""Cue words that tell an order from a question, a complaint or a cancellation.

All patterns run on folded text (see ``intent.text.fold``): NFKC has already turned ，！？；： into
their ASCII forms, while 、 and 。 stay as they are.

A message is read clause by clause (split at punctuation and line breaks), because one message
often mixes them: "在吗？我要两箱矿泉水" orders, "抽纸还有货吗，有的话拿两提" asks and then orders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A full stop between digits is a decimal point (1.5L), not the end of a clause.
CLAUSE_BREAK = re.compile(r"(?:[,;!?\n、。~…]|(?<!\d)\.|\.(?!\d))+")

# Words that join two items of one order; each starts a new item.
CONJUNCTION = re.compile(r"和|跟|还有|再来|还要|另外|以及|再加|外加|加上|再要|然后|换成|改成")

# A negation cancels what follows it up to 了, a space, or the next thing asked for:
# "不要面膜了 换成面霜一瓶" cancels only the face mask.
NEGATION = re.compile(r"不要|不买|先不|取消|算了|不用|不需要|不想要|别要|退掉|删掉|去掉|不了")
NEGATION_END = re.compile(r"了|\s|换成|改成|要|来")
_CLAUSE_END = re.compile(r"[了吧啦哈呀啊哦]*\s*")

# After-sales talk about what was already bought or ordered: never a new order, whatever it
# quantifies. "上次" alone is not one: "跟上次一样的10斤装" orders again.
_COMPLAINT = re.compile(
    r"掉色|起球了|坏了|破了|烂了|漏了|过期|太咸|太淡|"
    r"质量|退货|退款|换货|退钱|投诉|差评|少发|发错|漏发|买错|拍错|不新鲜|不好用|有个洞|有洞|售后"
)
# Talk of an earlier purchase: after-sales too, unless the customer asks for it again after it
# ("上次买的那个猫粮再来两袋").
_BOUGHT = re.compile(r"之前买|买的|买了|买过|收到的|收到了|拍了|下单了|下过单|已下单|已拍|付款了|已付款")
_AGAIN = re.compile(r"再来|再要|再拿|再买|再订|再拍|还要|照旧|照原样")
# Asking about price or a discount: "两件多少钱" names a quantity but orders nothing yet.
_PRICE = re.compile(r"钱|价|怎么卖|几块|几元|便宜|优惠|打折|折扣|包邮|运费|邮费|差多少|砍")
# Questions, and asking to see something first ("给我看看T恤的图片"), which is not ordering it yet.
_QUESTION = re.compile(
    r"\?|吗|嘛|呢|多少|几|什么|啥|怎么|咋|怎样|哪|为什么|有没有|是不是|能不能|可不可以|会不会|"
    r"行不行|好不好|多久|是否|请问|(.)不\1|看看|看一下|看下|图片|照片|实拍|链接|视频"
)
# A request phrased as a question is still an order: "能不能帮我发两箱柠檬茶过来".
_POLITE = re.compile(
    r"(?:能不能|可不可以|可以|能否|能|麻烦|请)(?:帮我|给我|帮忙)?(?:下单|下个单|发|寄|来|拿|订|留|安排|备)"
)
_ORDER_CUE = re.compile(
    r"下单|下个单|拍下|我要|想要|还要|再要|就要|(?<!不)要了|给我|帮我|来(?![自的])|拿|订|买(?![的了过])|"
    r"加(?![厚急])|整|拍|留|寄|发我|换成|改成|安排|(?<![不需只])要(?![不求是])"
)
# "苹果和香蕉各来一箱": the quantity after 各 is for each item named before it.
EACH = "各"
# "买两件的话" is a condition, not an order; what follows 的话 may be one ("有的话拿两提").
CONDITION = "的话"


@dataclass(frozen=True)
class ClauseCues:
    complaint: bool
    price: bool
    question: bool
    polite: bool
    order_cue: bool
    each: bool  # 各: items named without a quantity share the one that follows

    @property
    def may_order(self) -> bool:
        """Whether items in this clause can be ordered (a polite question still needs a quantity)."""
        return not (self.complaint or self.price or (self.question and not self.polite))


def read_cues(clause: str) -> ClauseCues:
    bought = _BOUGHT.search(clause)
    return ClauseCues(
        complaint=bool(_COMPLAINT.search(clause))
        or (bought is not None and not _AGAIN.search(clause, bought.end())),
        price=bool(_PRICE.search(clause)),
        question=bool(_QUESTION.search(clause)),
        polite=bool(_POLITE.search(clause)),
        order_cue=bool(_ORDER_CUE.search(clause)),
        each=EACH in clause,
    )


def negated_spans(clause: str, offset: int) -> list[tuple[int, int]]:
    """Spans (absolute, from ``offset``) that a negation cancels. A negation that ends its clause
    cancels what came before it instead ("充电宝不要了", "面膜先不要")."""
    spans = []
    for found in NEGATION.finditer(clause):
        if _CLAUSE_END.fullmatch(clause, found.end()):
            spans.append((offset, offset + len(clause)))
            continue
        stop = NEGATION_END.search(clause, found.end())
        end = stop.end() if stop and stop.group() == "了" else stop.start() if stop else len(clause)
        spans.append((offset + found.start(), offset + max(end, found.end())))
    return spans
