"""A device proves it holds the phone it claimed, over HTTP (``/s/{shop}/api/phone-code…``): ask for
a code by SMS, then send it back. Only where the operator configured an SMS gateway
(``SHANGLIAO_SMS_GATEWAY``); otherwise the shop confirms the claim (``claims.py``)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends
from pydantic import Field

from shangliao.core.i18n import gettext
from shangliao.core.schemas import StrictModel
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop
from shangliao.storefront import phone_codes
from shangliao.storefront.api import shop_page_router, visitor
from shangliao.storefront.sms import require_gateway, sms_unavailable
from shangliao.storefront.visitors import Guest

log = logging.getLogger(__name__)
router = shop_page_router()

# Codes asked for: per device, and per phone (many devices claiming one number must not flood its
# owner with texts). Each refused ask counts too: the limit is there for whoever keeps asking.
CODES_PER_DEVICE = ("3/hour",)
CODES_PER_PHONE = ("5/hour", "10/day")
# Checks per device, beyond the five tries each code allows: a script asking and guessing in turn.
CHECKS_PER_DEVICE = ("30/hour",)


class CodeSent(StrictModel):
    expires_in: int = Field(description="Seconds a code is good for, if the number can receive one.")


class CodeIn(StrictModel):
    code: str = Field(pattern=r"^\d{6}$")


class Linked(StrictModel):
    customer_id: int
    conversation_id: int


@router.post("/phone-code", response_model=CodeSent)
def send_code(shop: str, guest: Guest = Depends(visitor()), rt: Runtime = Depends(get_runtime)) -> Any:
    """Text a one-time code to the phone this device typed. The answer is the same whether or not a
    code went out (the number is nobody's, or the device has nothing left to prove): the shop page
    must not tell anyone whether a phone belongs to one of the shop's customers."""
    gateway = require_gateway(rt.settings.sms_gateway)
    for rule in CODES_PER_DEVICE:
        rt.limits.check(rule, "sms_device", str(guest.shop_id), str(guest.visitor_id))
    answer = {"expires_in": int(phone_codes.CODE_TTL.total_seconds())}
    with rt.db.read() as session:
        target = phone_codes.code_target(session, guest)
    if target is None:
        return answer
    for rule in CODES_PER_PHONE:
        rt.limits.check(rule, "sms_phone", str(guest.shop_id), target.phone_hash.hex())
    with rt.db.write() as session:
        name = session.get(Shop, guest.shop_id).name
        target = phone_codes.code_target(session, guest)
        if target is None:  # vouched for, or the phone moved, since the read
            return answer
        phone, code = phone_codes.do_issue_code(session, rt.keyring, guest, target)
    # After the commit (rule 2 of docs/architecture.md): a code that was never stored is never sent.
    try:
        gateway.send(phone, gettext(phone_codes.TEXT, shop=name, code=code))
    except Exception:
        log.exception("the SMS gateway did not take a code")  # the phone number stays out of logs
        raise sms_unavailable() from None
    return answer


@router.post("/phone-code/check", response_model=Linked)
def check_code(
    shop: str, body: CodeIn, guest: Guest = Depends(visitor()), rt: Runtime = Depends(get_runtime)
) -> Any:
    """The code that was texted: right, and this device is that customer's from now on."""
    require_gateway(rt.settings.sms_gateway)
    for rule in CHECKS_PER_DEVICE:
        rt.limits.check(rule, "sms_check", str(guest.shop_id), str(guest.visitor_id))
    with rt.db.write() as session:
        timezone = session.get(Shop, guest.shop_id).timezone
        checked = phone_codes.do_check_code(session, rt.keyring, guest, body.code, timezone)
        linked = checked.conversation
        answer = None if linked is None else {"customer_id": linked.customer_id, "conversation_id": linked.id}
    if checked.refused is not None:  # a wrong try, counted by the unit that just committed
        raise checked.refused
    return answer
