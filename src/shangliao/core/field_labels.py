"""The one mapping from a field's machine name to the words a reader sees in a refusal.

API answers keep machine names in ``details`` (integrators match on them); every human-readable
message names fields through :func:`field_names`, so "city, province" reads "省份、城市" in the
console and on the customer's phone alike, and no page keeps its own copy of the labels.
"""

from __future__ import annotations

from collections.abc import Iterable

from shangliao.core.i18n import N_, MsgList

FIELD_LABELS = {
    "address": N_("Address"),
    "address_id": N_("Address"),
    "receiver": N_("Receiver"),
    "phone": N_("Mobile"),
    "address_phone": N_("Receiver's mobile"),
    "province": N_("Province"),
    "province_code": N_("Province"),
    "city": N_("City"),
    "city_code": N_("City"),
    "district": N_("District"),
    "district_code": N_("District"),
    "detail": N_("Street and number"),
    "label": N_("Label"),
    "name": N_("Name"),
    "note": N_("Note"),
    "tags": N_("Tags"),
    "items": N_("Products"),
    "variant_id": N_("Product"),
    "quantity": N_("Quantity"),
    "unit_price": N_("Price"),
    "shipping_fee": N_("Shipping"),
    "discount": N_("Discount"),
    "remark": N_("Remark"),
    "customer_id": N_("Customer"),
    "assignee_id": N_("Assignee"),
    "carrier_code": N_("Carrier"),
    "tracking_number": N_("Tracking number"),
    "reason": N_("Reason"),
    "body": N_("Text"),
    "shortcode": N_("Shortcode"),
    "title": N_("Title"),
    "q": N_("Search"),
    "text": N_("Text"),
    "status": N_("Status"),
    "cursor": N_("Page"),
    "after": N_("Last event received"),  # the staff socket's ?after= (web/ws.py)
    "parent": N_("Region"),
    # Products, photos and stock (the console's product forms name fields through these too).
    "aliases": N_("Other names and keywords"),
    "description": N_("Description"),
    "options": N_("Options"),
    "low_stock_threshold": N_("Low-stock threshold"),
    "low_stock": N_("Low stock"),
    "presale": N_("Presale"),
    "active": N_("On sale"),
    "variants": N_("Variants"),
    "sku": N_("SKU code"),
    "spec": N_("Option values"),
    "price": N_("Price"),
    "on_hand": N_("Stock"),
    "delta": N_("Quantity"),
    "product_id": N_("Product"),
    "token": N_("Product link"),
    "images": N_("Photos"),
    "image_ids": N_("Photos"),
    "image_id": N_("Photo"),
    "key": N_("Photo"),
    # Orders: the list's filters, batches, payments, edits.
    "order_id": N_("Order"),
    "order_ids": N_("Orders"),
    "version": N_("Version"),
    "draft": N_("Draft"),
    "channel": N_("Channel"),
    "archived": N_("Archived"),
    "unassigned": N_("Unassigned"),
    "tag": N_("Tags"),
    "payment_status": N_("Payment status"),
    "amount_min": N_("Lowest amount"),
    "amount_max": N_("Highest amount"),
    "created_from": N_("Ordered from"),
    "created_to": N_("Ordered until"),
    "sort": N_("Sort"),
    "limit": N_("Page size"),
    "before_id": N_("Page"),
    "next": N_("Page"),
    "action": N_("Action"),
    "params": N_("Options for the action"),
    "add": N_("Tags to add"),
    "remove": N_("Tags to remove"),
    "other_reason": N_("Reason"),
    "reason_note": N_("Note"),
    "ship_unpaid": N_("Ship before payment"),
    "item_prices": N_("Item prices"),
    "amount": N_("Amount"),
    "method": N_("Payment method"),
    "reference": N_("Payment reference"),
    "paid_at": N_("Paid at"),
    # 运费模板 (shipping/templates.py) and what products say about shipping.
    "basis": N_("Charged by"),
    "first_units": N_("First units"),
    "first_fee": N_("First fee"),
    "further_units": N_("Each further units"),
    "further_fee": N_("Further fee"),
    "province_rules": N_("Fees for some provinces"),
    "provinces": N_("Provinces"),
    "free_over_amount": N_("Free from amount"),
    "free_over_count": N_("Free from pieces"),
    "excluded_provinces": N_("Not delivered to"),
    "shipping_template_id": N_("Shipping template"),
    "rule_id": N_("Automation rule"),
    "weight_g": N_("Weight (grams)"),
    # Customers.
    "phones": N_("Mobile"),
    "phone_id": N_("Mobile"),
    "primary": N_("Primary number"),
    "addresses": N_("Addresses"),
    "is_default": N_("Default"),
    "blocked": N_("Blacklist"),
    "other_id": N_("The other customer"),
    "other_version": N_("Version"),
    # Chat, quick replies, the shop page.
    "conversation_id": N_("Conversation"),
    "message_id": N_("Message"),
    "source_message_id": N_("Message"),
    "client_id": N_("Message id"),
    "kind": N_("Kind"),
    "filter": N_("Filter"),
    "seq": N_("Message position"),
    "after_seq": N_("Message position"),
    "before_seq": N_("Message position"),
    "attachment_id": N_("File"),
    "template_id": N_("Quick reply"),
    "category": N_("Category"),
    "position": N_("Position"),
    "code": N_("Verification code"),
    "shop": N_("Shop"),
    # Sign-in, credentials and the shop's settings.
    "username": N_("Username"),
    "password": N_("Password"),
    "scopes": N_("Permissions"),
    "expires_in_days": N_("Valid for (days)"),
    "token_id": N_("Access token"),
    "timezone": N_("Time zone"),
    "lang": N_("Language"),
    # The team: members, roles, invitations (auth/team_schemas.py).
    "display_name": N_("Display name"),
    "role": N_("Role"),
    "role_id": N_("Role"),
    "staff_id": N_("Member"),
    "permissions": N_("Permissions"),
    "data_scope": N_("Data scope"),
    "sees_unassigned": N_("Also unassigned ones"),
    "invitation_id": N_("Invitation link"),
    # Assignment rules (assignment/settings.py) and bulk assignment.
    "mode": N_("Auto-assignment"),
    "order": N_("New pending orders"),
    "conversation": N_("New conversations"),
    "roles": N_("Who takes turns"),
    "role_ids": N_("Who takes turns"),
    "conversation_ids": N_("Conversations"),
    # Notifications and their preferences.
    "notification_id": N_("Notification"),
    "before": N_("Page"),
    "unread": N_("Unread"),
    "muted": N_("What I am told of"),
    "statuses": N_("Order statuses I follow"),
    # A customer's erasure (privacy/api.py).
    "confirm": N_("Confirmation"),
    # Payment methods (payments/schemas.py).
    "enabled": N_("Switched on"),
    "settings": N_("Settings"),
    "secrets": N_("Keys and secrets"),
    "mchid": N_("Merchant id (mchid)"),
    "appid": N_("AppID"),
    "merchant_serial": N_("Merchant certificate serial"),
    "platform_keys": N_("Platform certificates or public keys"),
    "apiv3_key": N_("APIv3 key"),
    "merchant_private_key": N_("Merchant API private key"),
    "app_id": N_("Alipay app_id"),
    "seller_id": N_("Seller id (PID)"),
    "alipay_public_key": N_("Alipay public key"),
    "app_private_key": N_("App private key"),
    "account_name": N_("Account name"),
    "bank": N_("Bank"),
    "account_number": N_("Account number"),
    "branch": N_("Branch"),
    "hmac_secret": N_("HMAC secret"),
    "static_code": N_("Payment code image"),
    # Invoices (invoices/service.py) and the order list's invoice filter.
    "title_type": N_("Invoice title type"),
    "tax_id": N_("Tax id"),
    "email": N_("Email"),
    "invoice_number": N_("Invoice number"),
    "issued_at": N_("Issued on"),
    "invoice": N_("Invoice"),
    "issued_on": N_("Issued on"),
    # Proofs, refunds, parcels and after-sales (payments/proof_api.py, orders/refund_api.py,
    # shipping/parcel_api.py, aftersales/api.py) and the order list's after-sales filter.
    "proof_id": N_("Payment proof"),
    "refund_id": N_("Refund"),
    "refunded_at": N_("Refunded at"),
    "parcel_id": N_("Parcel"),
    "order_item_id": N_("Order line"),
    "aftersale_id": N_("After-sales request"),
    "aftersales": N_("Open after-sales"),
    "line_id": N_("Order line"),
    "lines": N_("Products concerned"),
    "photos": N_("Photos of the problem"),
    "message": N_("Message to the customer"),
    "replacements": N_("Replacements"),
    "replacement_variant_id": N_("Replacement"),
    "restock": N_("Back into stock"),
    # The shop's workflow and tag palette (orders/workflow.py, orders/tag_palette.py).
    "require_payment_to_confirm": N_("Confirm only once paid"),
    "skip_preparing": N_("Skip preparing"),
    "expire_unpaid_hours": N_("Cancel unpaid orders after"),
    "auto_complete_days": N_("Complete shipped orders after"),
    "auto_archive_days": N_("Archive finished orders after"),
    "manual_required": N_("Required on orders entered by hand"),
    "color": N_("Colour"),
    # Automation rules (automation/schemas.py).
    "trigger": N_("Trigger"),
    "trigger_params": N_("Trigger"),
    "keywords": N_("Keywords"),
    "conditions": N_("Conditions"),
    "match": N_("Match all or any"),
    "product_ids": N_("Products"),
    "skus": N_("SKUs"),
    "min": N_("At least"),
    "max": N_("At most"),
    "channels": N_("Channels"),
    "start": N_("From"),
    "end": N_("Until"),
    "actions": N_("Actions"),
    "staff_ids": N_("Members"),
    "round_robin": N_("Round robin"),
    "delay_minutes": N_("Delay"),
    "preset": N_("One-click rule"),
    "state": N_("Payment"),
    "url": N_("Web address"),
    "topics": N_("What to send"),
    "webhook_id": N_("Webhook"),
    "delivery_id": N_("Webhook delivery"),
    "export_id": N_("Export"),
    "format": N_("File type"),
    "query": N_("Filters"),
    "upload": N_("Filled sheet"),
    # The dashboard's range and charts (stats/), and the customer list's RFM group.
    "from": N_("First day"),
    "to": N_("Last day"),
    "chart": N_("Chart"),
    "segment": N_("Customer group"),
}


