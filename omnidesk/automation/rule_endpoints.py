from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from omnidesk.automation import actions, conditions, engine, rules
from omnidesk.automation.schemas import (
    AutomationRuleCreate,
    AutomationRuleOut,
    AutomationRuleUpdate,
    DryRunIn,
    DryRunOut,
    MacroApplied,
    MacroCreate,
    MacroOut,
    MacroUpdate,
    NameDescription,
    RuleOrder,
    RuleRunOut,
)
from omnidesk.kit.types import RowId
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ClockDep, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["automation"])

_BAD: dict[int | str, dict[str, Any]] = {
    403: {"description": "Writing rules needs the admin role; reading them, a supervisor."},
    422: {
        "description": "A bad definition: unknown trigger, field or action, a wrong type, a "
        "regular expression that does not compile or may take exponential time, an id of "
        "another account… `field` is the path of the bad part (`actions.1.team_id`)."
    },
}
_RULE_404: dict[int | str, dict[str, Any]] = {404: {"description": "No such rule here"}}
_MACRO_404: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such macro the caller may use"}
}


@router.get(
    "/automation/triggers",
    summary="The events a rule may react to",
    description="Event types as they are recorded in the event log.",
)
async def list_triggers(principal: PrincipalDep) -> list[NameDescription]:
    return [NameDescription(name=k, description=v) for k, v in engine.TRIGGERS.items()]


@router.get(
    "/automation/actions",
    summary="The actions rules and macros may take",
    description="Each with its parameters.",
)
async def list_actions(principal: PrincipalDep) -> list[NameDescription]:
    return [NameDescription(name=k, description=v) for k, v in actions.ACTIONS.items()]


@router.get(
    "/automation/fields",
    summary="The fields conditions may test",
    description="Besides these, `conversation.custom.<name>` and `contact.attribute.<name>`.",
)
async def list_fields(principal: PrincipalDep) -> list[NameDescription]:
    return [
        NameDescription(name=spec.name, description=f"{spec.type}: {spec.description}")
        for spec in conditions.FIELDS.values()
    ]


@router.get(
    "/automation/rules",
    summary="The account's rules, in the order they run",
    description="Admins and supervisors.",
    responses={403: _BAD[403]},
)
async def list_rules(principal: PrincipalDep, session: SessionDep) -> list[AutomationRuleOut]:
    return [AutomationRuleOut.model_validate(r) for r in await rules.list_rules(session, principal)]


