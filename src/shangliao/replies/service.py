"""Quick-reply templates: list, create, edit, delete, the shop's defaults, and rendering.

Rendering is plain substitution of known ``{variable}`` names by text: no ``str.format``, no
template engine, no ``eval``. Whatever a template's body says, the result is that body with some
placeholders replaced; it can never run code nor read an attribute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shangliao.auth.scope import Viewer
from shangliao.chat.service import access_conversation
from shangliao.core.errors import Conflict, Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.events.log import DomainEvent, record
from shangliao.replies import variables
from shangliao.replies.defaults import DEFAULTS
from shangliao.replies.models import ReplyTemplate
from shangliao.replies.schemas import PreviewIn, ReplyTemplateIn, ReplyTemplatePatch
from shangliao.replies.variables import canonical
from shangliao.shops.models import Shop

CATEGORIES: dict[str, str] = {
    "order_confirmation": N_("Order confirmation"),
    "shipping_notice": N_("Shipping notice"),
    "after_sales": N_("After-sales"),
    "custom": N_("Custom"),
}
# A shop's list is read whole by the composer: keep it a list, not a library.
MAX_TEMPLATES = 300
# Letters, digits, underscore and Chinese characters; a leading "/" (as typed in the composer) is dropped.
SHORTCODE_RE = re.compile(r"^[A-Za-z0-9_\u3400-\u4dbf\u4e00-\u9fff]{1,16}$")
# Set on the shop once its defaults were written, so they are written once: an owner who deleted
# them all on purpose does not find them back on the next visit (see ``ensure_defaults``).
DEFAULTS_MARK = "reply_defaults_seeded"


# --- rendering ------------------------------------------------------------------------------------

# ``{name}`` with ASCII or full-width braces (what a Chinese keyboard types) and optional spaces.
# The name excludes braces and spaces, so "{{", "{% … %}" and "{ 7*7 }"-like text never match a
# known name and stay as written.
_PLACEHOLDER = re.compile(r"[{｛]\s*([^{}｛｝\s]{1,32})\s*[}｝]")


@dataclass(frozen=True)
class Rendered:
    text: str
    missing: list[str] = field(default_factory=list)  # variables used but without a value


def render(body: str, values: dict[str, str]) -> Rendered:
    """Replace each known variable of ``body`` by its value, in one pass (a value that itself looks
    like ``{订单号}`` is not expanded again). Unknown ``{…}`` stays as typed; a known variable without
    a value stays too and is named in ``missing``."""
    known = {canonical(k) or k: v for k, v in values.items() if v}
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = canonical(match.group(1))
        if name is None:
            return match.group(0)
        value = known.get(name)
        if value is None:
            if name not in missing:
                missing.append(name)
            return match.group(0)
        return value

    return Rendered(_PLACEHOLDER.sub(fill, body), missing)


def unknown_variables(body: str) -> list[str]:
    """``{…}`` names that are not variables (a typo like ``{客户}``, say): shown to whoever edits the
    template, since they will be sent as typed."""
    found: list[str] = []
    for match in _PLACEHOLDER.finditer(body):
        if canonical(match.group(1)) is None and match.group(0) not in found:
            found.append(match.group(0))
    return found


# --- reading --------------------------------------------------------------------------------------

_category_order = case({c: i for i, c in enumerate(CATEGORIES)}, value=ReplyTemplate.category, else_=99)


def access_template(session: Session, shop_id: int, template_id: int) -> ReplyTemplate:
    row = session.scalar(
        select(ReplyTemplate).where(ReplyTemplate.id == template_id, ReplyTemplate.shop_id == shop_id)
    )
    if row is None:
        raise NotFound("reply_template.not_found", N_("This quick reply does not exist."))
    return row


def list_templates(
    session: Session, shop_id: int, q: str | None = None, category: str | None = None
) -> list[ReplyTemplate]:
    """The shop's templates by category, then position. ``q`` matches the start of a shortcode
    (any case, with or without the "/") or any part of a title."""
    stmt = select(ReplyTemplate).where(ReplyTemplate.shop_id == shop_id)
    if category:
        stmt = stmt.where(ReplyTemplate.category == category)
    text = (q or "").strip().lstrip("/")
    if text:
        stmt = stmt.where(
            or_(
                ReplyTemplate.shortcode_key.startswith(text.lower(), autoescape=True),
                ReplyTemplate.title.contains(text, autoescape=True),
            )
        )
    stmt = stmt.order_by(_category_order, ReplyTemplate.position, ReplyTemplate.id)
    return list(session.scalars(stmt))


def defaults_seeded(session: Session, shop_id: int) -> bool:
    settings = session.scalar(select(Shop.settings).where(Shop.id == shop_id)) or {}
    return bool(settings.get(DEFAULTS_MARK))


# --- checks ---------------------------------------------------------------------------------------


def check_shortcode(raw: str) -> tuple[str, str]:
    """``(shortcode, lookup key)``; refused unless 1-16 letters, digits, underscores or Chinese."""
    shortcode = raw.strip().removeprefix("/")
    if not SHORTCODE_RE.match(shortcode):
        raise Invalid(
            "reply_template.bad_shortcode",
            N_("A shortcode is 1-16 letters, digits, underscores or Chinese characters."),
        )
    return shortcode, shortcode.lower()


def _shortcode_taken(shortcode: str) -> Conflict:
    return Conflict(
        "reply_template.shortcode_taken",
        N_("The shortcode /{shortcode} is already used by another quick reply."),
        shortcode=shortcode,
        details={"shortcode": shortcode},
    )


def _check_free(session: Session, shop_id: int, key: str, shortcode: str, own_id: int | None = None) -> None:
    stmt = select(ReplyTemplate.id).where(
        ReplyTemplate.shop_id == shop_id, ReplyTemplate.shortcode_key == key
    )
    if own_id is not None:
        stmt = stmt.where(ReplyTemplate.id != own_id)
    if session.scalar(stmt.limit(1)) is not None:
        raise _shortcode_taken(shortcode)


def _flush(session: Session, shortcode: str) -> None:
    """On PostgreSQL two writers may pass ``_check_free`` at once; the unique index decides."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise _shortcode_taken(shortcode) from exc


