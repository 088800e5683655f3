"""Every act the audit log knows, with the label the console and the API show for it.

One map for all areas: a new act gets its label here (and its zh_CN entry in audit.po). An act
missing here still shows, by its code.
"""

from __future__ import annotations

from shangliao.core.i18n import N_, gettext

SIGNED_IN = "auth.signed_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
LOCKED_OUT = "auth.locked_out"
SIGNED_OUT = "auth.signed_out"
SETTINGS_CHANGED = "settings.changed"

LABELS: dict[str, str] = {
    SIGNED_IN: N_("Signed in"),
    SIGN_IN_FAILED: N_("Sign-in failed"),
    LOCKED_OUT: N_("Account locked"),
    SIGNED_OUT: N_("Signed out"),
    SETTINGS_CHANGED: N_("Shop settings changed"),
    "auth.token_created": N_("API token created"),
    "auth.token_revoked": N_("API token revoked"),
    "team.member_created": N_("Member added"),
    "team.member_role_changed": N_("Member's role changed"),
    "team.member_password_reset": N_("Member's password reset"),
    "team.member_deactivated": N_("Member deactivated"),
    "team.member_reactivated": N_("Member reactivated"),
    "team.role_created": N_("Role created"),
    "team.role_changed": N_("Role changed"),
    "team.role_deleted": N_("Role deleted"),
    "team.invitation_created": N_("Invitation created"),
    "team.invitation_accepted": N_("Invitation accepted"),
    "team.invitation_revoked": N_("Invitation revoked"),
    "pii.revealed": N_("Personal data shown"),
    "automation.rule_created": N_("Automation rule created"),
    "automation.rule_changed": N_("Automation rule changed"),
    "automation.rule_switched": N_("Automation rule switched on or off"),
    "automation.rule_deleted": N_("Automation rule deleted"),
    "webhook.created": N_("Webhook added"),
    "webhook.changed": N_("Webhook changed"),
    "webhook.deleted": N_("Webhook deleted"),
    "webhook.secret_rotated": N_("Webhook signing secret replaced"),
    "webhook.disabled": N_("Webhook switched off after failing"),
    "keys.rotated": N_("Encryption keys rotated"),
    "keys.retired": N_("Encryption keys retired"),
    "customer.exported": N_("Customer data exported"),
    "customer.erased": N_("Customer data erased"),
    "payments.notification_mismatch": N_("Payment notification not applied"),
    "export.orders": N_("Orders exported"),
    "documents.packing_slips": N_("Packing slips printed"),
    "documents.evidence_pack": N_("Evidence pack made"),
    "payments.method_changed": N_("Payment method changed"),
}

# The act filter's groups: a prefix matches every act under it ("auth." = all sign-in acts).
GROUPS: dict[str, str] = {
    "auth.": N_("Sign-in and tokens"),
    "team.": N_("Team"),
    "pii.": N_("Personal data"),
    "customer.": N_("Customer data"),
    "settings.": N_("Settings"),
    "keys.": N_("Keys"),
    "export.": N_("Exports"),
    "documents.": N_("Printed documents"),
    "payments.": N_("Payments"),
}


# The words for an entry's data keys that are not request fields (core/field_labels.py names
# those), or that mean something else in the log: audit/details.py looks here first.
DETAIL_LABELS: dict[str, str] = {
    "before": N_("Before"),
    "name": N_("Name"),
    "expires_at": N_("Expires"),
    "invited_by": N_("Invited by"),
    "invitations_revoked": N_("Invitation links revoked"),
    "fields": N_("What was shown"),
    "changed": N_("Changed settings"),
    "setting": N_("Setting"),
    "format": N_("Format"),
    "failures": N_("Wrong passwords in a row"),
    "minutes": N_("Locked for (minutes)"),
    "via": N_("Signed in with"),
    "key_id": N_("Current key"),
    "moved": N_("Rows re-encrypted"),
    "done": N_("Finished"),
    "orders": N_("Orders"),
    "timeline_entries": N_("Order timeline entries"),
    "devices": N_("Devices"),
    "phone_codes": N_("Verification codes"),
    "card_keys": N_("Chat card keys"),
    "provider": N_("Payment provider"),
    "number": N_("Order number"),
    "out_trade_no": N_("Merchant trade number"),
    "transaction_id": N_("Provider transaction id"),
    "full": N_("Personal data in full"),
    "sha256": N_("File fingerprint (SHA-256)"),
}


def label(act: str, locale: str | None = None) -> str:
    """The act's readable name in ``locale`` (the request's by default); its code when unknown."""
    text = LABELS.get(act)
    return gettext(text, locale) if text else act