@router.post(
    "/automation/rules",
    status_code=status.HTTP_201_CREATED,
    summary="Create a rule (admin)",
    description="Checked whole before it is saved; it runs last until reordered.",
    responses=_BAD,
)
async def create_rule(
    body: AutomationRuleCreate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> AutomationRuleOut:
    rule = await rules.create_rule(
        session, clock, principal, body, allow_private=settings.webhooks_allow_private_addresses
    )
    return AutomationRuleOut.model_validate(rule)


@router.post(
    "/automation/rules/dry-run",
    summary="Which conversations a rule would have matched, changing nothing",
    description="A saved rule (`rule_id`) or a definition (`rule`) is tried on the trigger "
    "events of the last `days` days (at most 7; the newest 5,000 events): each "
    "conversation's current facts with the event's message and instant. Lists each matching "
    "conversation once (its latest matching event), with every condition's outcome and the "
    "actions the rule would have taken, at most `limit` of them.",
    responses=_BAD | _RULE_404,
)
async def dry_run(
    body: DryRunIn,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> DryRunOut:
    return await rules.dry_run(
        session, clock, principal, body, allow_private=settings.webhooks_allow_private_addresses
    )


@router.put(
    "/automation/rules/order",
    summary="Reorder the rules (admin)",
    description="Every rule id of the account once, first to run first.",
    responses=_BAD,
)
async def reorder_rules(
    body: RuleOrder, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> list[AutomationRuleOut]:
    ordered = await rules.reorder_rules(session, clock, principal, body.rule_ids)
    return [AutomationRuleOut.model_validate(r) for r in ordered]


@router.get(
    "/automation/rules/runs",
    summary="What rules did, newest first",
    description="Each rule acting on an event: `done` (with what each action did), `failed` "
    "(nothing applied, with the error) or `loop_stopped`. `before_id` pages.",
    responses={403: _BAD[403]},
)
async def list_runs(
    principal: PrincipalDep,
    session: SessionDep,
    rule_id: RowId | None = None,
    before_id: RowId | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[RuleRunOut]:
    runs = await rules.list_runs(
        session, principal, rule_id=rule_id, before_id=before_id, limit=limit
    )
    return [RuleRunOut.model_validate(r) for r in runs]


@router.get(
    "/automation/rules/{rule_id}",
    summary="One rule",
    description="Admins and supervisors.",
    responses=_RULE_404 | {403: _BAD[403]},
)
async def get_rule(
    rule_id: RowId, principal: PrincipalDep, session: SessionDep
) -> AutomationRuleOut:
    return AutomationRuleOut.model_validate(await rules.get_rule(session, principal, rule_id))


@router.patch(
    "/automation/rules/{rule_id}",
    summary="Change a rule, enable or disable it (admin)",
    description="The fields given replace the rule's; the result is checked whole.",
    responses=_BAD | _RULE_404,
)
async def update_rule(
    rule_id: RowId,
    body: AutomationRuleUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> AutomationRuleOut:
    rule = await rules.update_rule(
        session,
        clock,
        principal,
        rule_id,
        body,
        allow_private=settings.webhooks_allow_private_addresses,
    )
    return AutomationRuleOut.model_validate(rule)


@router.delete(
    "/automation/rules/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a rule (admin)",
    responses=_RULE_404 | {403: _BAD[403]},
)
async def delete_rule(
    rule_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await rules.delete_rule(session, clock, principal, rule_id)


# Macros ------------------------------------------------------------------------------------


@router.get(
    "/automation/macros",
    summary="Macros the caller may apply",
    description="The account's, the caller's teams' (every team's for an admin) and their own.",
)
async def list_macros(principal: PrincipalDep, session: SessionDep) -> list[MacroOut]:
    return [MacroOut.model_validate(m) for m in await rules.list_macros(session, principal)]


@router.post(
    "/automation/macros",
    status_code=status.HTTP_201_CREATED,
    summary="Create a macro (shared ones: admin)",
    description="Ordered actions, like a rule's, without `apply_macro`.",
    responses=_BAD,
)
async def create_macro(
    body: MacroCreate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> MacroOut:
    macro = await rules.create_macro(
        session, clock, principal, body, allow_private=settings.webhooks_allow_private_addresses
    )
    return MacroOut.model_validate(macro)


@router.get(
    "/automation/macros/{macro_id}",
    summary="One macro",
    responses=_MACRO_404,
)
async def get_macro(macro_id: RowId, principal: PrincipalDep, session: SessionDep) -> MacroOut:
    return MacroOut.model_validate(await rules.get_macro(session, principal, macro_id))


@router.patch(
    "/automation/macros/{macro_id}",
    summary="Change a macro (shared: admin; personal: its owner)",
    responses=_BAD | _MACRO_404,
)
async def update_macro(
    macro_id: RowId,
    body: MacroUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> MacroOut:
    macro = await rules.update_macro(
        session,
        clock,
        principal,
        macro_id,
        body,
        allow_private=settings.webhooks_allow_private_addresses,
    )
    return MacroOut.model_validate(macro)


@router.delete(
    "/automation/macros/{macro_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a macro (shared: admin; personal: its owner)",
    responses=_MACRO_404 | {403: _BAD[403]},
)
async def delete_macro(
    macro_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await rules.delete_macro(session, clock, principal, macro_id)


@router.post(
    "/conversations/{conversation_id}/macros/{macro_id}/apply",
    tags=["conversations"],
    summary="Apply a macro to a conversation, as the caller",
    description="Runs the macro's actions in order on behalf of the caller (each change "
    "is theirs, checked as theirs); all or nothing.",
    responses={
        404: {"description": "No such conversation or macro the caller may use"},
        409: {"description": "An action conflicts (e.g. the conversation is not in routing)"},
        422: {"description": "An action cannot apply (`field` names it)"},
    },
)
async def apply_macro(
    conversation_id: RowId,
    macro_id: RowId,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> MacroApplied:
    done = await rules.apply_macro(
        session,
        clock,
        principal,
        conversation_id,
        macro_id,
        allow_private=settings.webhooks_allow_private_addresses,
    )
    return MacroApplied(macro_id=macro_id, conversation_id=conversation_id, done=done)
