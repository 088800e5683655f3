"""Who is calling: resolved once per request by the route's access rule."""

from __future__ import annotations

from dataclasses import dataclass

from shangliao.auth.permissions import PERMISSIONS, SCOPE_ALL
from shangliao.auth.scope import AssigneeRule


@dataclass(frozen=True)
class Actor(AssigneeRule):
    shop_id: int
    staff_id: int | None  # None for a customer acting on their own orders from the shop page
    role: str
    permissions: frozenset[str]
    via: str  # "session", "token", "visitor", or "automation" (the shop's own rules and sweeps)
    display_name: str = ""
    timezone: str = "Asia/Shanghai"  # the shop's, for order numbers and local dates
    customer_id: int | None = None  # set when via == "visitor"
    # Which orders and conversations the member's role lets them see (auth/permissions.py):
    # "all", or "assigned" (to them; plus the unassigned ones when ``sees_unassigned``).
    data_scope: str = SCOPE_ALL
    sees_unassigned: bool = False
    # An API token given fewer permissions than its maker's role (those are in ``permissions``).
    scoped: bool = False

    @classmethod
    def customer(cls, shop_id: int, customer_id: int, timezone: str = "Asia/Shanghai") -> Actor:
        """A customer on the shop page: no staff permissions, acts only through visitor routes."""
        return cls(
            shop_id, None, "customer", frozenset(), "visitor", timezone=timezone, customer_id=customer_id
        )

    @classmethod
    def automation(cls, shop_id: int, label: str, timezone: str = "Asia/Shanghai") -> Actor:
        """The shop's automation (a rule, a scheduled sweep) acting under ``label``, a msgid or a
        rule's name, which the timeline shows as 自动化：<label>. Every permission and the whole
        shop: what it may do was checked when the merchant set it up."""
        return cls(
            shop_id,
            None,
            "automation",
            frozenset(PERMISSIONS),
            "automation",
            display_name=label,
            timezone=timezone,
        )

    @property
    def actor_type(self) -> str:
        """How the timeline labels this actor: a person in the console, an API integration, the
        customer, or the shop's automation."""
        return {"session": "staff", "visitor": "customer", "automation": "automation"}.get(self.via, "api")

    @property
    def person_id(self) -> int | None:
        """The timeline's actor id: the staff member's, or the customer's for a customer."""
        return self.customer_id if self.via == "visitor" else self.staff_id
