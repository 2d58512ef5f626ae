"""SLA use cases: policies, and the clocks that the conversations' changes start, pause,
resume and stop. Never commits.

The conversations context calls the hooks (:func:`conversation_opened`,
:func:`reevaluate`, :func:`status_changed`, :func:`agent_replied`,
:func:`customer_wrote`) in the transaction of the change. Warnings and breaches are never
found by scanning: each running clock has one durable timer (a job of kind ``sla.check``
due at its next warning or due time) and :func:`check` fires what is due, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.principal import Principal
from omnidesk.channels.registry import channel_types
from omnidesk.contacts.models import Contact
from omnidesk.conversations.models import Conversation
from omnidesk.events import service as events
from omnidesk.inboxes.models import Inbox
from omnidesk.jobs import timers
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import Conflict, NotFound, ValidationFailed
from omnidesk.routing import service as routing
from omnidesk.routing.models import BusinessHours
from omnidesk.sla import business_time
from omnidesk.sla import events as ev
from omnidesk.sla import repository as repo
from omnidesk.sla.business_time import Calendar
from omnidesk.sla.models import SlaClock, SlaPolicy
from omnidesk.sla.schemas import (
    Conditions,
    ConversationSla,
    KindReport,
    SlaPolicyCreate,
    SlaPolicyOut,
    SlaPolicyUpdate,
    SlaReport,
    SlaTargetOut,
    Targets,
    policy_out_fields,
)

CHECK_JOB = "sla.check"
#: Statuses in which every clock stops (the conversation waits for the customer, a time, or
#: nothing at all).
STOPPED = frozenset({"pending", "snoozed", "resolved", "closed"})
_POLICIES_KEY = "omnidesk.sla.policies"
_CALENDARS_KEY = "omnidesk.sla.calendars"
_TARGET_FIELDS = {
    "first_response": "first_response_s",
    "next_response": "next_response_s",
    "resolution": "resolution_s",
}


# Policies -------------------------------------------------------------------------------


def policy_out(policy: SlaPolicy) -> SlaPolicyOut:
    return SlaPolicyOut(
        id=policy.id,
        name=policy.name,
        business_hours_id=policy.business_hours_id,
        warning_percent=policy.warning_percent,
        warning_before_s=policy.warning_before_s,
        active=policy.active,
        position=policy.position,
        created_at=policy.created_at,
        updated_at=policy.updated_at,
        **policy_out_fields(policy.conditions, policy.targets),
    )


async def list_policies(session: AsyncSession, actor: Principal) -> Sequence[SlaPolicy]:
    return await repo.list_policies(session, actor.account_id)


async def get_policy(session: AsyncSession, actor: Principal, policy_id: int) -> SlaPolicy:
    policy = await repo.get_policy(session, actor.account_id, policy_id)
    if policy is None:
        raise NotFound("SLA policy")
    return policy


async def _check_definition(
    session: AsyncSession,
    actor: Principal,
    *,
    business_hours_id: int | None,
    conditions: Conditions,
    targets: dict[str, Targets],
    warning_percent: int | None,
    warning_before_s: int | None,
) -> None:
    """Refuse, naming the field, what would make a policy that cannot work."""
    if business_hours_id is not None:
        await routing.checked_schedule(
            session, actor.account_id, business_hours_id, field="business_hours_id"
        )
    for n, inbox_id in enumerate(conditions.inbox_ids):
        inbox = await session.get(Inbox, inbox_id)
        if inbox is None or inbox.account_id != actor.account_id:
            raise NotFound("inbox", field=f"conditions.inbox_ids.{n}")
    known = set(channel_types())
    for n, channel in enumerate(conditions.channel_types):
        if channel not in known:
            raise ValidationFailed(
                f"unknown channel type {channel!r} (installed: {', '.join(sorted(known))})",
                field=f"conditions.channel_types.{n}",
            )
    if not any(
        getattr(t, name) is not None for t in targets.values() for name in _TARGET_FIELDS.values()
    ):
        raise ValidationFailed("give at least one target", field="targets")
    if warning_percent is not None and warning_before_s is not None:
        raise ValidationFailed(
            "give warning_percent or warning_before_s, not both", field="warning_before_s"
        )
    if warning_before_s is not None:
        for priority, t in targets.items():
            for name in _TARGET_FIELDS.values():
                value = getattr(t, name)
                if value is not None and value <= warning_before_s:
                    raise ValidationFailed(
                        f"the warning ({warning_before_s} s before) must come after the "
                        f"start: the {priority} {name} is only {value} s",
                        field="warning_before_s",
                    )


async def _check_name(
    session: AsyncSession, actor: Principal, name: str, except_id: int | None = None
) -> None:
    if await repo.name_taken(session, actor.account_id, name, except_id=except_id):
        raise Conflict(f"an SLA policy is already called {name!r}", field="name")


def _targets_doc(targets: dict[str, Targets]) -> dict[str, Any]:
    return {priority: t.model_dump() for priority, t in sorted(targets.items())}


async def _record_policy(
    session: AsyncSession, clock: Clock, actor: Principal, type_: str, data: dict[str, Any]
) -> None:
    session.info.pop(_POLICIES_KEY, None)
    session.info.pop(_CALENDARS_KEY, None)
    await events.record(
        session,
        account_id=actor.account_id,
        type=type_,
        audience="supervisors",
        actor_user_id=actor.user_id,
        clock=clock,
        data=data,
    )


async def create_policy(
    session: AsyncSession, clock: Clock, actor: Principal, data: SlaPolicyCreate
) -> SlaPolicy:
    actor.require("admin")
    await _check_definition(
        session,
        actor,
        business_hours_id=data.business_hours_id,
        conditions=data.conditions,
        targets={str(p): t for p, t in data.targets.items()},
        warning_percent=data.warning_percent,
        warning_before_s=data.warning_before_s,
    )
    await _check_name(session, actor, data.name)
    now = clock.now()
    policy = SlaPolicy(
        account_id=actor.account_id,
        name=data.name,
        business_hours_id=data.business_hours_id,
        conditions=data.conditions.model_dump(),
        targets=_targets_doc({str(p): t for p, t in data.targets.items()}),
        warning_percent=data.warning_percent,
        warning_before_s=data.warning_before_s,
        active=data.active,
        position=data.position,
        created_at=now,
        updated_at=now,
    )
    session.add(policy)
    await session.flush()
    await _record_policy(
        session, clock, actor, ev.POLICY_CREATED, {"policy_id": policy.id, "name": policy.name}
    )
    return policy


async def update_policy(
    session: AsyncSession, clock: Clock, actor: Principal, policy_id: int, data: SlaPolicyUpdate
) -> SlaPolicy:
    """Changes apply to the clocks started (or re-evaluated) from now on."""
    actor.require("admin")
    policy = await get_policy(session, actor, policy_id)
    fields = data.model_fields_set
    for name in ("name", "conditions", "targets", "active", "position"):
        if name in fields and getattr(data, name) is None:
            raise ValidationFailed(f"{name} cannot be null", field=name)
    business_hours_id = (
        data.business_hours_id if "business_hours_id" in fields else policy.business_hours_id
    )
    conditions = data.conditions or Conditions.model_validate(policy.conditions)
    targets: dict[str, Targets] = (
        {str(p): t for p, t in data.targets.items()}
        if data.targets is not None
        else {p: Targets.model_validate(t) for p, t in policy.targets.items()}
    )
    # The warning is one setting: giving either field replaces both.
    warning_percent, warning_before_s = policy.warning_percent, policy.warning_before_s
    if fields & {"warning_percent", "warning_before_s"}:
        warning_percent, warning_before_s = data.warning_percent, data.warning_before_s
    await _check_definition(
        session,
        actor,
        business_hours_id=business_hours_id,
        conditions=conditions,
        targets=targets,
        warning_percent=warning_percent,
        warning_before_s=warning_before_s,
    )
    if data.name is not None and data.name != policy.name:
        await _check_name(session, actor, data.name, except_id=policy.id)
        policy.name = data.name
    policy.business_hours_id = business_hours_id
    policy.conditions = conditions.model_dump()
    policy.targets = _targets_doc(targets)
    policy.warning_percent, policy.warning_before_s = warning_percent, warning_before_s
    if data.active is not None:
        policy.active = data.active
    if data.position is not None:
        policy.position = data.position
    policy.updated_at = clock.now()
    await session.flush()
    await _record_policy(
        session,
        clock,
        actor,
        ev.POLICY_UPDATED,
        {"policy_id": policy.id, "fields": sorted(fields)},
    )
    return policy


async def delete_policy(
    session: AsyncSession, clock: Clock, actor: Principal, policy_id: int
) -> None:
    """The policy and its clocks go (their timers are cancelled); to keep its history,
    deactivate it instead."""
    actor.require("admin")
    policy = await get_policy(session, actor, policy_id)
    for row in await repo.clocks_of_policy(session, policy.id):
        await timers.cancel(session, key=_timer_key(row))
        await session.delete(row)
    await session.delete(policy)
    await _record_policy(
        session, clock, actor, ev.POLICY_DELETED, {"policy_id": policy_id, "name": policy.name}
    )


async def report(
    session: AsyncSession, actor: Principal, policy_id: int, since: datetime, until: datetime
) -> SlaReport:
    """Achieved-% per kind of the policy's clocks started in ``[since, until)``."""
    if until <= since:
        raise ValidationFailed("until must be after since", field="until")
    policy = await get_policy(session, actor, policy_id)
    counts = await repo.report(session, policy.id, since, until)
    kinds = []
    for kind in _TARGET_FIELDS:
        achieved, breached, running = counts.get(kind, (0, 0, 0))
        finished = achieved + breached
        kinds.append(
            KindReport(
                kind=kind,
                achieved=achieved,
                breached=breached,
                running=running,
                achieved_percent=round(100.0 * achieved / finished, 2) if finished else None,
            )
        )
    return SlaReport(policy_id=policy.id, since=since, until=until, kinds=kinds)


