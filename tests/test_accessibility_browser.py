"""Accessibility of the main pages, checked by axe-core in Chromium against a live server.

Every main console page (signed out: the login; signed in: orders, an order, a new order, the inbox
with a conversation open, products, a product, customers, a customer, quick replies) and the
customer's shop pages (the shop link and a product's share link) are opened on a 1366 px desktop
and a 390 px phone, with real data on them, and axe (vendored from npm in tests/vendor/axe-core,
never served by the product) looks for violations, with every dialog opened. Some pages are also
checked in use: a new order being filled in, the inbox's product picker, the customer's chat, and
a customer ordering from a product link. A serious or critical violation fails the test with its
rule, what it means, and the elements it found. Checkpoint states are also checked to be spoken.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PHONE,
    browser_fixture,
    live_fixture,
)
from tests.support.catalog import make_product
from tests.support.chat import Device
from tests.support.chat_pages import fill_link_order
from tests.support.customers import make_customer
from tests.support.orders import act, make_order
from tests.support.shops import OWNER_PASSWORD, make_shop

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
BLOCKING = ("serious", "critical")

# Page name -> path; "{…}" fields come from the scene below. The login page is opened signed out.
CONSOLE_PAGES = {
    "orders": "/orders",
    "dashboard": "/dashboard",
    "customer analysis": "/analysis/customers",
    "order times": "/analysis/hours",
    "order": "/orders/{order_id}",
    "new order": "/orders/new",
    "inbox": "/inbox/{conversation_id}",
    "products": "/products",
    "product": "/products/{product_id}",
    "customers": "/customers",
    "customer": "/customers/{customer_id}",
    "quick replies": "/replies",
    "team members": "/team",
    "team roles": "/team/roles",
    "team invitations": "/team/invitations",
}
SHOP_PAGES = {
    "login": "/login",
    "shop": "/s/{slug}",
    "share link": "/s/{slug}/p/{share_token}",
}


@pytest.fixture(scope="module")
def scene(live) -> dict:
    """One shop with something on every page: a product, customers, orders and a conversation."""
    url, runtime, app = live
    shop = make_shop(runtime, app)
    product = make_product(runtime, shop, name="纯棉圆领T恤", options=["颜色"], price=5900, stock=20)
    customer_id, _ = make_customer(runtime, shop, name="王小美", phone="13912345678")
    make_order(shop, [(product.variant_ids[0], 2)], customer_id=customer_id)
    device = Device(url, shop.slug, "小红", "13700001234")
    device.says("在吗？这件T恤有红色的吗？能不能今天发货，收货地址是浙江省杭州市西湖区文三路100号")
    device.http.close()
    # The chatting customer's confirmed order: its page shows the dispute checkpoints.
    order = act(
        shop, make_order(shop, [(product.variant_ids[1], 1)], customer_id=device.customer_id), "confirm"
    )
    share_token = shop.api.get(f"/api/v1/products/{product.product_id}").json()["share_token"]
    return {
        "shop": shop,
        "slug": shop.slug,
        "order_id": order["id"],
        "conversation_id": device.conversation_id,
        "product_id": product.product_id,
        "customer_id": customer_id,
        "share_token": share_token,
        "chat_customer_id": device.customer_id,
        "variant_id": product.variant_ids[1],
    }


@pytest.fixture(scope="module", params=list(VIEWPORTS))
def viewport(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def signed_in(browser, live, scene, viewport):
    """A browser context of the viewport's size, signed in as the scene shop's owner."""
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORTS[viewport])
    page = context.new_page()
    page.goto(live[0] + "/login")
    page.fill("input[name=username]", scene["shop"].owner_username)
    page.fill("input[name=password]", OWNER_PASSWORD)
    page.click("form[action='/login'] button")
    page.wait_for_url(re.compile(r"/dashboard$"))  # the owner's home
    page.close()
    yield context
    context.close()


@pytest.fixture(scope="module")
def signed_out(browser, viewport):
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORTS[viewport])
    yield context
    context.close()


@pytest.fixture(scope="module")
def visitor(browser, live, scene, viewport):
    """A customer's browser that has introduced itself on the shop page and said something."""
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORTS[viewport])
    api = f"{live[0]}/s/{scene['slug']}/api"
    origin = {"Origin": live[0]}
    r = context.request.post(api + "/visitor", data={"name": "小美", "phone": "13600001234"}, headers=origin)
    assert r.ok, r.text()
    r = context.request.post(api + "/messages", data={"body": "这件T恤还有M码吗？"}, headers=origin)
    assert r.ok, r.text()
    yield context
    context.close()


def blocking_violations(context, url: str) -> list[dict]:
    """Open ``url`` in a fresh tab, let it settle, and return axe's serious and critical findings."""
    page = context.new_page()
    try:
        page.goto(url)
        return axe_blocking(page)
    finally:
        page.close()


