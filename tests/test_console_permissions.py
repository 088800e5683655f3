"""The console offers a member only what their role may do: bulk assignment in the inbox and the
assign control on an order page (assignment/rules.py), read-only product, customer and order
pages; and the Team page's acts are in the audit log."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from shangliao.audit.models import AuditEntry
from shangliao.auth.models import Staff
from tests.support.chat import open_conversation
from tests.support.orders import make_order
from tests.support.team import MEMBER_PASSWORD, make_member
from tests.test_team_console import member_console


def staff_display_name(runtime, staff_id: int) -> str:
    with runtime.db.read() as session:
        return session.get(Staff, staff_id).display_name


def test_revoking_an_invitation_is_in_the_audit_log(runtime, shop, console):
    # given a live invitation link
    made = console.post("/team/invitations", data={"role": "agent", "days": "7"})
    invitation_id = int(re.search(r'action="/team/invitations/(\d+)/revoke"', made.text).group(1))

    # when the owner revokes it (and, by mistake, again)
    console.post(f"/team/invitations/{invitation_id}/revoke")
    console.post(f"/team/invitations/{invitation_id}/revoke")

    # then the log says so once, and the audit page names the act in the reader's language
    with runtime.db.read() as session:
        rows = session.execute(
            select(AuditEntry.staff_id, AuditEntry.data).where(
                AuditEntry.shop_id == shop.id,
                AuditEntry.act == "team.invitation_revoked",
                AuditEntry.target_id == invitation_id,
            )
        ).all()
    assert [(staff_id, data["role"]) for staff_id, data in rows] == [(shop.owner_id, "agent")]
    assert "邀请已撤销" in console.get("/audit").text


# --- assignment ---------------------------------------------------------------------------------


def test_the_inbox_offers_bulk_assignment_to_who_may_assign(runtime, app, shop, console):
    # given a conversation and an agent (who may chat but not assign)
    conversation = open_conversation(runtime, shop, "批量客户", "13900004001")
    agent = member_console(app, runtime, shop, role="agent")

    # when the owner and the agent open the inbox
    owners = console.get("/inbox").text
    agents = agent.get("/inbox").text

    # then the owner may pick rows and a member to give them to; the agent sees no such thing
    assert 'id="inbox-bulk"' in owners and "inbox-bulk.js" in owners
    assert (
        f'class="row-pick" form="inbox-bulk" name="conversation_ids" value="{conversation["id"]}"' in owners
    )
    assert f'<option value="{shop.owner_id}">' in owners.split('id="inbox-bulk"', 1)[1].split("</form>", 1)[0]
    assert 'id="inbox-bulk"' not in agents and "row-pick" not in agents and "inbox-bulk.js" not in agents


def test_an_agent_claims_an_unassigned_conversation_and_the_header_names_the_assignee(runtime, app, shop):
    # given an unassigned conversation and an agent
    conversation = open_conversation(runtime, shop, "认领客户", "13900004002")
    agent_api = make_member(runtime, shop, role="agent")
    agent = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    agent.post("/login", data={"username": agent_api.username, "password": MEMBER_PASSWORD})
    path = f"/inbox/{conversation['id']}"

    # when the agent opens it, it is offered to them (分配给我) but not to give to anyone else
    before = agent.get(path).text
    assert f'data-assign-me="{agent_api.staff_id}"' in before and "分配给我" in before
    assert 'id="assignee"' not in before
    assert 'id="chat-assignee" class="muted small">未分配' in before

    # and when they claim it (what the button sends)
    claimed = agent_api.put(
        f"/api/v1/conversations/{conversation['id']}/assignee", json={"assignee_id": agent_api.staff_id}
    )
    assert claimed.status_code == 200, claimed.text

    # then the header names them, and the panel offers to let it go instead of claiming
    after = agent.get(path).text
    name = staff_display_name(runtime, agent_api.staff_id)
    assert f'id="chat-assignee" class="muted small">负责人：{name}' in after
    assert 'data-assign-me=""' in after and f'data-assign-me="{agent_api.staff_id}"' not in after


def test_a_colleagues_conversation_is_not_offered_to_an_agent_to_take(runtime, app, shop, console):
    # given a conversation the owner gave to someone (here: the owner)
    conversation = open_conversation(runtime, shop, "已分配客户", "13900004003")
    shop.api.put(f"/api/v1/conversations/{conversation['id']}/assignee", json={"assignee_id": shop.owner_id})
    agent = member_console(app, runtime, shop, permissions=["chat.read", "chat.write"])

    # when an all-scope member who may chat but not assign opens it
    page = agent.get(f"/inbox/{conversation['id']}").text

    # then nothing offers to take it (the rules would refuse), and the owner still has the picker
    assert "data-assign-me" not in page and 'id="assignee"' not in page
    assert 'id="assignee"' in console.get(f"/inbox/{conversation['id']}").text


def test_the_order_page_offers_the_assign_control_per_the_rules(runtime, app, shop, console, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    path = f"/orders/{order['id']}"
    agent = member_console(app, runtime, shop, role="agent")
    packer = member_console(app, runtime, shop, role="warehouse")

    owners, agents, packers = console.get(path).text, agent.get(path).text, packer.get(path).text

    # then the owner picks anyone; the agent may only take the unassigned order; the packer neither
    assert '<select name="assignee_id">' in owners
    assert '<select name="assignee_id">' not in agents and "分配给我" in agents
    assert f'action="/orders/{order["id"]}/assign"' in agents
    assert f'action="/orders/{order["id"]}/assign"' not in packers and "分配给我" not in packers


# --- read-only pages ----------------------------------------------------------------------------


def test_a_member_without_catalog_write_sees_the_product_read_only(runtime, app, shop, console, tee):
    path = f"/products/{tee.product_id}"
    reader = member_console(app, runtime, shop, role="finance")  # catalog.read, not catalog.write

    page = reader.get(path).text

    # then every field sits in a disabled fieldset, with nothing to save, upload or add
    form = page.split('id="product-edit"', 1)[1].split("</form>", 1)[0]
    assert '<fieldset class="stack" disabled>' in form and "<button" not in form
    for offered in (f'action="/products/{tee.product_id}/photos"', 'id="variant-add"', 'type="file"'):
        assert offered not in page, offered
    # and the owner edits the same page
    owners = console.get(path).text.split('id="product-edit"', 1)[1].split("</form>", 1)[0]
    assert '<fieldset class="stack" disabled>' not in owners and "<button" in owners
    assert reader.post(path, data={"name": "改名"}).status_code == 403
