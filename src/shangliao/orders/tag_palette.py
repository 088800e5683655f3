"""The shop's order tags (自定义标签): the names it uses, each with a colour, in its own order.

Tags on orders stay free text (a tag typed on one order needs no palette entry); the palette
only gives names a colour and offers them when tagging. Removing a name from the palette leaves
the orders that carry it alone: the tag is then drawn grey.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from shangliao.audit.acts import SETTINGS_CHANGED
from shangliao.audit.log import record_audit
from shangliao.auth.actor import Actor
from shangliao.core.i18n import N_
from shangliao.core.schemas import StrictModel
from shangliao.orders.models import ShopTag

MAX_TAGS = 50

# Named colours, drawn by console.css (.tag-<colour>) so they hold in dark mode and high contrast.
COLORS: dict[str, str] = {
    "red": N_("Red"),
    "orange": N_("Orange"),
    "yellow": N_("Yellow"),
    "green": N_("Green"),
    "teal": N_("Teal"),
    "blue": N_("Blue"),
    "purple": N_("Purple"),
    "pink": N_("Pink"),
    "grey": N_("Grey"),
}
Color = Literal["red", "orange", "yellow", "green", "teal", "blue", "purple", "pink", "grey"]
UNKNOWN = "grey"


class PaletteTag(StrictModel):
    name: str = Field(min_length=1, max_length=32, description="The tag as orders carry it.")
    color: Color = Field(UNKNOWN, description="One of the palette's named colours.")

    @field_validator("name")
    @classmethod
    def _trimmed(cls, name: str) -> str:
        name = name.strip()
        if not name:
            raise ValueError("a tag is 1-32 characters")
        return name


class Palette(StrictModel):
    items: list[PaletteTag] = Field(
        default_factory=list, max_length=MAX_TAGS, description="In the order they are offered."
    )

    @field_validator("items")
    @classmethod
    def _unique(cls, items: list[PaletteTag]) -> list[PaletteTag]:
        names = [t.name for t in items]
        if len(set(names)) != len(names):
            raise ValueError("each tag once")
        return items


def palette(session: Session | Connection, shop_id: int) -> Palette:
    rows = session.execute(
        select(ShopTag.name, ShopTag.color)
        .where(ShopTag.shop_id == shop_id)
        .order_by(ShopTag.position, ShopTag.name)
    )
    return Palette(items=[PaletteTag(name=name, color=color) for name, color in rows])


def colors_of(session: Session | Connection, shop_id: int) -> dict[str, str]:
    """Each palette tag's colour, for drawing chips (a tag missing here is drawn ``UNKNOWN``)."""
    return {t.name: t.color for t in palette(session, shop_id).items}


def do_set_palette(session: Session, actor: Actor, body: Palette) -> Palette:
    """Replace the shop's palette with ``body`` (an audited settings change)."""
    shop_id = actor.shop_id
    session.execute(delete(ShopTag).where(ShopTag.shop_id == shop_id))
    if body.items:
        session.execute(
            insert(ShopTag),
            [
                {"shop_id": shop_id, "name": t.name, "color": t.color, "position": i}
                for i, t in enumerate(body.items)
            ],
        )
    record_audit(
        session, shop_id, SETTINGS_CHANGED, actor=actor, target_type="shop", target_id=shop_id,
        data={"setting": "order_tags", "count": len(body.items)},
    )  # fmt: skip
    return body
