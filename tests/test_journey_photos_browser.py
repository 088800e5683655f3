"""Product photos in Chromium: the merchant uploads two photos on the product's page (desktop) and
makes the second the cover; the customer's phone shows that cover on the shop page (a product card
in the chat) and on the share link; the product list shows its thumbnail."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from tests.support.browser import (  # noqa: F401 (fixtures)
    PHONE,
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    open_console,
)
from tests.support.catalog import make_product
from tests.support.chat_pages import WAIT, expect, introduce, phone_context

SHOTS = "/tmp/h6"


def photo_file(tmp_path, name: str, colour) -> str:
    path = tmp_path / name
    Image.new("RGB", (600, 400), colour).save(path, "JPEG")
    return str(path)


def shown_colour(page, selector: str) -> tuple[int, int, int]:
    """The middle pixel of the image the browser loaded, fetched with the page's own cookies."""
    src = page.locator(selector).first.evaluate("img => img.src")  # absolute, as the browser loaded it
    body = page.request.get(src).body()
    return Image.open(io.BytesIO(body)).convert("RGB").getpixel((5, 5))


def near(a, b) -> bool:
    return all(abs(x - y) < 24 for x, y in zip(a, b, strict=True))


RED, BLUE = (220, 30, 30), (30, 60, 220)


@pytest.fixture
def staff(live, shop):
    with httpx.Client(base_url=live[0], headers={"Authorization": f"Bearer {shop.token}"}) as client:
        yield client


def test_the_merchants_cover_photo_is_what_the_customer_sees(browser, live, shop, staff, tmp_path):
    product = make_product(live[1], shop, name="碎花连衣裙", options=["颜色"], price=12900)
    page = open_console(browser, live, shop, viewport={"width": 1366, "height": 900})

    # Given the merchant on the product's page uploads a red photo, then a blue one
    page.goto(f"{live[0]}/products/{product.product_id}")
    for name, colour in (("red.jpg", RED), ("blue.jpg", BLUE)):
        page.set_input_files("#photo-upload input[type=file]", photo_file(tmp_path, name, colour))
        page.click("#photo-upload button")
        page.locator("#product-photos .toast-ok").wait_for()
    photos = page.locator("#product-photos li.photo")
    expect()(photos).to_have_count(2)
    assert photos.first.locator(".badge-cover").count() == 1

    # When they make the second one the cover
    second = photos.nth(1).get_attribute("data-photo")
    photos.nth(1).locator("form[action$='/cover'] button").click()
    expect()(page.locator("#product-photos li.photo.is-cover")).to_have_attribute("data-photo", second)
    assert near(shown_colour(page, "#product-photos li.photo.is-cover img"), BLUE)
    page.screenshot(path=f"{SHOTS}/console-product-photos.png", full_page=True)

    # Then the product list shows the cover's thumbnail
    page.goto(f"{live[0]}/products")
    thumb = page.locator(f"tr.product-row[data-product='{product.product_id}'] img.product-thumb")
    expect()(thumb).to_be_visible()
    assert near(
        shown_colour(page, f"tr.product-row[data-product='{product.product_id}'] img.product-thumb"), BLUE
    )
    page.screenshot(path=f"{SHOTS}/console-product-list.png")
    page.context.close()

    # And on a phone the photos fit the screen, their actions within reach
    small = open_console(browser, live, shop, viewport=PHONE)
    small.goto(f"{live[0]}/products/{product.product_id}")
    expect()(small.locator("#product-photos li.photo")).to_have_count(2)
    assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    small.locator("#product-photos").screenshot(path=f"{SHOTS}/phone-console-photos.png")
    small.context.close()

    # And the customer's phone shows the blue cover on the share link, sized and described
    context = phone_context(browser)
    phone = context.new_page()
    token = staff.get(f"/api/v1/products/{product.product_id}").json()["share_token"]
    phone.goto(f"{live[0]}/s/{shop.slug}/p/{token}")
    cover = phone.locator(".product .gallery img").first
    expect()(cover).to_be_visible()
    assert cover.get_attribute("alt") and cover.get_attribute("width") and cover.get_attribute("height")
    assert phone.locator(".product .gallery img").nth(1).get_attribute("loading") == "lazy"
    assert near(shown_colour(phone, ".product .gallery img"), BLUE)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.screenshot(path=f"{SHOTS}/phone-share-link.png")

    # And on the shop page, the product card the shop sends shows it too
    introduce(phone, live, shop)
    conversation = staff.get("/api/v1/conversations").json()["items"][0]["id"]
    sent = staff.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"kind": "product_card", "product_id": product.product_id},
    )
    assert sent.status_code == 201, sent.text
    card = phone.locator("a.product-card img")
    expect()(card).to_be_visible(timeout=WAIT)
    assert near(shown_colour(phone, "a.product-card img"), BLUE)
    phone.screenshot(path=f"{SHOTS}/phone-shop-page.png")
    context.close()


def test_picking_a_variant_on_the_share_link_brings_its_photo_into_view(browser, live, shop, staff):
    # Given a dress in two colours: a cover, a photo of each colour, the blue one tied to its variant
    product = make_product(live[1], shop, name="碎花连衣裙", options=["颜色"], price=12900)
    for colour, variant in ((RED, None), ((240, 240, 240), None), (BLUE, product.variant_ids[1])):
        data = io.BytesIO()
        Image.new("RGB", (600, 400), colour).save(data, "JPEG")
        fields = {"variant_id": str(variant)} if variant else {}
        r = staff.post(
            f"/api/v1/products/{product.product_id}/images",
            files={"file": ("p.jpg", data.getvalue())},
            data=fields,
        )
        assert r.status_code == 201, r.text
    token = staff.get(f"/api/v1/products/{product.product_id}").json()["share_token"]
    context = phone_context(browser)
    phone = context.new_page()
    phone.goto(f"{live[0]}/s/{shop.slug}/p/{token}")
    gallery = phone.locator(".product .gallery")
    expect()(gallery.locator("img")).to_have_count(3)
    assert gallery.evaluate("g => g.scrollLeft") == 0

    # When the customer picks the second colour
    phone.locator("fieldset.chips .chip").nth(1).click()

    # Then the gallery scrolls to the blue photo
    blue = gallery.locator(f"img[data-variant='{product.variant_ids[1]}']")
    phone.wait_for_function(
        # As far as the photo's start, or as far as the gallery goes when it is the last one
        "([g, i]) => g.scrollLeft > 0 && g.scrollLeft >= Math.min(i.offsetLeft - g.offsetLeft,"
        " g.scrollWidth - g.clientWidth) - 2",
        arg=[gallery.element_handle(), blue.element_handle()],
    )
    phone.screenshot(path=f"{SHOTS}/phone-variant-photo.png")
    context.close()
