"""The quote sheet's product matcher (sheets/matching.py) on two labelled sets over the market
catalog: set A was written before the matcher, set B by someone who never saw it and is not looked
at row by row while tuning (only its aggregates are shown, as here). A wrong match is worse than
none (the preview asks the merchant about a row it cannot match, but would import a wrong one), so
wrong matches are held near zero and right ones above the target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shangliao.intent.scoring import load_variants
from shangliao.sheets.matching import BY_NAME, BY_SKU, NO_SUCH_OPTION, WHICH_OPTION, Matcher

DATA = Path(__file__).parent / "data"
RIGHT, WRONG = 0.9, 0.02


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    variants = load_variants(DATA / "intent_market_catalog.json")
    return Matcher(variants, {f"SKU-{v.variant_id}": v.variant_id for v in variants})


@pytest.mark.parametrize("name", ["a", "b"])
def test_each_labelled_set_is_matched_right_and_almost_never_wrong(matcher, name):
    rows = [
        json.loads(line) for line in (DATA / f"quote_match_{name}.jsonl").read_text().splitlines() if line
    ]
    got = [matcher.match(r["sku"], r["name"], r["spec"]).variant_id for r in rows]
    right = sum(g == r["expect"] for g, r in zip(got, rows, strict=True)) / len(rows)
    wrong = sum(g is not None and g != r["expect"] for g, r in zip(got, rows, strict=True)) / len(rows)
    assert len(rows) >= 50
    assert right >= RIGHT and wrong <= WRONG, f"right={right:.3f} wrong={wrong:.3f}"


def test_the_order_of_trust_and_the_reasons_given(matcher):
    assert matcher.match("sku-2203", "口红", "正红").how == BY_SKU  # the SKU wins over the words
    exact = matcher.match(None, "棉知 纯棉圆领短袖T恤 男女同款 夏季", "黑色/L")
    assert (exact.variant_id, exact.how) == (2205, BY_NAME)
    assert matcher.match(None, "棉知 纯棉圆领短袖T恤 男女同款 夏季", "黑色").problem == WHICH_OPTION
    assert matcher.match(None, "T恤", "红色 M").problem == NO_SUCH_OPTION
    assert matcher.match(None, "", "").variant_id is None