def _next_position(session: Session, shop_id: int, category: str) -> int:
    last = session.scalar(
        select(func.max(ReplyTemplate.position)).where(
            ReplyTemplate.shop_id == shop_id, ReplyTemplate.category == category
        )
    )
    return 0 if last is None else last + 1


# --- changes --------------------------------------------------------------------------------------


def _event(kind: str, row: ReplyTemplate) -> DomainEvent:
    return DomainEvent(f"reply_template.{kind}", "reply_template", row.id, {"category": row.category})


def do_create_template(session: Session, shop_id: int, data: ReplyTemplateIn) -> ReplyTemplate:
    shortcode, key = check_shortcode(data.shortcode)
    count = session.scalar(select(func.count()).where(ReplyTemplate.shop_id == shop_id))
    if count >= MAX_TEMPLATES:
        raise Conflict(
            "reply_template.too_many",
            N_("A shop can keep up to {limit} quick replies. Delete some first."),
            limit=MAX_TEMPLATES,
        )
    _check_free(session, shop_id, key, shortcode)
    position = data.position if data.position is not None else _next_position(session, shop_id, data.category)
    row = ReplyTemplate(
        shop_id=shop_id,
        category=data.category,
        shortcode=shortcode,
        shortcode_key=key,
        title=data.title,
        body=data.body,
        position=position,
    )
    session.add(row)
    _flush(session, shortcode)
    record(session, shop_id, [_event("created", row)])
    return row


def do_update_template(
    session: Session, shop_id: int, template_id: int, data: ReplyTemplatePatch
) -> ReplyTemplate:
    row = access_template(session, shop_id, template_id)
    given = data.model_fields_set
    # Every query comes before the row changes: an autoflush in between would write half an edit.
    moved = "category" in given and data.category != row.category
    if moved and "position" not in given:  # moved to another group: it goes last there
        data = data.model_copy(update={"position": _next_position(session, shop_id, data.category)})
        given = given | {"position"}
    if "shortcode" in given:
        shortcode, key = check_shortcode(data.shortcode or "")
        _check_free(session, shop_id, key, shortcode, own_id=row.id)
        row.shortcode, row.shortcode_key = shortcode, key
    if moved:
        row.category = data.category
    for name in ("title", "body", "position"):
        if name in given:
            setattr(row, name, getattr(data, name))
    if session.is_modified(row):
        _flush(session, row.shortcode)
        record(session, shop_id, [_event("updated", row)])
    return row