# A field whose name means something else on one route (by the request's path): there the route's
# label wins over the shared one.
ROUTE_LABELS: dict[str, dict[str, str]] = {
    # An invitation link's secret, not a product's share link (the "token" of the shop page).
    "/api/v1/invitations/accept": {"token": N_("Invitation link")},
    "/api/v1/order-tags": {"items": N_("Order tags"), "name": N_("Tag")},
    "/api/v1/automation/rules": {
        "items": N_("Conditions"),
        "name": N_("Rule name"),
        "tags": N_("Customer tags"),
    },
}


def field_label(path: str, route: str | None = None) -> str:
    """The label msgid for ``path`` ("address.phone", "items.0.quantity"): its deepest known part
    (as the route at path ``route`` names it, if it has its own label for it).

    Every field of every request has a label (``tests/test_fix_address.py`` walks them all); the
    machine name is only a last resort, for a field added without one."""
    parts = [p for p in str(path).split(".") if p and not p.isdigit()]
    own = ROUTE_LABELS.get(route or "", {})
    for part in reversed(parts):
        label = own.get(part) or FIELD_LABELS.get(part)
        if label:
            return label
    return parts[-1] if parts else str(path)


def field_names(paths: Iterable[str], route: str | None = None) -> MsgList:
    """The fields as a message parameter, each translated and joined when the message is shown."""
    labels: list[str] = []
    for path in paths:
        label = field_label(path, route)
        if label and label not in labels:
            labels.append(label)
    return MsgList(labels)
