"""Who is calling: resolved once per request by the route's access rule."""

from __future__ import annotations

from dataclasses import dataclass

from shangliao.auth.permissions import SCOPE_ALL
from shangliao.auth.scope import AssigneeRule


@dataclass(frozen=True)
class Actor(AssigneeRule):
    shop_id: int
    staff_id: int | None  # None for a customer acting on their own orders from the shop page
    role: str
    permissions: frozenset[str]
    via: str  # "session", "token" or "visitor"
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

    @property
    def actor_type(self) -> str:
        """How the timeline labels this actor: a person in the console, an API integration, or
        the customer."""
        return {"session": "staff", "visitor": "customer"}.get(self.via, "api")

    @property
    def person_id(self) -> int | None:
        """The timeline's actor id: the staff member's, or the customer's for a customer."""
        return self.customer_id if self.via == "visitor" else self.staff_id
