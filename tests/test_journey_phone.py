"""The product page fills the receiver with what this device said (the phone is asked once), and
never with a phone the device has not proved is its own."""

from __future__ import annotations

import pytest

from tests.support.catalog import make_product
from tests.support.chat import guest_client


@pytest.fixture
def share_page(runtime, shop):
    product = make_product(runtime, shop, name="帆布包", options=["颜色"], price=3900, stock=5)
    token = shop.api.get(f"/api/v1/products/{product.product_id}").json()["share_token"]
    return f"/s/{shop.slug}/p/{token}"


def test_the_order_form_starts_with_the_devices_own_name_and_phone_and_nobody_elses(app, shop, share_page):
    # given 张三's phone, and a second phone that typed his number without proving it
    owner = guest_client(app, shop, "张三", "13812345678")
    stranger = guest_client(app, shop, "小张", "13812345678")

    # when each opens the product link
    mine, theirs = owner.get(share_page).text, stranger.get(share_page).text

    # then 张三 is the receiver already, and nobody asks who he is again
    assert 'value="张三"' in mine and 'value="13812345678"' in mine
    assert 'name="phone"' not in mine
    # and the other phone gets its own name, never his number
    assert 'value="小张"' in theirs and "13812345678" not in theirs