# Which policy, which calendar ----------------------------------------------------------


async def _active_policies(session: AsyncSession, account_id: int) -> Sequence[SlaPolicy]:
    """Cached for the transaction: a batch of inbound messages asks once per account."""
    cache: dict[int, Sequence[SlaPolicy]] = session.info.setdefault(_POLICIES_KEY, {})
    if account_id not in cache:
        cache[account_id] = await repo.list_policies(session, account_id, active_only=True)
    return cache[account_id]


async def _calendar(session: AsyncSession, policy_id: int | None) -> Calendar:
    """The calendar a policy counts in (None: 24/7, also for a clock whose policy is gone)."""
    if policy_id is None:
        return None
    cache: dict[int, Calendar] = session.info.setdefault(_CALENDARS_KEY, {})
    if policy_id not in cache:
        policy = await session.get(SlaPolicy, policy_id)
        calendar = None
        if policy is not None and policy.business_hours_id is not None:
            row = await session.get(BusinessHours, policy.business_hours_id)
            calendar = None if row is None else routing.schedule_of(row)
        cache[policy_id] = calendar
    return cache[policy_id]


async def _matches(session: AsyncSession, policy: SlaPolicy, conversation: Conversation) -> bool:
    conditions = policy.conditions
    if conditions.get("priorities") and conversation.priority not in conditions["priorities"]:
        return False
    if conditions.get("inbox_ids") and conversation.inbox_id not in conditions["inbox_ids"]:
        return False
    if conditions.get("channel_types"):
        inbox = (
            None
            if conversation.inbox_id is None
            else await session.get(Inbox, conversation.inbox_id)
        )
        if inbox is None or inbox.channel_type not in conditions["channel_types"]:
            return False
    wanted: dict[str, Any] = conditions.get("contact_attributes") or {}
    if wanted:
        contact = await session.get(Contact, conversation.contact_id)
        attributes = {} if contact is None else contact.attributes or {}
        if any(name not in attributes or attributes[name] != v for name, v in wanted.items()):
            return False
    return True


async def _policy_for(session: AsyncSession, conversation: Conversation) -> SlaPolicy | None:
    for policy in await _active_policies(session, conversation.account_id):
        if await _matches(session, policy, conversation):
            return policy
    return None


def _target(policy: SlaPolicy, priority: str, kind: str) -> int | None:
    value = (policy.targets.get(priority) or {}).get(_TARGET_FIELDS[kind])
    return None if value is None else int(value)


def _warn_after(policy: SlaPolicy, target_s: int) -> int | None:
    if policy.warning_percent is not None:
        return target_s * policy.warning_percent // 100
    if policy.warning_before_s is not None:
        return max(target_s - policy.warning_before_s, 0)
    return None


# One clock -----------------------------------------------------------------------------


def _timer_key(row: SlaClock) -> str:
    return f"sla.clock:{row.id}"


def _state(row: SlaClock) -> str:
    if row.breached_at is not None:
        return "breached"
    if row.achieved_at is not None:
        return "achieved"
    if row.running_since is None:
        return "paused"
    return "warning" if row.warned_at is not None else "ok"


def _plan(row: SlaClock, calendar: Calendar) -> None:
    """The due and warning instants of a running clock, from what is left of its budget."""
    assert row.running_since is not None
    left = timedelta(seconds=max(row.target_s - row.elapsed_s, 0.0))
    row.due_at = business_time.add(calendar, row.running_since, left)
    row.warn_at = None
    if row.warn_after_s is not None and row.warned_at is None:
        before = timedelta(seconds=max(row.warn_after_s - row.elapsed_s, 0.0))
        row.warn_at = business_time.add(calendar, row.running_since, before)


