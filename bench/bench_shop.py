"""What the benches set up alike: a shop with its owner's API token, and a bare sqlite3 connection
configured like the product's writer (for the raw baselines)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.orm import Session

from shangliao.auth import service as auth
from shangliao.auth.actor import Actor
from shangliao.auth.permissions import permissions_for
from shangliao.shops.models import Shop
from shangliao.shops.service import do_create_shop


def shop_with_owner(session: Session, slug: str, name: str, token_name: str) -> tuple[Shop, Actor, str]:
    """A new shop, its owner as an API actor, and that owner's raw API token."""
    shop = do_create_shop(session, slug=slug, name=name)
    owner = auth.do_create_staff(
        session, shop.id, username="bench_owner", password="correct horse battery", display_name="店主"
    )
    actor = Actor(shop.id, owner.id, "owner", permissions_for("owner"), "token", timezone=shop.timezone)
    token, _ = auth.do_create_token(session, actor, name=token_name, scopes=None, days=None)
    return shop, actor, token


def connect(path: Path) -> sqlite3.Connection:
    """Configured like the product's writer connection."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn
