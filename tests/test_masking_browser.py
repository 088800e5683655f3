"""显示 in Chromium: an agent (no customers.pii) on a phone reads an order masked, with nothing to
press; the owner reads it masked too until 显示 fills the address in (customers/masking.py)."""

from __future__ import annotations

from types import SimpleNamespace

from tests.support.browser import (  # noqa: F401 (fixtures)
    PHONE,
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    open_console,
)
from tests.support.chat_pages import WAIT, expect
from tests.support.orders import ADDRESS, make_order
from tests.support.team import make_member

FULL_PHONE, STREET = ADDRESS["phone"], ADDRESS["detail"]


def test_an_agent_on_a_phone_reads_the_order_masked(browser, live, shop, tee):
    # Given an unassigned order (the agent's role sees those) and an agent
    order = make_order(shop, [(tee.variant_id, 1)])
    agent = make_member(live[1], shop, role="agent")
    # When the agent signs in on a phone and opens the order
    page = open_console(browser, live, SimpleNamespace(owner_username=agent.username), viewport=PHONE)
    page.goto(f"{live[0]}/orders/{order['id']}")
    # Then the address reads masked, the region whole, and there is no 显示 to press
    address = page.locator("#order-detail p.address")
    expect()(address).to_contain_text("138****5678", timeout=WAIT)
    assert "浙江省杭州市西湖区" in address.inner_text()
    html = page.content()
    assert FULL_PHONE not in html and STREET not in html and "data-reveal=" not in html


def test_the_owner_presses_show_to_read_the_address(browser, live, shop, tee):
    # Given a pending order, open in the owner's console
    order = make_order(shop, [(tee.variant_id, 1)])
    page = open_console(browser, live, shop)
    page.goto(f"{live[0]}/orders/{order['id']}")
    address = page.locator("#order-detail p.address")
    expect()(address).to_contain_text("138****5678", timeout=WAIT)
    assert STREET not in page.content()
    # When the owner presses 显示
    page.click("#order-detail p.address + .reveal [data-reveal]")
    # Then the address reads in full, and the address dialog's empty fields are filled for editing
    expect()(address).to_contain_text(STREET, timeout=WAIT)
    expect()(address).to_contain_text(FULL_PHONE)
    assert page.input_value("#address-dialog input[name=detail]") == STREET
