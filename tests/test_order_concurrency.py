"""Many buyers at once, over real HTTP: no oversell, no "database is locked"."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.catalog import make_product
from tests.support.live import serve
from tests.support.orders import ADDRESS


@pytest.fixture(scope="session")
def live_url(app):
    with serve(app) as url:
        yield url


def _buy(url: str, token: str, variant_id: int, n: int) -> list[httpx.Response]:
    body = {"items": [{"variant_id": variant_id, "quantity": 1}], "address": ADDRESS}
    headers = {"Authorization": f"Bearer {token}"}

    def one(_):
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            return client.post("/api/v1/orders", json=body)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_twenty_buyers_of_the_last_unit_make_exactly_one_order(runtime, shop, live_url):
    last = make_product(runtime, shop, name="最后一件", stock=1)
    responses = _buy(live_url, shop.token, last.variant_id, 20)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19, [r.text for r in responses if r.status_code not in (201, 409)]
    assert all(r.json()["error"]["code"] == "stock.insufficient" for r in responses if r.status_code == 409)
    product = shop.api.get(f"/api/v1/products/{last.product_id}").json()
    assert (product["variants"][0]["reserved"], product["variants"][0]["available"]) == (1, 0)


def test_fifty_concurrent_writers_all_succeed(runtime, shop, live_url):
    plenty = make_product(runtime, shop, name="矿泉水", stock=1000)
    responses = _buy(live_url, shop.token, plenty.variant_id, 50)
    assert [r.status_code for r in responses] == [201] * 50, {
        r.text for r in responses if r.status_code != 201
    }
    numbers = {r.json()["number"] for r in responses}
    assert len(numbers) == 50
    product = shop.api.get(f"/api/v1/products/{plenty.product_id}").json()
    assert product["variants"][0]["reserved"] == 50
