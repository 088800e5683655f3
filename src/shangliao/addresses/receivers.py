"""Does a piece of pasted text look like the receiver's name? A score, not a verdict.

Names are two to four Chinese characters (张三, 欧阳娜娜), a name with an honorific (王先生, 陈老师),
or a transliterated name with a middle dot (阿依古丽·买买提). A known surname raises the score; an
ending that belongs to addresses (路, 号, 楼, 村 …) lowers it a lot, so "西溪花园" or "东门" lose to a
real name elsewhere in the paste.
"""

from __future__ import annotations

import re

from shangliao.addresses.divisions import table

# Common single-character surnames (roughly the 300 most frequent), and compound ones.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫"
    "孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童"
    "凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦"
    "麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明"
    "佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝郜海阚花权强帅屠"
    "豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫"
    "杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由"
)
COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "令狐",
        "夏侯",
        "轩辕",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "百里",
        "呼延",
        "万俟",
        "闻人",
        "澹台",
        "公冶",
        "太史",
        "申屠",
        "钟离",
        "宗政",
        "濮阳",
        "淳于",
        "单于",
        "赫连",
        "第五",
    ]
)
HONORIFICS = ("先生", "女士", "小姐", "老师", "师傅", "同学", "阿姨", "经理", "总")

# Last characters of street, building and place words; a name almost never ends with one.
_ADDRESS_ENDINGS = frozenset(
    "路街巷弄号楼室栋幢层座村镇乡区县省市苑厦院门站店场馆校庄屯寨坊寓舍墅组社处部司厂园城里湾港岛洲桥道口柜箱点所局队营台"
)
_NOT_NAMES = frozenset(
    {
        "收货",
        "收件",
        "地址",
        "电话",
        "手机",
        "姓名",
        "联系",
        "详细",
        "地区",
        "所在",
        "邮编",
        "号码",
        "谢谢",
        "你好",
        "您好",
    }
)

_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff]"
_PLAIN_NAME = re.compile(rf"{_CJK}{{2,4}}")
_DOTTED_NAME = re.compile(rf"{_CJK}{{1,8}}·{_CJK}{{1,8}}(?:·{_CJK}{{1,8}})?")
_HONORIFIC_NAME = re.compile(rf"{_CJK}{{1,2}}(?:{'|'.join(HONORIFICS)})")

REJECTED = float("-inf")
# What the street part usually ends with, so that a name glued after it can be told apart.
_GLUE_POINT = re.compile(r"[0-9A-Za-z号室楼层栋幢座户区园厦)]")


def normalize_name(token: str) -> str:
    """One kind of middle dot in transliterated names (the paste may carry •, ・ or ．)."""
    return re.sub(r"[•・．.]", "·", token.strip())


def name_score(token: str) -> float:
    """How much ``token`` looks like a person's name: REJECTED, or higher is likelier."""
    token = normalize_name(token)
    if _DOTTED_NAME.fullmatch(token):
        return 4.0
    if _HONORIFIC_NAME.fullmatch(token) and (token[0] in SURNAMES or token[:2] in COMPOUND_SURNAMES):
        return 4.0
    if not _PLAIN_NAME.fullmatch(token) or token in _NOT_NAMES or _GLUE_POINT.match(token):
        return REJECTED  # "号陈小青" is the end of a street number with a name glued to it
    score = 0.0
    if (token[:2] in COMPOUND_SURNAMES and len(token) >= 3) or token[0] in SURNAMES:
        score += 2
    if len(token) <= 3:
        score += 1
    if token[-1] in _ADDRESS_ENDINGS:
        score -= 4
    t = table()
    if token in t.full or token in t.alias:
        score -= 1
    return score


def addressed_to(token: str) -> str:
    """``"张伟收"`` → ``"张伟"``: "X 收" is how a letter names its receiver."""
    stem = token.removesuffix("收")
    return stem if stem != token and len(stem) >= 2 and name_score(stem) > REJECTED else token


def glued_tail_name(text: str) -> tuple[str, str] | None:
    """``"…100号张三"`` → ``("…100号", "张三")`` when the end looks like a surname and given name glued
    to the street part; None otherwise."""
    for size in (2, 3):
        tail, before = text[-size:], text[:-size]
        if len(before) < 2 or not _GLUE_POINT.fullmatch(before[-1]) or not _PLAIN_NAME.fullmatch(tail):
            continue
        if (tail[0] in SURNAMES or tail[:2] in COMPOUND_SURNAMES) and tail[-1] not in _ADDRESS_ENDINGS:
            return before, tail
    return None