def _checkpoint(row: SlaClock, calendar: Calendar, now: datetime) -> None:
    """Count the business time used since the clock last started, and stop it."""
    if row.running_since is not None:
        used = business_time.elapsed(calendar, row.running_since, now)
        row.elapsed_s += used.total_seconds()
    row.running_since = row.due_at = row.warn_at = None


async def _arm(session: AsyncSession, clock: Clock, row: SlaClock) -> None:
    """One durable timer per clock, due at its next warning or breach; none when stopped."""
    row.state = _state(row)
    row.updated_at = clock.now()
    upcoming = None
    if row.running_since is not None and row.breached_at is None:
        upcoming = row.warn_at if row.warn_at is not None and row.warned_at is None else row.due_at
    if upcoming is None:
        await timers.cancel(session, key=_timer_key(row))
        return
    await timers.schedule(
        session,
        clock,
        kind=CHECK_JOB,
        key=_timer_key(row),
        due_at=upcoming,
        payload={"clock_id": row.id},
        account_id=row.account_id,
    )


async def _start(
    session: AsyncSession,
    clock: Clock,
    conversation: Conversation,
    policy: SlaPolicy,
    kind: str,
    target_s: int,
) -> SlaClock:
    now = clock.now()
    row = SlaClock(
        account_id=conversation.account_id,
        conversation_id=conversation.id,
        policy_id=policy.id,
        kind=kind,
        target_s=target_s,
        warn_after_s=_warn_after(policy, target_s),
        started_at=now,
        running_since=None if conversation.status in STOPPED else now,
        elapsed_s=0.0,
        updated_at=now,
    )
    if row.running_since is not None:
        _plan(row, await _calendar(session, policy.id))
    session.add(row)
    await session.flush()
    await _arm(session, clock, row)
    return row


async def _achieve(
    session: AsyncSession, clock: Clock, conversation: Conversation, row: SlaClock
) -> None:
    now = clock.now()
    _checkpoint(row, await _calendar(session, row.policy_id), now)
    row.achieved_at = now
    await _arm(session, clock, row)
    await _announce(session, clock, conversation, row, ev.ACHIEVED)


