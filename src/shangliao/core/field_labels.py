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
    "parent": N_("Region"),
}


def field_label(path: str) -> str:
    """The label msgid for ``path`` ("address.phone", "items.0.quantity"): its deepest known part."""
    parts = [p for p in str(path).split(".") if p and not p.isdigit()]
    for part in reversed(parts):
        if part in FIELD_LABELS:
            return FIELD_LABELS[part]
    return parts[-1] if parts else str(path)


def field_names(paths: Iterable[str]) -> MsgList:
    """The fields as a message parameter, each translated and joined when the message is shown."""
    labels: list[str] = []
    for path in paths:
        label = field_label(path)
        if label and label not in labels:
            labels.append(label)
    return MsgList(labels)
