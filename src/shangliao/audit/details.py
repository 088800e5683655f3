"""An audit entry's data as a reader sees it on the console's 操作日志 page.

The API keeps returning the raw data (ids, codes, key names: integrators match on them); the page
shows each key through one label map (audit/acts.py ``DETAIL_LABELS``, then the request fields'
``FIELD_LABELS``) and each value in words: "—" for none, 是/否, a role's name for its key or id, a
permission's or data scope's label for its code, a member's name for their id, lists joined. Names
come from the shop's own rows, one query per page, so the page adds no personal data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.audit.acts import DETAIL_LABELS
from shangliao.auth.models import Role, Staff
from shangliao.auth.permissions import BUILTIN_ROLES, DATA_SCOPES, PERMISSIONS
from shangliao.core.field_labels import FIELD_LABELS
from shangliao.core.i18n import N_, current_locale, gettext

NONE = "—"
# Where a sign-in came from (auth/access.py).
SIGN_IN_VIA = {"console": N_("Console"), "api": N_("API")}
# Keys whose values are ids of the shop's members.
STAFF_KEYS = ("invited_by", "staff_id")
# Keys whose values are request field names (what was shown, which settings changed).
FIELD_KEYS = ("fields", "changed")


@dataclass(frozen=True)
class Names:
    """The shop's members and custom roles an entry's data names, by id."""

    staff: dict[int, str]
    roles: dict[int, str]
    timezone: str


def key_label(key: str) -> str:
    """The reader's words for a data key; the key itself for one nobody labelled."""
    text = DETAIL_LABELS.get(key) or FIELD_LABELS.get(key)
    return gettext(text) if text else key


def _zh() -> bool:
    return current_locale.get().startswith("zh")


def _joined(texts: Iterable[str]) -> str:
    return ("、" if _zh() else ", ").join(texts) or NONE


def _label_of(table: dict[str, str]) -> Callable[[Any], str]:
    return lambda code: gettext(table[code]) if code in table else str(code)


def _role(role: Any, role_id: Any, names: Names) -> str:
    if role in BUILTIN_ROLES:
        return gettext(BUILTIN_ROLES[role].name)
    if isinstance(role_id, int):
        return names.roles.get(role_id, f"#{role_id}")
    return NONE if role is None else str(role)


def _when(value: Any, names: Names) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return moment.astimezone(ZoneInfo(names.timezone)).strftime("%Y-%m-%d %H:%M")


def value_text(key: str, value: Any, names: Names) -> str:
    """``value`` of data key ``key`` in words."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, dict):
        colon, sep = ("：", "；") if _zh() else (": ", "; ")
        return sep.join(f"{k}{colon}{v}" for k, v in readable(value, names)) or NONE
    one = _one(key, names)
    if isinstance(value, list | tuple):
        return _joined(one(v) for v in value)
    return one(value)


def _one(key: str, names: Names) -> Callable[[Any], str]:
    if key in ("permissions", "scopes"):
        return _label_of(PERMISSIONS)
    if key == "data_scope":
        return _label_of(DATA_SCOPES)
    if key in STAFF_KEYS:
        return lambda i: names.staff.get(i, f"#{i}")
    if key in FIELD_KEYS:
        return _label_of(FIELD_LABELS)
    if key == "reason":
        # Imported here: the erasure module is large and only its reasons' labels are needed.
        from shangliao.privacy.erase import REASONS

        return _label_of(REASONS)
    if key == "via":
        return _label_of(SIGN_IN_VIA)
    if key == "expires_at":
        return lambda v: _when(v, names)
    return str


def readable(data: dict[str, Any], names: Names) -> list[tuple[str, str]]:
    """``data`` as (label, text) pairs in its own order; a role and its id read as one role."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        if key == "role_id" and "role" in data:
            continue  # told with the role
        if key == "role":
            pairs.append((key_label("role"), _role(value, data.get("role_id"), names)))
        else:
            pairs.append((key_label(key), value_text(key, value, names)))
    return pairs


# What an act was done to, in words; a customer or an order stays a number (its name is PII).
TARGETS = {
    "staff": N_("Member"),
    "role": N_("Role"),
    "invitation": N_("Invitation link"),
    "token": N_("Access token"),
    "customer": N_("Customer"),
    "order": N_("Order"),
    "shop": N_("Shop"),
}


def target_text(item: dict[str, Any], names: Names) -> str:
    """The entry's target: a member's or role's name, else its kind and number ("" for none)."""
    kind, target_id = item.get("target_type"), item.get("target_id")
    if item.get("target_name"):
        return item["target_name"]
    if kind == "role" and target_id in names.roles:
        return names.roles[target_id]
    if not kind:
        return ""
    label = gettext(TARGETS[kind]) if kind in TARGETS else kind
    return label if kind == "shop" or target_id is None else f"{label} #{target_id}"


def _walk(data: dict[str, Any], key: str) -> Iterable[Any]:
    for k, v in data.items():
        if k == key:
            yield from (v if isinstance(v, list) else [v])
        elif isinstance(v, dict):
            yield from _walk(v, key)


def _shop_names(
    session: Session, model: type[Staff | Role], name: Any, shop_id: int, ids: set[int]
) -> dict[int, str]:
    """``{id: name}`` of the shop's ``model`` rows among ``ids`` (``name``: its column to show, e.g.
    ``Staff.display_name``); no query when there are none."""
    if not ids:
        return {}
    return dict(
        session.execute(select(model.id, name).where(model.shop_id == shop_id, model.id.in_(ids))).all()
    )


def names_for(session: Session, shop_id: int, timezone: str, items: list[dict[str, Any]]) -> Names:
    """The names a page of entries needs (rule 4: the shop's own rows only)."""
    staff_ids = {i for r in items for k in STAFF_KEYS for i in _walk(r["data"], k) if isinstance(i, int)}
    role_ids = {i for r in items for i in _walk(r["data"], "role_id") if isinstance(i, int)}
    role_ids |= {r["target_id"] for r in items if r.get("target_type") == "role" and r.get("target_id")}
    staff = _shop_names(session, Staff, Staff.display_name, shop_id, staff_ids)
    roles = _shop_names(session, Role, Role.name, shop_id, role_ids)
    return Names(staff, roles, timezone)
