"""A fresh shop per test, with its owner and an API client signed in as the owner."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi.testclient import TestClient

from shangliao.auth import service as auth_service
from shangliao.auth.actor import Actor
from shangliao.auth.permissions import permissions_for
from shangliao.runtime import Runtime
from shangliao.shops.service import do_create_shop

OWNER_PASSWORD = "correct horse battery"


@dataclass
class ShopFixture:
    id: int
    slug: str
    owner_id: int
    owner_username: str
    token: str
    api: TestClient
    timezone: str = "Asia/Shanghai"

    @property
    def actor(self) -> Actor:
        return Actor(
            shop_id=self.id,
            staff_id=self.owner_id,
            role="owner",
            permissions=permissions_for("owner"),
            via="token",
            display_name=self.owner_username,
            timezone=self.timezone,
        )


def make_shop(rt: Runtime, app, *, timezone: str = "Asia/Shanghai") -> ShopFixture:
    tag = uuid.uuid4().hex[:10]
    with rt.db.write() as session:
        shop = do_create_shop(session, slug=f"shop-{tag}", name=f"测试小店 {tag}", timezone=timezone)
        owner = auth_service.do_create_staff(
            session, shop.id, username=f"owner_{tag}", password=OWNER_PASSWORD, display_name="店主"
        )
        actor = Actor(shop.id, owner.id, "owner", permissions_for("owner"), "token", timezone=timezone)
        raw, _ = auth_service.do_create_token(session, actor, name="tests", scopes=None, days=None)
        ids = (shop.id, shop.slug, owner.id, owner.username)
    client = TestClient(app, headers={"Authorization": f"Bearer {raw}"}, raise_server_exceptions=False)
    return ShopFixture(ids[0], ids[1], ids[2], ids[3], raw, client, timezone)
