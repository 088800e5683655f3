"""Issue 12's journey in Chromium, every step through the console: the owner (laptop) makes an
assigned-only custom role and a member holding it, and gives them two of the shop's orders in bulk;
the member signs in on a phone and sees exactly those two, phones masked, a colleague's order a
404 and no Team or Products in the navigation; then, with their console open, the owner hands them
a conversation: the 通知 badge counts one more and a toast says so without a reload, and the
conversation opens for them."""

from __future__ import annotations

import re
import uuid

from tests.support.browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PHONE,
    browser_fixture,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    open_console,
    sign_in_member_on_phone,
)
from tests.support.chat import open_conversation
from tests.support.chat_pages import WAIT, expect
from tests.support.orders import ADDRESS, make_order
from tests.support.team import MEMBER_PASSWORD

ROLE_PERMISSIONS = ("orders.read", "orders.write", "chat.read", "chat.write")
CUSTOMER_PHONE = "13900007777"


def phone_of(n: int) -> str:
    return f"1381000{n:04d}"


def masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


def make_role_and_member(page, role: str, username: str, display_name: str) -> None:
    """On the Team page: the custom role from the matrix, then a member holding it."""
    page.click("nav a[href='/team']")
    page.wait_for_url(re.compile(r"/team$"))
    page.click("a.tab[href='/team/roles']")
    page.fill("input[form='role-new'][name=name]", role)
    for code in ROLE_PERMISSIONS:
        page.check(f"tr[data-permission='{code}'] input[form='role-new']")
    page.check("input[form='role-new'][name=data_scope][value=assigned]")
    page.uncheck("input[form='role-new'][name=sees_unassigned]")
    page.click("button[form='role-new']")
    page.wait_for_url(re.compile(r"/team/roles$"))
    assert page.locator(f"input[name=name][value='{role}']").count() == 1

    page.click("a.tab[href='/team']")
    page.click("details.team-add summary")
    form = page.locator("form.add-member")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=display_name]").fill(display_name)
    form.locator("input[name=password]").fill(MEMBER_PASSWORD)
    form.locator("select[name=role]").select_option(label=role)
    form.locator("button.primary").click()
    page.wait_for_url(re.compile(r"/team$"))
    assert role in page.locator(f"tr.member[data-username='{username}'] .member-role").inner_text()


def bulk_assign(page, orders: list[dict], assignee: str) -> None:
    """Tick exactly ``orders`` in the list and assign them to the member named ``assignee``."""
    wanted = {o["id"] for o in orders}
    for box in page.locator("#order-rows input[name=ids]").all():
        box.set_checked(int(box.get_attribute("value")) in wanted)
    page.select_option("[data-bulk-action]", "assign")
    page.select_option("#bulk select[name=assignee_id]", label=assignee)
    page.click("button[data-selected-count]")
    for order in orders:
        expect()(page.locator(f"#order-row-{order['id']}")).to_contain_text(assignee, timeout=WAIT)


def listed_order_ids(page) -> set[int]:
    ids = page.eval_on_selector_all("#order-rows tr.order-row", "rows => rows.map(r => r.id)")
    return {int(i.removeprefix("order-row-")) for i in ids}


def test_an_assigned_only_agent_on_a_phone_sees_their_orders_masked_and_a_conversation_live(
    browser, live, shop, tee
):
    # Given a shop with six pending orders (each its own phone) and a customer's conversation
    url, runtime, _app = live
    orders = [
        make_order(shop, [(tee.variant_id, 1)], address={**ADDRESS, "phone": phone_of(n)}) for n in range(6)
    ]
    theirs, others = orders[:2], orders[2:]
    conversation = open_conversation(runtime, shop, "小林", CUSTOMER_PHONE)

    # When the owner, on a laptop, makes the role 夜班客服 (orders and chats, assigned only, not
    # the unassigned ones) and a member holding it
    owner = open_console(browser, live, shop, viewport=DESKTOP)
    role, username, name = f"夜班客服{uuid.uuid4().hex[:4]}", f"night_{uuid.uuid4().hex[:8]}", "夜班小王"
    make_role_and_member(owner, role, username, name)

    # and gives them two orders in bulk; the other four go to the owner
    owner.click("nav a[href='/orders']")
    owner.wait_for_url(re.compile(r"/orders$"))
    bulk_assign(owner, theirs, name)
    bulk_assign(owner, others, "店主")

    # Then the member, signed in on a phone, sees exactly their two orders, and nothing they may not use
    agent = sign_in_member_on_phone(browser, live, username)
    assert listed_order_ids(agent) == {o["id"] for o in theirs}
    nav = agent.locator("nav.nav")
    assert nav.locator("a[href='/orders']").count() == 1 and nav.locator("a[href='/inbox']").count() == 1
    for hidden in ("/team", "/products", "/customers", "/audit"):
        assert nav.locator(f"a[href='{hidden}']").count() == 0, hidden
    keep_screenshot(agent, "team-journey-agent-orders", PHONE)

    # and their order reads its phone masked; no full number anywhere in the page
    agent.click(f"#order-rows a[href='/orders/{theirs[0]['id']}']")
    expect()(agent.locator("#order-detail p.address")).to_contain_text(masked(phone_of(0)), timeout=WAIT)
    html = agent.content()
    assert all(phone_of(n) not in html for n in range(6))

    # and a colleague's order, opened by its address, is the 404 page
    answer = agent.goto(f"{url}/orders/{others[0]['id']}")
    assert answer.status == 404
    expect()(agent.locator(".error-page")).to_be_visible()
    assert others[0]["number"] not in agent.content()
    # so is the conversation, until it is theirs
    assert agent.goto(f"{url}/inbox/{conversation['id']}").status == 404

    # When, with their console open on the orders, the owner hands them the conversation
    agent.goto(f"{url}/orders")
    agent.wait_for_function("() => document.documentElement.dataset.alertsSeq !== undefined")
    badge = agent.locator("#nav-notifications")
    before = int(badge.inner_text() or 0)
    agent.evaluate("() => { window.stillThisPage = true; }")  # gone if the page reloads
    owner.goto(f"{url}/inbox/{conversation['id']}")
    owner.select_option("#assignee", label=name)

    # Then, without a reload, the badge counts one more and a toast says a conversation is theirs
    expect()(badge).to_have_text(str(before + 1), timeout=WAIT)
    toast = agent.locator(".live-toast")
    expect()(toast).to_have_text("有一个会话分配给你", timeout=WAIT)
    assert agent.evaluate("() => window.stillThisPage === true")

    # And the toast opens the conversation for them, the customer's phone masked
    toast.click()
    agent.wait_for_url(re.compile(rf"/inbox/{conversation['id']}$"))
    expect()(agent.locator("body")).to_contain_text("小林", timeout=WAIT)
    assert CUSTOMER_PHONE not in agent.content()
