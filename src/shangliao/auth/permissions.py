"""Permission names, the built-in roles, and what a role grants (docs/architecture.md, "Team").

A role grants permissions and a **data scope**: ``all`` rows of the shop, or only the orders and
conversations ``assigned`` to the member (optionally with the unassigned ones too). Built-in roles
live here, the same in every shop; a shop's custom roles are rows of ``roles`` (auth/models.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from shangliao.core.i18n import N_

PERMISSIONS: dict[str, str] = {
    "shop.read": N_("View shop settings"),
    "settings.manage": N_("Change shop settings"),
    "team.manage": N_("Manage members, roles and API tokens"),
    "audit.read": N_("Read the audit log"),
    "catalog.read": N_("View products"),
    "catalog.write": N_("Create and edit products"),
    "inventory.adjust": N_("Adjust stock"),
    "customers.read": N_("View customers"),
    "customers.write": N_("Create and edit customers"),
    "customers.pii": N_("See full phone numbers and addresses"),
    "orders.read": N_("View orders"),
    "orders.write": N_("Create and edit orders"),
    "orders.assign": N_("Assign orders and conversations to members"),
    "orders.fulfil": N_("Confirm, prepare and ship orders"),
    "orders.cancel": N_("Cancel orders"),
    "orders.archive": N_("Archive orders"),
    "orders.export": N_("Export orders"),
    "payments.record": N_("Record payments"),
    "payments.manage": N_("Configure payment methods"),
    "payments.refund": N_("Record refunds"),
    "aftersales.manage": N_("Handle after-sales requests (refunds, returns, exchanges)"),
    "invoices.manage": N_("Issue invoices"),
    "analytics.read": N_("View the dashboard and analysis"),
    "automation.manage": N_("Manage automation rules"),
    "chat.read": N_("View conversations"),
    "chat.write": N_("Chat with customers"),
    "chat.templates": N_("Manage quick replies"),
}

# Data scopes a role may have: every row, or only what is assigned to the member.
SCOPE_ALL = "all"
SCOPE_ASSIGNED = "assigned"
DATA_SCOPES: dict[str, str] = {
    SCOPE_ALL: N_("Everything in the shop"),
    SCOPE_ASSIGNED: N_("Only orders and conversations assigned to them"),
}


@dataclass(frozen=True)
class Grant:
    """What a role gives its members: permissions, and which rows they may see."""

    permissions: frozenset[str]
    data_scope: str = SCOPE_ALL
    # With ``assigned``: whether unassigned orders and conversations are visible too (to pick up).
    sees_unassigned: bool = False

    @property
    def limited(self) -> bool:
        return self.data_scope != SCOPE_ALL


@dataclass(frozen=True)
class BuiltinRole:
    key: str
    name: str  # translatable, shown in the console
    grant: Grant


def _perms(*names: str) -> frozenset[str]:
    unknown = set(names) - set(PERMISSIONS)
    if unknown:
        raise ValueError(f"unknown permissions {sorted(unknown)}")
    return frozenset(names)


_EVERYTHING = frozenset(PERMISSIONS)
BUILTIN_ROLES: dict[str, BuiltinRole] = {
    r.key: r
    for r in (
        BuiltinRole("owner", N_("Owner"), Grant(_EVERYTHING)),
        # An admin runs the shop day to day; the audit log stays the owner's unless granted.
        BuiltinRole("admin", N_("Admin"), Grant(_EVERYTHING - {"audit.read"})),
        # Customer service: talks to customers and takes orders, sees phones masked, and works
        # the orders and conversations assigned to them plus the unassigned ones to pick up.
        BuiltinRole(
            "agent",
            N_("Customer service"),
            Grant(
                _perms(
                    "shop.read",
                    "catalog.read",
                    "customers.read",
                    "customers.write",
                    "orders.read",
                    "orders.write",
                    "orders.cancel",
                    "payments.record",
                    "aftersales.manage",
                    "chat.read",
                    "chat.write",
                    "chat.templates",
                ),
                SCOPE_ASSIGNED,
                sees_unassigned=True,
            ),
        ),
        # The packer: stock, preparing and shipping; needs the full address to write the label.
        BuiltinRole(
            "warehouse",
            N_("Warehouse"),
            Grant(
                _perms(
                    "shop.read",
                    "catalog.read",
                    "inventory.adjust",
                    "orders.read",
                    "orders.fulfil",
                    # Returned parcels arrive at the warehouse: it confirms them and restocks.
                    "aftersales.manage",
                    "customers.pii",
                )
            ),
        ),
        # The bookkeeper: payments, refunds and exports; no chat, phones masked.
        BuiltinRole(
            "finance",
            N_("Finance"),
            Grant(
                _perms(
                    "shop.read",
                    "catalog.read",
                    "customers.read",
                    "orders.read",
                    "orders.export",
                    "payments.record",
                    "payments.manage",
                    "payments.refund",
                    "invoices.manage",
                    "analytics.read",
                )
            ),
        ),
    )
}
OWNER = "owner"
# A member whose role is one of the shop's own (``roles`` rows) has this as ``staff.role``.
CUSTOM = "custom"


def builtin_grant(role: str) -> Grant:
    """A built-in role's grant; an unknown name grants nothing (a custom role is read from its row)."""
    found = BUILTIN_ROLES.get(role)
    return found.grant if found else Grant(frozenset())


def permissions_for(role: str, scopes: list[str] | None = None) -> frozenset[str]:
    """A built-in role's permissions, narrowed to ``scopes`` for an API token that was given fewer."""
    return narrow(builtin_grant(role).permissions, scopes)


def narrow(granted: frozenset[str], scopes: list[str] | None) -> frozenset[str]:
    return granted if scopes is None else granted & frozenset(scopes)


def check_permission_names(names: list[str] | set[str] | frozenset[str]) -> list[str]:
    """The names that are not permissions (empty when all are)."""
    return sorted(set(names) - set(PERMISSIONS))
