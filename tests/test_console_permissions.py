"""The console offers a member only what their role may do: bulk assignment in the inbox and the
assign control on an order page (assignment/rules.py), read-only product, customer and order
pages; and the Team page's acts are in the audit log."""

from __future__ import annotations

import re

from sqlalchemy import select

from shangliao.audit.models import AuditEntry


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
