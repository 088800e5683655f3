"""The shop's own order workflow (流程自定义), kept in ``shops.settings["workflow"]``.

The lifecycle table (``orders/state.py``) is the same for every shop; a shop's workflow may only
close steps that *enter* a state, never a way out of one, so changing the settings can never
strand an order (an order already 备货中 still ships; a pending one can always be cancelled, and
confirmed once paid). The periods drive the scheduled sweeps (``orders/sweeps.py``) from their next
run on.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from sqlalchemy.orm import Session

from shangliao.audit.acts import SETTINGS_CHANGED
from shangliao.audit.log import record_audit
from shangliao.auth.actor import Actor
from shangliao.core.errors import Conflict, Invalid, ShangliaoError
from shangliao.core.field_labels import field_names
from shangliao.core.i18n import N_
from shangliao.core.schemas import StrictModel
from shangliao.shops import settings_cache
from shangliao.shops.models import Shop

KEY = "workflow"

# What a manual order may be required to carry, by the request field that carries it.
ManualField = Literal["customer_id", "remark", "assignee_id", "tags"]
MANUAL_FIELDS: tuple[str, ...] = ManualField.__args__  # type: ignore[attr-defined]


class Workflow(StrictModel):
    require_payment_to_confirm: bool = Field(
        False, description="A pending order is confirmed only once it is paid in full (先款后货)."
    )
    skip_preparing: bool = Field(
        False,
        description="No 备货中 step: confirmed orders ship straight away. Orders already preparing still ship.",
    )
    expire_unpaid_hours: int | None = Field(
        None, ge=1, le=720,
        description="Pending orders with nothing paid are cancelled (reason not_paid) after this many hours, their stock released. null: never.",
    )  # fmt: skip
    auto_complete_days: int | None = Field(
        None, ge=1, le=60,
        description="Shipped orders complete on their own this many days after shipping (自动确认收货), unless an after-sales request is open. null: never.",
    )  # fmt: skip
    auto_archive_days: int | None = Field(
        None, ge=1, le=365,
        description="Completed and cancelled orders are archived this many days after they ended. null: never.",
    )  # fmt: skip
    manual_required: list[ManualField] = Field(
        default_factory=list,
        max_length=len(MANUAL_FIELDS),
        description="What an order entered by hand must carry before it is placed: "
        "`customer_id`, `remark`, `assignee_id`, `tags`.",
    )

    def refusal(self, action: str, *, paid_in_full: bool) -> ShangliaoError | None:
        """Why this shop's workflow closes ``action`` (None: it does not)."""
        if action == "prepare" and self.skip_preparing:
            return Conflict(
                "order.step_off",
                N_("This shop ships confirmed orders without a preparing step."),
                details={"action": action},
            )
        if action == "confirm" and self.require_payment_to_confirm and not paid_in_full:
            return Conflict(
                "order.payment_required",
                N_("This shop confirms an order once it is paid in full: record the payment first."),
                details={"action": action},
            )
        return None

    def closed(self, *, paid_in_full: bool) -> frozenset[str]:
        """The steps this workflow closes for an order so paid (what the console does not offer)."""
        if not (self.skip_preparing or self.require_payment_to_confirm):
            return frozenset()  # most shops: every order rendered passes here
        return frozenset(a for a in ("confirm", "prepare") if self.refusal(a, paid_in_full=paid_in_full))

    def check_manual(self, given: dict[str, Any]) -> None:
        """A manual order (a draft too) lacking what the shop requires is refused when it is
        made, naming what is missing. Not again when a draft is submitted: a draft made before the
        requirement could otherwise never leave (an order's remark is not edited afterwards)."""
        missing = [name for name in MANUAL_FIELDS if name in self.manual_required and not given.get(name)]
        if missing:
            raise Invalid(
                "order.required_fields",
                N_("This shop requires on orders entered by hand: {fields}."),
                fields=field_names(missing),
                details={"fields": missing},
            )


DEFAULT = Workflow()

# The steps a workflow may close: any other reads no settings, so those paths stay as they were.
FLOW_ACTIONS = frozenset({"confirm", "prepare"})


def workflow_of(settings: dict[str, Any] | None) -> Workflow:
    """The workflow as stored (absent or unreadable: the default one)."""
    try:
        return Workflow.model_validate((settings or {}).get(KEY) or {})
    except ValueError:
        return DEFAULT


def workflow_for(session: Session, shop_id: int) -> Workflow:
    return settings_cache.setting(session, shop_id, workflow_of)


def paid_in_full(order: Any) -> bool:
    return order.paid_amount - order.refunded_amount >= order.total


def do_set_workflow(session: Session, actor: Actor, body: Workflow) -> Workflow:
    """Store the shop's workflow (an audited settings change, naming what changed)."""
    shop = session.get(Shop, actor.shop_id)
    before = workflow_of(shop.settings).model_dump()
    after = body.model_dump()
    settings_cache.saved(session, shop, KEY, after)
    record_audit(
        session, shop.id, SETTINGS_CHANGED, actor=actor, target_type="shop", target_id=shop.id,
        data={"setting": KEY, "changed": sorted(k for k in after if after[k] != before[k])},
    )  # fmt: skip
    return body