def target_out(row: SlaClock, calendar: Calendar, now: datetime) -> SlaTargetOut:
    used = row.elapsed_s
    if row.running_since is not None:
        used += business_time.elapsed(calendar, row.running_since, now).total_seconds()
    return SlaTargetOut(
        kind=row.kind,
        state=row.state,
        target_s=row.target_s,
        started_at=row.started_at,
        due_at=row.due_at,
        remaining_s=round(row.target_s - used),
        warned_at=row.warned_at,
        breached_at=row.breached_at,
        achieved_at=row.achieved_at,
    )


async def _announce(
    session: AsyncSession, clock: Clock, conversation: Conversation, row: SlaClock, type_: str
) -> None:
    now = clock.now()
    target = target_out(row, await _calendar(session, row.policy_id), now)
    data: dict[str, Any] = {
        "clock_id": row.id,
        "policy_id": row.policy_id,
        "kind": row.kind,
        "target": target.model_dump(mode="json"),
    }
    if type_ == ev.ACHIEVED:
        data["on_time"] = row.breached_at is None
    await events.record(
        session,
        account_id=conversation.account_id,
        type=type_,
        audience="conversation",
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        assignee_id=conversation.assignee_id,
        team_id=conversation.team_id,
        clock=clock,
        data=data,
    )


# Hooks: the conversations context calls these in the transaction of each change --------


async def conversation_opened(
    session: AsyncSession, clock: Clock, conversation: Conversation
) -> None:
    """A new conversation: its first response and resolution clocks start."""
    policy = await _policy_for(session, conversation)
    if policy is None:
        return
    for kind in ("first_response", "resolution"):
        target = _target(policy, conversation.priority, kind)
        if target is not None and (kind != "first_response" or not conversation.first_response_at):
            await _start(session, clock, conversation, policy, kind, target)


async def reevaluate(session: AsyncSession, clock: Clock, conversation: Conversation) -> None:
    """Its priority changed: the matching policy's targets replace the unfinished clocks'
    (budget already used stays used); a target the policy no longer has is dropped, unless
    it was breached already (a breach stays on record)."""
    policy = await _policy_for(session, conversation)
    now = clock.now()
    rows = await repo.clocks_of(session, [conversation.id], lock=True)
    unfinished = [r for r in rows if r.achieved_at is None]
    for row in unfinished:
        target = None if policy is None else _target(policy, conversation.priority, row.kind)
        if policy is None or target is None:
            await timers.cancel(session, key=_timer_key(row))
            if row.breached_at is None:
                await session.delete(row)
            # A breach happened: it stays on record.
            continue
        running = row.running_since is not None
        _checkpoint(row, await _calendar(session, row.policy_id), now)
        row.policy_id, row.target_s = policy.id, target
        row.warn_after_s = _warn_after(policy, target)
        if running:
            row.running_since = now
            _plan(row, await _calendar(session, policy.id))
        await _arm(session, clock, row)
    if policy is None:
        return
    kinds = {r.kind for r in rows}
    running_kinds = {r.kind for r in unfinished}
    for kind in ("first_response", "resolution"):
        target = _target(policy, conversation.priority, kind)
        if target is None or kind in running_kinds:
            continue
        if kind == "first_response" and (kind in kinds or conversation.first_response_at):
            continue
        if kind == "resolution" and (
            kind in kinds or conversation.status in ("resolved", "closed")
        ):
            continue
        await _start(session, clock, conversation, policy, kind, target)


