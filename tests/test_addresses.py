"""Addresses: the division table, name lookups, and smart paste (pure unit tests, no database)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shangliao.addresses import divisions
from shangliao.addresses.smart_paste import FIELDS, MAX_TEXT_LENGTH, ParsedAddress, parse_address
from shangliao.core.errors import Invalid

ZONE = re.compile(r"\w{0,8}?(?:新区|开发区|园区)")
LABELLED = Path(__file__).parent / "data" / "addresses.jsonl"


def labelled_rows() -> list[dict]:
    with LABELLED.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def names(found: list[divisions.Division]) -> list[str]:
    return [d.name for d in found]


# --- the division table ---------------------------------------------------------------------------


def test_the_table_holds_the_31_mainland_provinces_with_six_digit_codes():
    # given the shipped table, when the provinces are listed
    found = divisions.provinces()
    # then all 31 are there, in code order, and Hong Kong, Macau and Taiwan are not
    assert len(found) == 31
    assert [d.code for d in found] == sorted(d.code for d in found)
    assert found[0].name == "北京市" and found[-1].name == "新疆维吾尔自治区"
    assert not {"香港特别行政区", "澳门特别行政区", "台湾省"} & set(names(found))
    assert all(len(d.code) == 6 and d.code.endswith("0000") for d in found)


def test_every_division_hangs_under_an_existing_parent_one_level_up():
    table = divisions.table()
    assert len(table.by_code) > 3000
    for division in table.by_code.values():
        if division.parent:
            parent = table.by_code[division.parent]
            assert parent.level == division.level - 1
            assert division.code[:2] == parent.code[:2]


def test_municipalities_read_province_then_one_city_of_the_same_name_then_districts():
    for code, name, district in (
        ("110000", "北京市", "朝阳区"),
        ("120000", "天津市", "滨海新区"),
        ("310000", "上海市", "浦东新区"),
        ("500000", "重庆市", "渝中区"),
    ):
        [city] = divisions.children(code)
        assert (city.name, city.level) == (name, 2)
        assert district in names(divisions.children(city.code))
    # 重庆's counties sit with its districts instead of under a second "县" node
    assert {"巫山县", "石柱土家族自治县"} <= set(names(divisions.children("500100")))


def test_directly_administered_county_level_units_are_cities_without_districts():
    for province, city in (
        ("湖北省", "仙桃市"),
        ("湖北省", "神农架林区"),
        ("河南省", "济源市"),
        ("海南省", "琼海市"),
    ):
        found = divisions.find(city)
        assert found is not None and found.level == 2
        assert divisions.path(found.code)[0].name == province
        assert divisions.children(found.code) == []
    assert "石河子市" in names(divisions.children("650000"))
    assert not any("直辖" in d.name for d in divisions.table().by_code.values())


def test_cities_without_a_district_level_have_no_children():
    for name in ("东莞市", "中山市", "儋州市", "嘉峪关市"):
        city = divisions.find(name)
        assert city is not None and city.level == 2
        assert divisions.children(city.code) == []


def test_statistical_development_zones_are_not_divisions():
    assert divisions.find("石家庄高新技术产业开发区") is None
    assert not [
        d for d in divisions.table().by_code.values() if d.code[4:] in {f"{n}" for n in range(71, 80)}
    ]


def test_children_lookup_and_path():
    assert names(divisions.children("330100"))[:3] == ["上城区", "拱墅区", "西湖区"]
    assert divisions.children(None) == divisions.provinces()
    assert divisions.children("999999") == []
    assert divisions.lookup("330106") == divisions.Division("330106", "西湖区", 3, "330100", "西湖")
    assert divisions.lookup("999999") is None
    assert names(divisions.path("330106")) == ["浙江省", "杭州市", "西湖区"]
    assert divisions.path("nope") == ()


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("浙江", "浙江省"),
        ("浙江省", "浙江省"),
        ("广西", "广西壮族自治区"),
        ("广西省", "广西壮族自治区"),
        ("内蒙古", "内蒙古自治区"),
        ("内蒙", "内蒙古自治区"),
        ("新疆", "新疆维吾尔自治区"),
        ("杭州", "杭州市"),
        ("恩施", "恩施土家族苗族自治州"),
        ("恩施州", "恩施土家族苗族自治州"),
        ("伊犁州", "伊犁哈萨克自治州"),
        ("余杭", "余杭区"),
        ("莫力达瓦", "莫力达瓦达斡尔族自治旗"),
        ("北京", "北京市"),
    ],
)
def test_find_understands_short_names(written, meant):
    assert divisions.find(written).name == meant


def test_find_returns_none_when_a_name_is_ambiguous_and_the_parent_decides():
    # given two 西湖区 (杭州, 南昌) and two 朝阳区 (北京, 长春)
    assert divisions.find("西湖") is None
    assert names(divisions.find_all("西湖区")) == ["西湖区", "西湖区"]
    # when the parent is given, then the one under it is found (at any depth)
    assert divisions.find("西湖", parent="330100").code == "330106"
    assert divisions.find("朝阳区", parent="220000").code == "220104"
    assert divisions.find("朝阳区", parent="999999") is None
    assert divisions.find("") is None
    assert divisions.find("火星") is None


def test_short_names_keep_meaningful_stems_only():
    assert divisions.short_name("城区") == ""  # one character would match everywhere
    assert divisions.short_name("鄂温克族自治旗") == "鄂温克"
    assert divisions.short_name("积石山保安族东乡族撒拉族自治县") == "积石山"
    assert divisions.short_name("巴音郭楞蒙古自治州") == "巴音郭楞"


# --- smart paste ------------------------------------------------------------------------------------


def fields(parsed: ParsedAddress) -> tuple[str, ...]:
    return tuple(getattr(parsed, f) for f in FIELDS)


def test_the_example_from_the_issue():
    parsed = parse_address("张三 13812345678 浙江省杭州市西湖区文三路 100 号")
    assert fields(parsed) == ("张三", "13812345678", "浙江省", "杭州市", "西湖区", "文三路100号")
    assert (parsed.province_code, parsed.city_code, parsed.district_code) == ("330000", "330100", "330106")
    assert parsed.phone_kind == "mobile"
    assert parsed.missing == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # province left out: inferred from the city
        (
            "杭州市西湖区文三路100号 李四 13900001111",
            ("李四", "13900001111", "浙江省", "杭州市", "西湖区", "文三路100号"),
        ),
        # phone first, municipality with the picker's repeated city
        (
            "+86 138-1234-5678 王五 北京市 北京市 朝阳区 建国路 88 号",
            ("王五", "13812345678", "北京市", "北京市", "朝阳区", "建国路88号"),
        ),
        # labelled form with newlines and full-width colons
        (
            "收货人：赵六\n手机号码：15012345678\n所在地区：广西壮族自治区 南宁市 青秀区\n详细地址：民族大道 1 号",
            ("赵六", "15012345678", "广西壮族自治区", "南宁市", "青秀区", "民族大道1号"),
        ),
        # autonomous prefecture written short, receiver at the end after a comma
        (
            "恩施州利川市清江大道 6 号，余晖，18972868837",
            ("余晖", "18972868837", "湖北省", "恩施土家族苗族自治州", "利川市", "清江大道6号"),
        ),
        # a directly administered county-level city: no district
        (
            "海南省琼海市嘉积镇银海路 22 号 邓超 13876203389",
            ("邓超", "13876203389", "海南省", "琼海市", "", "嘉积镇银海路22号"),
        ),
        # a city without districts, province left out
        (
            "东莞市长安镇振安中路 368 号 宋佳 13650287719",
            ("宋佳", "13650287719", "广东省", "东莞市", "", "长安镇振安中路368号"),
        ),
        # short region names, a street named after another place
        (
            "内蒙古包头昆都仑区 钢铁大街 45 号 北京东路口 巴特尔 13847195526",
            ("巴特尔", "13847195526", "内蒙古自治区", "包头市", "昆都仑区", "钢铁大街45号北京东路口"),
        ),
        # transliterated name with a middle dot, 新疆 short
        (
            "新疆乌鲁木齐市天山区解放南路 50 号 艾力•吐尔逊 13999125506",
            ("艾力·吐尔逊", "13999125506", "新疆维吾尔自治区", "乌鲁木齐市", "天山区", "解放南路50号"),
        ),
        # a fixed line when there is no mobile
        (
            "罗斌 (010)62751234 北京市海淀区颐和园路 5 号",
            ("罗斌", "010-62751234", "北京市", "北京市", "海淀区", "颐和园路5号"),
        ),
        # no separators at all
        (
            "王小明13800001111广东省深圳市福田区福华三路88号",
            ("王小明", "13800001111", "广东省", "深圳市", "福田区", "福华三路88号"),
        ),
        # ambiguous district alone: kept, but the city is not guessed
        ("鼓楼区 建设路 12 号 姚远 13959137720", ("姚远", "13959137720", "", "", "鼓楼区", "建设路12号")),
        # region repeated in the detail, pipes, Taobao's postcode
        (
            "蔡明 | 86-18768105533 | 浙江省 杭州市 滨江区 | 浙江省杭州市滨江区江南大道 588 号 | 000000",
            ("蔡明", "18768105533", "浙江省", "杭州市", "滨江区", "江南大道588号"),
        ),
    ],
)
def test_parse_address_cases(text, expected):
    assert fields(parse_address(text)) == expected


def test_ambiguous_district_leaves_codes_and_city_missing():
    parsed = parse_address("朝阳区 建设路 5 号 范思远 18691856603")
    assert (parsed.district, parsed.district_code, parsed.city_code) == ("朝阳区", "", "")
    assert parsed.missing == ("province", "city")


def test_city_without_districts_does_not_report_the_district_missing():
    assert parse_address("中山市石岐街道孙文中路 112 号 唐明 13726049856").missing == ()


def test_notes_and_extra_phones_are_kept_apart_from_the_detail():
    parsed = parse_address("天津市南开区 卫津路 94 号 梁敏 022-27403536 / 13752012345（工作日送）")
    assert (parsed.phone, parsed.phone_kind, parsed.other_phones) == (
        "13752012345",
        "mobile",
        ("022-27403536",),
    )
    assert (parsed.detail, parsed.note) == ("卫津路94号", "工作日送")


def test_a_mobile_looking_number_that_is_not_valid_is_flagged():
    parsed = parse_address("张三 14012345678 浙江省杭州市西湖区文三路 100 号")  # 140: data-only SIMs
    assert (parsed.receiver, parsed.phone, parsed.phone_kind) == ("张三", "14012345678", "unverified")
    assert parsed.detail == "文三路100号"


def test_a_number_that_is_no_phone_at_all_is_not_taken_for_one():
    parsed = parse_address("张三 12012345678 浙江省杭州市西湖区文三路 100 号")
    assert (parsed.receiver, parsed.phone, parsed.phone_kind) == ("张三", "", "")
    assert "phone" in parsed.missing


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "   ", "\n\n", "\x00", "\x00" * 50, "，。；：、|/", "🙂🙂", "\u200b\ufeff"]
)
def test_empty_or_junk_text_gives_empty_fields(text):
    parsed = parse_address(text)
    assert fields(parsed) == ("",) * 6
    assert parsed.missing == FIELDS


def test_only_a_phone():
    parsed = parse_address(" 138 1234 5678 ")
    assert parsed.phone == "13812345678"
    assert parsed.missing == ("receiver", "province", "city", "district", "detail")


def test_emoji_and_lone_surrogates_never_reach_the_fields():
    # given chat decorations and a broken surrogate (possible in JSON), when parsed
    parsed = parse_address("☎️13812345678 👤\ud800张三 🏠浙江省杭州市西湖区\udfff文三路100号 ✅")
    # then the fields are clean, and encodable as UTF-8 for the API response
    assert fields(parsed) == ("张三", "13812345678", "浙江省", "杭州市", "西湖区", "文三路100号")
    "".join(fields(parsed)).encode("utf-8")


def test_nul_characters_are_ignored():
    assert parse_address("张三\x00 13812345678 浙江省杭州市\x00西湖区文三路 100 号").detail == "文三路100号"


def test_text_longer_than_the_limit_is_refused_with_a_coded_error():
    assert parse_address("浙" * MAX_TEXT_LENGTH).detail == "浙" * MAX_TEXT_LENGTH  # at the limit: parsed
    with pytest.raises(Invalid) as raised:
        parse_address("浙江省杭州市" * 2000)  # 12,000 characters
    assert raised.value.code == "address.text_too_long"
    assert raised.value.localized("zh_CN") == f"地址文本过长：最多 {MAX_TEXT_LENGTH} 个字符。"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_within_the_limit_parses_without_an_exception(text):
    parsed = parse_address(text)
    assert set(parsed.missing) <= set(FIELDS)
    assert "\x00" not in "".join(fields(parsed))


# --- the labelled set ---------------------------------------------------------------------------------


def test_the_labelled_set_is_large_and_consistent_with_the_division_table():
    rows = labelled_rows()
    assert len(rows) >= 120
    for row in rows:
        assert set(row) == {"text", *FIELDS}
        if not row["province"]:
            continue  # an ambiguous district on its own: nothing above it can be known
        province = divisions.find(row["province"])
        city = divisions.find(row["city"], parent=province.code)
        assert province.name == row["province"] and city.name == row["city"], row
        if row["district"]:
            assert divisions.find(row["district"], parent=city.code).name == row["district"], row
        else:  # no district level, or a development zone that spans several districts
            assert divisions.children(city.code) == [] or ZONE.match(row["detail"]), row


def test_field_accuracy_over_the_labelled_set_is_at_least_95_percent():
    rows = labelled_rows()
    correct = sum(getattr(parse_address(r["text"]), f) == r[f] for r in rows for f in FIELDS)
    accuracy = correct / (len(rows) * len(FIELDS))
    assert accuracy >= 0.95, f"field accuracy {accuracy:.3f}"
