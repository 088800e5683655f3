"""Creating and finding shops."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.core.errors import Conflict, Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.jobs.consumers import follow
from shangliao.replies.service import seed_defaults
from shangliao.shops.models import Shop, ShopCounter
from shangliao.stats.models import CONSUMER as STATS

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid("shop.bad_timezone", N_("Unknown time zone {tz}."), tz=name) from exc
    return name


def do_create_shop(session: Session, *, slug: str, name: str, timezone: str = "Asia/Shanghai") -> Shop:
    if not SLUG_RE.match(slug):
        raise Invalid("shop.bad_slug", N_("A shop address is 3-40 lowercase letters, digits or dashes."))
    if session.scalar(select(Shop.id).where(Shop.slug == slug)) is not None:
        raise Conflict("shop.slug_taken", N_("The shop address {slug} is taken."), slug=slug)
    shop = Shop(slug=slug, name=name.strip() or slug, timezone=check_timezone(timezone), settings={})
    session.add(shop)
    session.flush()
    session.add(ShopCounter(shop_id=shop.id, event_seq=0, order_day="", order_seq=0))
    session.flush()
    follow(session, STATS, shop.id)  # the dashboard's rollups, from the shop's first event
    seed_defaults(session, shop)  # quick replies to start from (replies/service.py explains the marker)
    return shop


def access_shop_by_slug(session: Session, slug: str) -> Shop:
    shop = session.scalar(select(Shop).where(Shop.slug == slug))
    if shop is None:
        raise NotFound("shop.not_found", N_("No such shop."))
    return shop
