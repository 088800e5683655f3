"""``/api/v1/automation``: the shop's rules (自动化) and their run log. Every route needs
``automation.manage``; saving a rule also needs each permission its actions use."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.automation import presets, service
from shangliao.automation.models import AutomationRule
from shangliao.automation.schemas import RuleIn, RuleOut, RulePatch, RunOut
from shangliao.core.i18n import current_locale, gettext
from shangliao.core.schemas import MAX_ID, PathId
from shangliao.runtime import Runtime, get_runtime

router = APIRouter(prefix="/automation", tags=["automation"])
MANAGE = "automation.manage"


def rule_out(rule: AutomationRule) -> dict:
    return RuleOut.model_validate(rule, from_attributes=True).model_dump()


@router.get("/rules")
def list_rules(
    actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
) -> dict[str, list[RuleOut]]:
    with rt.db.read() as session:
        return {"items": [rule_out(r) for r in service.rules_of(session, actor.shop_id)]}


@router.post("/rules", response_model=RuleOut, status_code=201)
def create_rule(body: RuleIn, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    """A rule acts on events after it is switched on, never on history."""
    with rt.db.write() as session:
        return rule_out(service.do_create_rule(session, actor, body))


@router.get("/rules/{rule_id}", response_model=RuleOut)
def get_rule(rule_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)):
    with rt.db.read() as session:
        return rule_out(service.access_rule(session, actor, rule_id))


@router.put("/rules/{rule_id}", response_model=RuleOut)
def update_rule(
    rule_id: PathId,
    body: RuleIn,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.write() as session:
        rule = service.access_rule(session, actor, rule_id, lock=True)
        return rule_out(service.do_update_rule(session, actor, rule, body, version=version))


@router.patch("/rules/{rule_id}", response_model=RuleOut)
def switch_rule(
    rule_id: PathId,
    body: RulePatch,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    """Switch a rule on or off; switched on again, it acts on what happens from then on."""
    with rt.db.write() as session:
        rule = service.access_rule(session, actor, rule_id, lock=True)
        return rule_out(service.do_switch_rule(session, actor, rule, body.enabled, version=body.version))


@router.delete("/rules/{rule_id}", status_code=204)
def delete_rule(
    rule_id: PathId, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
) -> None:
    with rt.db.write() as session:
        service.do_delete_rule(session, actor, service.access_rule(session, actor, rule_id, lock=True))


@router.post("/rules/preview")
def preview_rule(
    body: RuleIn, actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)
) -> dict:
    """The orders (at most five, newest first) this rule would have acted on among the shop's
    recent events, judged by their state now. Changes nothing."""
    with rt.db.read() as session:
        return {"items": presets.preview(session, rt.keyring, actor.shop_id, body)}


@router.get("/presets")
def list_presets(actor: Actor = Depends(staff(MANAGE)), rt: Runtime = Depends(get_runtime)) -> dict:
    """The one-click rules, each with its rule when switched on before."""
    with rt.db.read() as session:
        made = presets.preset_rules(session, actor.shop_id)
        return {
            "items": [
                {"key": key, "name": gettext(p.name), "hint": gettext(p.hint),
                 "rule": rule_out(made[key]) if key in made else None}
                for key, p in presets.PRESETS.items()
            ]
        }  # fmt: skip


@router.post("/presets/{preset}", response_model=RuleOut)
def switch_on_preset(
    preset: Annotated[str, Path(max_length=32)],
    body: presets.PresetIn | None = None,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
):
    """Switch a preset on: its rule is made (or brought back up to date) and acts from now on.
    `product_tag_note` takes the products, the tag and the note."""
    with rt.db.write() as session:
        rule = presets.do_switch_on_preset(
            session, actor, preset, body or presets.PresetIn(), current_locale.get()
        )
        return rule_out(rule)


@router.get("/runs")
def list_runs(
    rule_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    actor: Actor = Depends(staff(MANAGE)),
    rt: Runtime = Depends(get_runtime),
) -> dict[str, list[RunOut]]:
    """The run log, newest first, 50 a page (``before_id``: the last id of the previous page)."""
    with rt.db.read() as session:
        runs = service.runs_of(session, actor.shop_id, rule_id, before_id=before_id)
        return {"items": [RunOut.model_validate(r, from_attributes=True).model_dump() for r in runs]}
