"""The 团队 Team page in Chromium, on a laptop and on a phone: a custom role from the permission
matrix, a member given it, an invitation link copied and used, a member deactivated after a
confirmation; no inline script (the CSP watcher fails the test otherwise)."""

from __future__ import annotations

import re
import uuid

from tests.support.browser import (  # noqa: F401 (fixtures)
    VIEWPORTS,
    browser_fixture,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    open_console,
)
from tests.support.team import MEMBER_PASSWORD


def fits_the_screen(page) -> bool:
    """Nothing makes the page itself scroll sideways (wide tables scroll inside their own box)."""
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


@VIEWPORTS
def test_the_owner_makes_a_role_adds_a_member_invites_and_deactivates(browser, live, shop, viewport):
    page = open_console(browser, live, shop, viewport=viewport)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.on("dialog", lambda dialog: dialog.accept())

    # a custom role from the matrix: orders and chats, only those assigned to the member
    page.click("nav a[href='/team']")
    page.wait_for_url(re.compile(r"/team$"))
    page.click("a.tab[href='/team/roles']")
    role = f"跟单{uuid.uuid4().hex[:4]}"
    page.fill("#role-new ~ .table-wrap input[form='role-new'][name=name]", role)
    for code in ("orders.read", "chat.read"):
        page.check(f"tr[data-permission='{code}'] input[form='role-new']")
    page.check("input[form='role-new'][name=data_scope][value=assigned]")
    assert page.is_enabled("input[form='role-new'][name=sees_unassigned]")
    page.click("button[form='role-new']")
    page.wait_for_url(re.compile(r"/team/roles$"))
    column = page.locator(f"input[name=name][value='{role}']")
    assert column.count() == 1
    assert fits_the_screen(page)
    keep_screenshot(page, "team-roles", viewport)

    # a member with that role
    page.click("a.tab[href='/team']")
    page.click("details.team-add summary")
    username = f"w_{uuid.uuid4().hex[:8]}"
    form = page.locator("form.add-member")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=display_name]").fill("小王")
    form.locator("input[name=password]").fill(MEMBER_PASSWORD)
    form.locator("select[name=role]").select_option(label=role)
    form.locator("button.primary").click()
    page.wait_for_url(re.compile(r"/team$"))
    row = page.locator(f"tr.member[data-username='{username}']")
    assert role in row.locator(".member-role").inner_text()
    assert fits_the_screen(page)
    keep_screenshot(page, "team-members", viewport)

    # an invitation link, copied and opened by the newcomer
    page.click("a.tab[href='/team/invitations']")
    page.locator("form.create-invitation button.primary").click()
    link = page.locator("#invitation-link").input_value()
    page.click("[data-copy]")
    page.wait_for_function("() => document.querySelector('[data-copy]').textContent === '已复制'")
    assert page.evaluate("() => navigator.clipboard.readText()") == link
    newcomer = browser.new_context(locale="zh-CN", viewport=viewport).new_page()
    newcomer.goto(link)
    newcomer.fill("input[name=username]", f"n_{uuid.uuid4().hex[:8]}")
    newcomer.fill("input[name=password]", MEMBER_PASSWORD)
    newcomer.click("form.join-form button")
    newcomer.wait_for_url(re.compile(r"/orders$"))
    assert newcomer.locator("nav a[href='/team']").count() == 0  # an agent does not manage the team

    # the member deactivated, after the confirmation
    page.click("a.tab[href='/team']")
    row = page.locator(f"tr.member[data-username='{username}']")
    row.locator("details.member-edit summary").click()
    row.locator("form.deactivate button").click()
    page.wait_for_url(re.compile(r"/team$"))
    assert page.locator(f"tr.member[data-username='{username}'] .member-status").inner_text() == "已停用"