async def status_changed(
    session: AsyncSession, clock: Clock, conversation: Conversation, previous: str
) -> None:
    """Resolved or closed: the resolution target is met. Pending, snoozed, resolved or
    closed: every clock stops. Open again: they run on (their due times pushed back by the
    business time they stood still), and a reopened resolved conversation gets a new
    resolution target."""
    status = conversation.status
    now = clock.now()
    rows = await repo.clocks_of(session, [conversation.id], unfinished=True, lock=True)
    for row in rows:
        if status in ("resolved", "closed") and row.kind == "resolution":
            await _achieve(session, clock, conversation, row)
        elif status in STOPPED and row.running_since is not None:
            _checkpoint(row, await _calendar(session, row.policy_id), now)
            await _arm(session, clock, row)
        elif status not in STOPPED and row.running_since is None:
            row.running_since = now
            _plan(row, await _calendar(session, row.policy_id))
            await _arm(session, clock, row)
    if previous in ("resolved", "closed") and status not in STOPPED:
        if any(row.kind == "resolution" for row in rows):
            return
        policy = await _policy_for(session, conversation)
        target = None if policy is None else _target(policy, conversation.priority, "resolution")
        if policy is not None and target is not None:
            await _start(session, clock, conversation, policy, "resolution", target)


async def agent_replied(session: AsyncSession, clock: Clock, conversation: Conversation) -> None:
    """An agent's reply (not a note) meets the first and the next response targets."""
    for row in await repo.clocks_of(session, [conversation.id], unfinished=True, lock=True):
        if row.kind in ("first_response", "next_response"):
            await _achieve(session, clock, conversation, row)


async def customer_wrote(session: AsyncSession, clock: Clock, conversation: Conversation) -> None:
    """A customer's message after the first response starts a next response target (unless
    one already runs). Before the first response, the first response target covers it."""
    if conversation.first_response_at is None:
        return
    if not await _active_policies(session, conversation.account_id):
        return
    rows = await repo.clocks_of(session, [conversation.id], unfinished=True, lock=True)
    if any(row.kind == "next_response" for row in rows):
        return
    policy = await _policy_for(session, conversation)
    target = None if policy is None else _target(policy, conversation.priority, "next_response")
    if policy is not None and target is not None:
        await _start(session, clock, conversation, policy, "next_response", target)


# The timer -----------------------------------------------------------------------------


async def check(session: AsyncSession, clock: Clock, clock_id: int) -> list[str]:
    """The clock's timer is due: fire its warning and breach if due and not yet fired, then
    arm the next. Idempotent: run twice, it fires nothing twice. Returns what it fired."""
    row = await repo.get_clock(session, clock_id, lock=True)
    if row is None or row.achieved_at is not None or row.running_since is None:
        return []
    conversation = await session.get(Conversation, row.conversation_id)
    if conversation is None:
        return []
    now = clock.now()
    fired = []
    if row.warn_at is not None and row.warned_at is None and row.warn_at <= now:
        row.warned_at = now
        row.state = _state(row)
        fired.append(ev.WARNING)
        await _announce(session, clock, conversation, row, ev.WARNING)
    if row.due_at is not None and row.breached_at is None and row.due_at <= now:
        row.breached_at = now
        row.state = _state(row)
        fired.append(ev.BREACHED)
        await _announce(session, clock, conversation, row, ev.BREACHED)
    await _arm(session, clock, row)
    return fired


# Reading -------------------------------------------------------------------------------


async def blocks(
    session: AsyncSession, clock: Clock, conversations: Iterable[Conversation]
) -> dict[int, ConversationSla | None]:
    """Each conversation's SLA block (None without clocks), in one query for them all."""
    ids = [c.id for c in conversations]
    latest: dict[int, dict[str, SlaClock]] = {}
    for row in await repo.clocks_of(session, ids):
        latest.setdefault(row.conversation_id, {})[row.kind] = row  # oldest first: last wins
    now = clock.now()
    out: dict[int, ConversationSla | None] = dict.fromkeys(ids)
    for conversation_id, by_kind in latest.items():
        rows = [by_kind[k] for k in _TARGET_FIELDS if k in by_kind]
        targets = [target_out(r, await _calendar(session, r.policy_id), now) for r in rows]
        newest = max(rows, key=lambda r: r.id)
        out[conversation_id] = ConversationSla(policy_id=newest.policy_id, targets=targets)
    return out
