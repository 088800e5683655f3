"""Word lists for invented customers and addresses (all fictional)."""

from __future__ import annotations

import random

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞宇浩然子涵欣怡梓轩雨桐思远嘉怡晨阳一诺"

# (province, city, district, streets): municipalities repeat their name as province and city.
REGIONS = [
    ("浙江省", "杭州市", "西湖区", ["文三路", "文二路", "教工路", "天目山路"]),
    ("浙江省", "宁波市", "鄞州区", ["天童南路", "四明中路"]),
    ("江苏省", "南京市", "鼓楼区", ["中山北路", "湖南路"]),
    ("江苏省", "苏州市", "姑苏区", ["人民路", "干将西路"]),
    ("广东省", "广州市", "天河区", ["天河路", "体育西路", "珠江新城华夏路"]),
    ("广东省", "深圳市", "南山区", ["科技园南路", "南海大道"]),
    ("广东省", "东莞市", "", ["东城大道", "鸿福路"]),
    ("北京市", "北京市", "朝阳区", ["建国路", "望京街"]),
    ("上海市", "上海市", "浦东新区", ["世纪大道", "张杨路"]),
    ("四川省", "成都市", "武侯区", ["人民南路", "科华北路"]),
    ("湖北省", "武汉市", "洪山区", ["珞喻路", "鲁磨路"]),
    ("广西壮族自治区", "南宁市", "青秀区", ["民族大道", "东葛路"]),
    ("新疆维吾尔自治区", "乌鲁木齐市", "天山区", ["解放南路"]),
    ("山东省", "青岛市", "市南区", ["香港中路", "东海西路"]),
]

# Mobile prefixes that are valid today, so generated numbers pass validation.
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "180",
    "181",
    "186",
    "187",
    "188",
    "189",
    "191",
    "199",
]


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def address(rng: random.Random, receiver: str, phone: str) -> dict[str, str]:
    province, city, district, streets = rng.choice(REGIONS)
    detail = f"{rng.choice(streets)}{rng.randint(1, 399)}号{rng.randint(1, 30)}幢{rng.randint(101, 2806)}室"
    return {
        "receiver": receiver,
        "phone": phone,
        "province": province,
        "city": city,
        "district": district,
        "detail": detail,
    }