def do_delete_template(session: Session, shop_id: int, template_id: int) -> None:
    row = access_template(session, shop_id, template_id)
    event = _event("deleted", row)
    session.execute(delete(ReplyTemplate).where(ReplyTemplate.id == row.id, ReplyTemplate.shop_id == shop_id))
    record(session, shop_id, [event])


# --- the shop's defaults --------------------------------------------------------------------------
#
# Defaults are written when a shop is created (``shops.service.do_create_shop``), and once for a
# shop that existed before quick replies did (``ensure_defaults``, called when the list is first
# read). Either way the shop gets the DEFAULTS_MARK in its settings, and nothing writes defaults to
# a marked shop again on its own: an owner who deleted them deliberately keeps an empty list. To get
# them back, the owner uses "restore defaults" (``do_restore_defaults``), which adds only the
# defaults whose shortcode is free, so their own edits are never overwritten nor duplicated.


def _add_defaults(session: Session, shop: Shop) -> list[ReplyTemplate]:
    taken = set(session.scalars(select(ReplyTemplate.shortcode_key).where(ReplyTemplate.shop_id == shop.id)))
    added = []
    positions: dict[str, int] = {}
    for category, shortcode, title, body in DEFAULTS:
        if shortcode in taken:
            continue
        if category not in positions:
            positions[category] = _next_position(session, shop.id, category)
        row = ReplyTemplate(
            shop_id=shop.id,
            category=category,
            shortcode=shortcode,
            shortcode_key=shortcode,
            title=title,
            body=body,
            position=positions[category],
        )
        positions[category] += 1
        session.add(row)
        added.append(row)
    shop.settings = {**(shop.settings or {}), DEFAULTS_MARK: True}
    session.flush()
    return added


def seed_defaults(session: Session, shop: Shop) -> int:
    """A new shop's starting set (part of creating the shop, so no event of its own)."""
    return len(_add_defaults(session, shop))


def ensure_defaults(session: Session, shop_id: int) -> int:
    """Seed a shop that predates quick replies, once. The shop row lock (PostgreSQL; SQLite writers
    are serialised anyway) keeps two first visits from seeding twice."""
    shop = session.scalar(select(Shop).where(Shop.id == shop_id).with_for_update())
    if shop is None or (shop.settings or {}).get(DEFAULTS_MARK):
        return 0
    return len(_add_defaults(session, shop))


def do_restore_defaults(session: Session, shop_id: int) -> list[ReplyTemplate]:
    """Add back the defaults whose shortcode is free; the shop's own templates stay as they are."""
    shop = session.scalar(select(Shop).where(Shop.id == shop_id).with_for_update())
    if shop is None:
        raise NotFound("shop.not_found", N_("No such shop."))
    count = session.scalar(select(func.count()).where(ReplyTemplate.shop_id == shop_id))
    added = _add_defaults(session, shop)
    if count + len(added) > MAX_TEMPLATES:
        raise Conflict(
            "reply_template.too_many",
            N_("A shop can keep up to {limit} quick replies. Delete some first."),
            limit=MAX_TEMPLATES,
        )
    record(session, shop_id, [_event("created", row) for row in added])
    return added


def preview(
    session: Session, who: Viewer, conversation_id: int, body: PreviewIn, *, with_order: bool = True
) -> dict[str, Any]:
    """``body``'s template (or text) filled with the values of the conversation's current order.

    ``with_order=False`` (a caller who may not read orders) fills only what the conversation shows.
    """
    shop_id = who.shop_id
    conversation = access_conversation(session, who, conversation_id)
    text = body.body
    if body.template_id is not None:
        text = access_template(session, shop_id, body.template_id).body
    order = None
    if with_order:
        values, order = variables.values_for(session, who, conversation, body.order_id)
    else:
        values = variables.customer_values(session, conversation)
    rendered = render(text or "", values)
    return {
        "text": rendered.text,
        "variables": {name: values.get(name) for name in variables.NAMES},
        "missing": rendered.missing,
        # Staff see which order the text speaks of: the composer says "filled from order #…".
        "order_id": order.id if order else None,
        "order_number": order.number if order else None,
    }
