"""How fast one person may send messages and typing notices, whichever way they come.

A customer sends over the shop page's HTTP API or over a socket, from several tabs and devices,
reconnecting as often as they like: all of it is one count per person (shop, side, id), kept by
``runtime.limits`` — in Redis when several processes serve the shop, so neither another path, another
process nor a fresh connection starts a fresh allowance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shangliao.web.rate_limits import RateLimits

# A person typing, retries included, stays well under a message a second; a burst of quick replies
# is let through; a script flooding the shop's inbox is not.
SENDS = ("20/10 seconds", "60/minute")
# Pages send a typing notice at most every 3 s while typing; more than this is not a person.
TYPINGS = ("5/5 seconds",)
LIMITED = ("send", "typing")


def rules(kind: str) -> tuple[str, ...]:
    """The rules for ``kind`` ("send" or "typing"), read when asked (tests tighten them)."""
    return SENDS if kind == "send" else TYPINGS


def check_rate(limits: RateLimits, kind: str, shop_id: int, side: str, person_id: int) -> None:
    """Count one ``kind`` by this person against every rule; 429 ``rate.limited`` when over one.
    May wait on Redis (briefly; see ``RateLimits``): call it off the event loop when it counts there."""
    for rule in rules(kind):
        limits.check(rule, kind, str(shop_id), side, str(person_id))
