"""Why an order was cancelled: a code from a fixed list, stored as the code and worded in the
reader's language wherever it is shown, or "other" with the words staff typed.

A code (not the words) is what the order and its timeline keep, so a reason reads in Chinese to one
colleague and in English to another, and a report can count reasons. The API takes the codes and
refuses any other value with the list it accepts.
"""

from __future__ import annotations

from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_, gettext

# In the order the cancel dialog offers them; "other" last, with a free text.
CANCEL_REASONS: dict[str, str] = {
    "changed_mind": N_("Customer changed their mind"),
    "out_of_stock": N_("Out of stock"),
    "not_paid": N_("Customer did not pay"),
    "duplicate": N_("Duplicate order"),
    "undeliverable": N_("Address cannot be delivered to"),
    "other": N_("Other"),
}
OTHER = "other"
NOTE_MAX = 200


def check_cancel_reason(code: str | None, note: str | None = None) -> tuple[str, str | None]:
    """``(code, note)`` to store: ``code`` must be listed; "other" needs a few words in ``note``
    (any listed reason may carry a note too)."""
    code = (code or "").strip()
    text = (note or "").strip() or None
    if code not in CANCEL_REASONS:
        raise Invalid(
            "order.unknown_cancel_reason",
            N_("Unknown cancel reason “{code}”. Use one of: {codes}."),
            code=code,
            codes=", ".join(CANCEL_REASONS),
            details={"reason": code, "allowed": list(CANCEL_REASONS)},
        )
    if code == OTHER and text is None:
        raise Invalid(
            "order.cancel_reason_note_required",
            N_("Say in a few words why the order is cancelled when the reason is “other”."),
            details={"fields": ["reason_note"]},
        )
    if text is not None and len(text) > NOTE_MAX:
        raise Invalid(
            "order.cancel_reason_note_too_long",
            N_("The cancel reason is too long: at most {limit} characters."),
            limit=NOTE_MAX,
        )
    return code, text


def reason_text(code: str | None, note: str | None = None, locale: str | None = None) -> str:
    """The reason as the reader says it: the listed words (with the note, if any), or the note
    alone for "other". A code this list does not know is shown as stored."""
    if not code:
        return note or ""
    label = CANCEL_REASONS.get(code)
    if label is None:
        return code
    if code == OTHER:
        return note or gettext(label, locale)
    words = gettext(label, locale)
    return f"{words} · {note}" if note else words
