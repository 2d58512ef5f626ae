"""Use cases of event rules and macros: checked at save time, so that a rule that is saved
can run. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.principal import Principal
from omnidesk.automation import actions as act
from omnidesk.automation import conditions as cond
from omnidesk.automation import engine, sharing, waits
from omnidesk.automation import repository as repo
from omnidesk.automation.models import Macro, Rule, RuleRun
from omnidesk.automation.schemas import (
    AutomationRuleCreate,
    AutomationRuleUpdate,
    DryRunIn,
    DryRunMatch,
    DryRunOut,
    LeafOut,
    MacroCreate,
    MacroUpdate,
)
from omnidesk.conversations import repository as conversations_repo
from omnidesk.conversations import service as conversations
from omnidesk.events import service as events
from omnidesk.events.models import Event
from omnidesk.kit.clock import Clock
from omnidesk.kit.db import after_commit
from omnidesk.kit.errors import NotFound, ValidationFailed
from omnidesk.routing import service as routing

RULE_CREATED = "automation.rule.created"
RULE_UPDATED = "automation.rule.updated"
RULE_DELETED = "automation.rule.deleted"
MACRO_CREATED = "automation.macro.created"
MACRO_UPDATED = "automation.macro.updated"
MACRO_DELETED = "automation.macro.deleted"
MACRO_APPLIED = "automation.macro.applied"
#: A dry run looks at no more trigger events than this.
DRY_RUN_MAX_EVENTS = 5000


# Checking ----------------------------------------------------------------------------------


def _check_triggers(triggers: Sequence[str]) -> list[str]:
    for i, trigger in enumerate(triggers):
        if trigger not in engine.TRIGGERS:
            raise ValidationFailed(
                f"unknown trigger {trigger!r}; one of: {', '.join(engine.TRIGGERS)}",
                field=f"triggers.{i}",
            )
    return list(dict.fromkeys(triggers))


async def _check_actions(
    session: AsyncSession, account_id: int, raw: Any, *, in_macro: bool, allow_private: bool
) -> list[act.Action]:
    actions = act.compile_actions(raw, allow_macros=not in_macro, allow_private=allow_private)
    await act.check_references(session, account_id, actions)
    return actions


async def _check_rule(
    session: AsyncSession, account_id: int, data: AutomationRuleCreate, allow_private: bool
) -> None:
    _check_triggers(data.triggers)
    condition = cond.compile(data.conditions)
    for path, calendar_id in cond.calendars_named(condition):
        await routing.checked_schedule(session, account_id, calendar_id, field=path)
    await _check_actions(
        session, account_id, data.actions, in_macro=False, allow_private=allow_private
    )
    if data.wait is not None and data.wait.business_hours_id is not None:
        await routing.checked_schedule(
            session, account_id, data.wait.business_hours_id, field="wait.business_hours_id"
        )


def _wait_doc(data: AutomationRuleCreate) -> dict[str, Any] | None:
    return data.wait.model_dump() if data.wait is not None else None


def _forget(session: AsyncSession, account_id: int) -> None:
    async def forget() -> None:
        engine.forget(account_id)

    engine.forget(account_id)
    after_commit(session, forget)


async def _record(
    session: AsyncSession, clock: Clock, actor: Principal, type_: str, data: dict[str, Any]
) -> None:
    await events.record(
        session,
        account_id=actor.account_id,
        type=type_,
        audience="supervisors",
        actor_user_id=actor.user_id,
        data=data,
        clock=clock,
    )


# Rules -------------------------------------------------------------------------------------


async def list_rules(session: AsyncSession, actor: Principal) -> Sequence[Rule]:
    actor.require("admin", "supervisor")
    return await repo.list_rules(session, actor.account_id)


async def get_rule(session: AsyncSession, actor: Principal, rule_id: int) -> Rule:
    actor.require("admin", "supervisor")
    rule = await repo.get_rule(session, actor.account_id, rule_id)
    if rule is None:
        raise NotFound("rule")
    return rule


async def create_rule(
    session: AsyncSession,
    clock: Clock,
    actor: Principal,
    data: AutomationRuleCreate,
    *,
    allow_private: bool,
) -> Rule:
    actor.require("admin")
    await _check_rule(session, actor.account_id, data, allow_private)
    existing = await repo.list_rules(session, actor.account_id)
    now = clock.now()
    rule = Rule(
        account_id=actor.account_id,
        name=data.name,
        description=data.description,
        enabled=data.enabled,
        position=max((r.position for r in existing), default=-1) + 1,
        triggers=_check_triggers(data.triggers),
        conditions=data.conditions,
        actions=data.actions,
        once_per_conversation=data.once_per_conversation,
        stop_processing=data.stop_processing,
        wait=_wait_doc(data),
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    await session.flush()
    await _record(session, clock, actor, RULE_CREATED, {"rule_id": rule.id, "name": rule.name})
    _forget(session, actor.account_id)
    return rule


async def update_rule(
    session: AsyncSession,
    clock: Clock,
    actor: Principal,
    rule_id: int,
    data: AutomationRuleUpdate,
    *,
    allow_private: bool,
) -> Rule:
    actor.require("admin")
    rule = await get_rule(session, actor, rule_id)
    given = data.model_dump(exclude_unset=True)
    for name, value in given.items():
        if value is None and name != "wait":
            raise ValidationFailed(f"{name} cannot be null", field=name)
    merged = AutomationRuleCreate.model_validate(
        {
            "name": rule.name,
            "description": rule.description,
            "enabled": rule.enabled,
            "triggers": rule.triggers,
            "conditions": rule.conditions,
            "actions": rule.actions,
            "once_per_conversation": rule.once_per_conversation,
            "stop_processing": rule.stop_processing,
            "wait": rule.wait,
        }
        | given
    )
    await _check_rule(session, actor.account_id, merged, allow_private)
    for name, value in given.items():
        if name == "triggers":
            value = _check_triggers(value)
        elif name == "wait":
            value = _wait_doc(merged)
        setattr(rule, name, value)
    rule.updated_at = clock.now()
    await session.flush()
    await _record(
        session, clock, actor, RULE_UPDATED, {"rule_id": rule.id, "changed": sorted(given)}
    )
    _forget(session, actor.account_id)
    return rule


async def delete_rule(session: AsyncSession, clock: Clock, actor: Principal, rule_id: int) -> None:
    actor.require("admin")
    rule = await get_rule(session, actor, rule_id)
    await _record(session, clock, actor, RULE_DELETED, {"rule_id": rule.id, "name": rule.name})
    await session.delete(rule)
    await session.flush()
    _forget(session, actor.account_id)


async def reorder_rules(
    session: AsyncSession, clock: Clock, actor: Principal, rule_ids: Sequence[int]
) -> Sequence[Rule]:
    actor.require("admin")
    rules = {r.id: r for r in await repo.list_rules(session, actor.account_id)}
    if sorted(rule_ids) != sorted(rules):
        raise ValidationFailed("list every rule of the account exactly once", field="rule_ids")
    now = clock.now()
    for position, rule_id in enumerate(rule_ids):
        rules[rule_id].position = position
        rules[rule_id].updated_at = now
    await session.flush()
    await _record(session, clock, actor, RULE_UPDATED, {"order": list(rule_ids)})
    _forget(session, actor.account_id)
    return [rules[i] for i in rule_ids]


async def list_runs(
    session: AsyncSession,
    actor: Principal,
    *,
    rule_id: int | None,
    before_id: int | None,
    limit: int,
) -> Sequence[RuleRun]:
    actor.require("admin", "supervisor")
    return await repo.list_runs(
        session, actor.account_id, rule_id=rule_id, before_id=before_id, limit=limit
    )


async def dry_run(
    session: AsyncSession, clock: Clock, actor: Principal, data: DryRunIn, *, allow_private: bool
) -> DryRunOut:
    """Which conversations the rule would have matched at its trigger events of the last
    ``days`` days, on the conversations' current facts and each event's message; what it
    would have done (a time-based rule: from when). Changes nothing."""
    actor.require("admin", "supervisor")
    if (data.rule_id is None) == (data.rule is None):
        raise ValidationFailed("give rule_id or rule", field="rule_id")
    if data.rule_id is not None:
        saved = await get_rule(session, actor, data.rule_id)
        triggers, conditions, raw_actions = saved.triggers, saved.conditions, saved.actions
        wait = waits.Wait.of(saved.wait)
    else:
        assert data.rule is not None
        await _check_rule(session, actor.account_id, data.rule, allow_private)
        triggers = _check_triggers(data.rule.triggers)
        conditions, raw_actions = data.rule.conditions, data.rule.actions
        wait = waits.Wait.of(_wait_doc(data.rule))
    condition = cond.compile(conditions)
    actions = act.describe(act.compile_actions(raw_actions, allow_private=True))
    rows = list(
        await session.scalars(
            select(Event)
            .where(
                Event.account_id == actor.account_id,
                Event.type.in_(triggers),
                Event.conversation_id.is_not(None),
                Event.created_at >= clock.now() - timedelta(days=data.days),
            )
            .order_by(Event.id.desc())
            .limit(DRY_RUN_MAX_EVENTS + 1)
        )
    )
    truncated = len(rows) > DRY_RUN_MAX_EVENTS
    rows = rows[:DRY_RUN_MAX_EVENTS]
    matches: list[DryRunMatch] = []
    seen: set[int] = set()
    for event in rows:
        assert event.conversation_id is not None
        if event.conversation_id in seen:
            continue  # the latest matching event of each conversation
        conversation = await conversations_repo.get_in_account(
            session, actor.account_id, event.conversation_id
        )
        if conversation is None:
            continue
        explanation = cond.explain(condition, await engine.facts_for(session, conversation, event))
        if not explanation.matched:
            continue
        seen.add(event.conversation_id)
        if len(matches) == data.limit:
            truncated = True
            break
        matches.append(
            DryRunMatch(
                event_id=event.id,
                event_type=event.type,
                conversation_id=event.conversation_id,
                at=event.created_at,
                explain=[LeafOut(**vars(leaf)) for leaf in explanation.leaves],
                actions=actions,
                acts_at=None
                if wait is None
                else await waits.due_at(session, actor.account_id, wait, event.created_at),
            )
        )
    return DryRunOut(examined=len(rows), matches=matches, truncated=truncated)


# Macros ------------------------------------------------------------------------------------


async def list_macros(session: AsyncSession, actor: Principal) -> Sequence[Macro]:
    return await repo.list_macros(session, actor)


async def get_macro(session: AsyncSession, actor: Principal, macro_id: int) -> Macro:
    macro = await repo.get_visible_macro(session, actor, macro_id)
    if macro is None:
        raise NotFound("macro")
    return macro


async def create_macro(
    session: AsyncSession,
    clock: Clock,
    actor: Principal,
    data: MacroCreate,
    *,
    allow_private: bool,
) -> Macro:
    await sharing.check_new(session, actor, data.scope, data.team_id, "macro")
    await _check_actions(
        session, actor.account_id, data.actions, in_macro=True, allow_private=allow_private
    )
    now = clock.now()
    macro = Macro(
        account_id=actor.account_id,
        scope=data.scope,
        team_id=data.team_id if data.scope == "team" else None,
        owner_id=actor.user_id if data.scope == "personal" else None,
        name=data.name,
        actions=data.actions,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(macro)
    await session.flush()
    await _record_macro(session, clock, actor, MACRO_CREATED, macro)
    return macro


async def _record_macro(
    session: AsyncSession, clock: Clock, actor: Principal, type_: str, macro: Macro
) -> None:
    await events.record(
        session,
        account_id=actor.account_id,
        type=type_,
        actor_user_id=actor.user_id,
        team_id=macro.team_id,
        data={"macro_id": macro.id, "scope": macro.scope, "team_id": macro.team_id},
        clock=clock,
    )


async def update_macro(
    session: AsyncSession,
    clock: Clock,
    actor: Principal,
    macro_id: int,
    data: MacroUpdate,
    *,
    allow_private: bool,
) -> Macro:
    macro = await get_macro(session, actor, macro_id)
    sharing.check_may_edit(actor, macro, "macro")
    if data.name is not None:
        macro.name = data.name
    if data.actions is not None:
        await _check_actions(
            session, actor.account_id, data.actions, in_macro=True, allow_private=allow_private
        )
        macro.actions = data.actions
    macro.updated_at = clock.now()
    await session.flush()
    await _record_macro(session, clock, actor, MACRO_UPDATED, macro)
    return macro


async def delete_macro(
    session: AsyncSession, clock: Clock, actor: Principal, macro_id: int
) -> None:
    macro = await get_macro(session, actor, macro_id)
    sharing.check_may_edit(actor, macro, "macro")
    await _record_macro(session, clock, actor, MACRO_DELETED, macro)
    await session.delete(macro)
    await session.flush()


async def apply_macro(
    session: AsyncSession,
    clock: Clock,
    actor: Principal,
    conversation_id: int,
    macro_id: int,
    *,
    allow_private: bool,
) -> list[dict[str, Any]]:
    """Run a macro the agent may use on a conversation they may see, as the agent: every
    change is theirs (and checked like theirs); all or nothing."""
    conversation = await conversations.get_conversation(session, actor, conversation_id)
    macro = await get_macro(session, actor, macro_id)
    actions = await _check_actions(
        session, actor.account_id, macro.actions, in_macro=True, allow_private=allow_private
    )
    run = act.Run(conversation, actor, allow_private=allow_private)
    done = await act.execute(session, clock, run, actions)
    await events.record(
        session,
        account_id=actor.account_id,
        type=MACRO_APPLIED,
        audience="conversation",
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        assignee_id=conversation.assignee_id,
        team_id=conversation.team_id,
        actor_user_id=actor.user_id,
        data={"macro_id": macro.id, "done": done},
        clock=clock,
    )
    return done