def axe_blocking(page) -> list[dict]:
    """axe's serious and critical findings on the page as it is now (every dialog opened)."""
    page.wait_for_load_state("networkidle")
    # Closed dialogs are hidden, and axe skips what is hidden: open them all, so the controls
    # inside them (address, items, price, shipping, pickers) are checked too.
    page.evaluate("() => document.querySelectorAll('dialog:not([open])').forEach(d => d.show())")
    # Evaluated through the DevTools protocol, not a <script>: the page's CSP stays as it is.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}))"
    )
    return [v for v in result if v["impact"] in BLOCKING]


def report(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        lines += [f"    {node}" for node in v["nodes"]]
    return "\n".join(lines)


@pytest.mark.parametrize("name", list(CONSOLE_PAGES))
def test_a_console_page_has_no_serious_accessibility_violation(signed_in, live, scene, name):
    url = live[0] + CONSOLE_PAGES[name].format(**scene)

    violations = blocking_violations(signed_in, url)

    assert not violations, f"{name} ({url}):\n{report(violations)}"


@pytest.mark.parametrize("name", list(SHOP_PAGES))
def test_a_page_seen_signed_out_has_no_serious_accessibility_violation(signed_out, live, scene, name):
    url = live[0] + SHOP_PAGES[name].format(**scene)

    violations = blocking_violations(signed_out, url)

    assert not violations, f"{name} ({url}):\n{report(violations)}"


def test_the_customers_chat_has_no_serious_accessibility_violation(visitor, live, scene):
    url = f"{live[0]}/s/{scene['slug']}"

    violations = blocking_violations(visitor, url)

    assert not violations, f"shop chat ({url}):\n{report(violations)}"


def test_a_new_order_being_filled_in_has_no_serious_accessibility_violation(signed_in, live, scene):
    """The controls a new order grows as staff work: the customer's panel, found products, lines."""
    page = signed_in.new_page()
    page.goto(live[0] + "/orders/new")
    page.fill("input[name=cq]", "王小美")
    page.locator("#customer-found button", has_text="王小美").click()
    page.wait_for_selector("#customer-panel input[name=customer_id]:not([value=''])", state="attached")
    page.fill("input[name=pq]", "T恤")
    page.locator("#product-found [data-add-line]").first.click()
    page.wait_for_selector("#lines tr.line")

    violations = axe_blocking(page)

    page.close()
    assert not violations, f"new order, filled in:\n{report(violations)}"


def test_the_inbox_pickers_in_use_have_no_serious_accessibility_violation(signed_in, live, scene):
    """The product picker with its results, as staff send a product card from the chat."""
    page = signed_in.new_page()
    page.goto(f"{live[0]}/inbox/{scene['conversation_id']}")
    page.wait_for_selector("#inbox[data-connection=live]")
    page.click("[data-open-products=card]")
    page.fill("#product-search input[name=q]", "T恤")
    page.wait_for_selector("#product-results li")

    violations = axe_blocking(page)

    page.close()
    assert not violations, f"inbox product picker:\n{report(violations)}"


def test_a_customer_ordering_from_a_link_meets_no_serious_violation(browser, live, scene, viewport):
    """The share link's address step, the confirmation, then the chat with the order's card."""
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORTS[viewport])
    page = context.new_page()
    page.goto(f"{live[0]}/s/{scene['slug']}/p/{scene['share_token']}")
    fill_link_order(page, name="小丽", phone="13500001234")
    found = {"address step": axe_blocking(page)}
    page.click("#order-submit")
    page.wait_for_selector("#placed .order-card")
    found["confirmation"] = axe_blocking(page)
    page.goto(f"{live[0]}/s/{scene['slug']}")
    page.wait_for_selector("li.kind-order_card .order-card")
    found["chat with the card"] = axe_blocking(page)
    context.close()

    assert not any(found.values()), "\n".join(f"{step}:\n{report(v)}" for step, v in found.items() if v)


def test_checkpoint_states_are_spoken_not_only_drawn(signed_in, live, scene):
    """The ✓ / ! marks are hidden from screen readers; each checkpoint says its state in words."""
    # given a chatting customer's confirmed order
    order = make_order(scene["shop"], [(scene["variant_id"], 1)], customer_id=scene["chat_customer_id"])
    act(scene["shop"], order, "confirm")
    page = signed_in.new_page()
    page.goto(f"{live[0]}/orders/{order['id']}")
    details = page.locator("[data-checkpoint=details]")
    assert "待发送：" in details.aria_snapshot()
    assert "尚未到时：" in page.locator("[data-checkpoint=inspect]").aria_snapshot()

    # when staff send the details to check
    details.get_by_role("button").click()

    # then the checkpoint says it is done, and the result is announced
    page.locator("[data-checkpoint=details].done").wait_for()
    assert "已完成：" in page.locator("[data-checkpoint=details]").aria_snapshot()
    assert page.locator("#order-checkpoints [role=status]").count() == 1
    page.close()
