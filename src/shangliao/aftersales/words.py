"""How after-sales codes read (kinds, reasons, states, the customer's next step), in the reader's
language: rows keep the codes, so one request reads in Chinese to one colleague, English to another."""

from __future__ import annotations

from shangliao.core.i18n import N_, gettext

KINDS: dict[str, str] = {
    "refund_only": N_("Refund only"),
    "return_refund": N_("Return and refund"),
    "exchange": N_("Exchange"),
}
# In the order the customer's form offers them; "other" last, with the customer's own words.
REASONS: dict[str, str] = {
    "unwanted": N_("No longer wanted"),
    "quality": N_("Quality problem"),
    "wrong_item": N_("Wrong item sent"),
    "missing": N_("Items missing"),
    "size": N_("Size does not fit"),
    "other": N_("Other"),
}
STATUSES: dict[str, str] = {
    "requested": N_("Waiting for the shop"),
    "approved": N_("Approved, refund pending"),
    "awaiting_return": N_("Approved, waiting for your return"),
    "returned": N_("Return received"),
    "refunded": N_("Refunded"),
    "exchanged": N_("Replacement sent"),
    "refused": N_("Refused"),
    "withdrawn": N_("Withdrawn"),
    "settled_offline": N_("Settled outside the system"),
}
# What the customer must do (or wait for) next, shown on the card and the order page.
NEXT_STEPS: dict[str, str] = {
    "requested": N_("The shop will look at your request soon."),
    "approved": N_("The shop will refund you shortly."),
    "awaiting_return": N_("Please send the goods back and enter the courier and tracking number."),
    "return_sent": N_("The shop will check the parcel when it arrives."),
    "returned": N_("The shop received your parcel and will settle the request."),
    "refunded": N_("The money is on its way back to you."),
    "exchanged": N_("Your replacement is on its way."),
    "refused": N_("The shop declined this request."),
    "withdrawn": N_("You withdrew this request."),
    "settled_offline": N_("The shop settled this request with you directly."),
}
CARD_TITLE = N_("After-sales request {number}")
STEPS: dict[str, str] = {
    "requested": N_("After-sales requested"),
    "approved": N_("After-sales approved"),
    "refused": N_("After-sales refused"),
    "withdrawn": N_("After-sales withdrawn"),
    "return_sent": N_("Return sent"),
    "returned": N_("Return received"),
    "refunded": N_("After-sales refunded"),
    "exchanged": N_("Replacement shipped"),
    "refund_linked": N_("After-sales settled by an earlier refund"),
    "closed_offline": N_("After-sales settled outside the system"),
}


def label(table: dict[str, str], code: str | None, locale: str | None = None) -> str:
    """``code`` in the reader's words; a code the table does not know reads as stored."""
    if not code:
        return ""
    words = table.get(code)
    return gettext(words, locale) if words else code
