"""Permission names and what each role holds. Roles beyond the owner arrive with the team issue."""

from __future__ import annotations

from shangliao.core.i18n import N_

PERMISSIONS: dict[str, str] = {
    "shop.read": N_("View shop settings"),
    "shop.manage": N_("Change shop settings and API tokens"),
    "staff.manage": N_("Manage staff accounts"),
    "catalog.read": N_("View products"),
    "catalog.write": N_("Create and edit products"),
    "inventory.adjust": N_("Adjust stock"),
    "customers.read": N_("View customers"),
    "customers.write": N_("Create and edit customers"),
    "orders.read": N_("View orders"),
    "orders.write": N_("Create and edit orders"),
    "orders.fulfil": N_("Confirm, prepare and ship orders"),
    "orders.cancel": N_("Cancel orders"),
    "orders.archive": N_("Archive orders"),
    "payments.record": N_("Record payments"),
    "chat.read": N_("View conversations"),
    "chat.write": N_("Chat with customers"),
    "chat.templates": N_("Manage quick replies"),
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": frozenset(PERMISSIONS),
}


def permissions_for(role: str, scopes: list[str] | None = None) -> frozenset[str]:
    """A role's permissions, narrowed to ``scopes`` for an API token that was given fewer."""
    granted = ROLE_PERMISSIONS.get(role, frozenset())
    return granted if scopes is None else granted & frozenset(scopes)
