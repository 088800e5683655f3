"""Who is calling: resolved once per request by the route's access rule."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    shop_id: int
    staff_id: int
    role: str
    permissions: frozenset[str]
    via: str  # "session" or "token"
    display_name: str = ""
    timezone: str = "Asia/Shanghai"  # the shop's, for order numbers and local dates

    @property
    def actor_type(self) -> str:
        """How the timeline labels this actor: a person in the console or an API integration."""
        return "staff" if self.via == "session" else "api"
