"""Rules reacting to events: durably, at least once, and never in a loop.

Each event of a trigger type, for an account that has an enabled rule on that type, is
given to a job (``automation.run``, one per transaction and account) in the event's own
transaction (docs/adr/0012-automation-rules.md). For each event, the job evaluates the
account's rules filed for that trigger (``ConditionIndex``) on the conversation's facts,
runs each matching rule's actions in a savepoint and records a :class:`RuleRun` (unique
per rule and event: a job run twice acts once).

A rule with a wait (time-based) does not act on its trigger events: they start or stop the
conversation's timer, and the rule acts when the timer ends (``wake``, ``automation.waits``).

Loop protection: the events a rule's actions record carry ``data.cause`` (the chain of
rules and its depth, set through ``events.CAUSE_KEY``). A rule that matches an event its own
chain caused, or an event deeper than :data:`MAX_CHAIN_DEPTH`, is not run: the rule run is
``loop_stopped`` and an ``automation.loop_stopped`` event tells supervisors which rules.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.models import Account
from omnidesk.accounts.principal import Principal
from omnidesk.automation import actions as act
from omnidesk.automation import conditions as cond
from omnidesk.automation import repository as repo
from omnidesk.automation import waits
from omnidesk.automation.models import Rule, RuleRun
from omnidesk.contacts import repository as contacts_repo
from omnidesk.contacts.models import Identity
from omnidesk.conversations import repository as conversations_repo
from omnidesk.conversations.models import Conversation
from omnidesk.events import service as events
from omnidesk.events.models import Event
from omnidesk.inboxes.models import Inbox
from omnidesk.jobs import outbox
from omnidesk.jobs.models import Job
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import OmnideskError
from omnidesk.routing import service as routing
from omnidesk.routing.hours import HoursError, Schedule
from omnidesk.routing.models import BusinessHours

log = structlog.get_logger(__name__)

RUN_JOB = "automation.run"
#: The advisory lock space of "a conversation's rules are running" (PostgreSQL).
_LOCK_SPACE = 0x6175_746F
LOOP_STOPPED = "automation.loop_stopped"
#: A chain of rules (a rule's action causing an event that runs another rule…) stops here.
MAX_CHAIN_DEPTH = 5

#: What rules may react to: the event types as recorded (``message.created`` is a message
#: sent by an agent or by automation; ``conversation.status_changed`` is any status change
#: but resolving, which is ``conversation.resolved``).
TRIGGERS: dict[str, str] = {
    "conversation.created": "A conversation was opened (by a customer's first message or "
    "by an agent).",
    "message.received": "A customer's message arrived.",
    "message.created": "A message was sent to the customer (by an agent or automation).",
    "conversation.updated": "Subject, priority, tags or custom fields changed.",
    "conversation.status_changed": "The status changed (other than to resolved).",
    "conversation.assigned": "The agent or team changed.",
    "conversation.resolved": "The conversation was resolved.",
    "sla.warning": "An SLA target reached its warning threshold.",
    "sla.breached": "An SLA target was breached.",
    "conversation.csat_received": "The customer rated the conversation.",
}

#: Account id -> (read at, the trigger types of its enabled rules): spares the hot inbound
#: path a query per message. A rule saved here clears its account at once; other processes
#: see it within ``TRIGGER_CACHE_S``.
TRIGGER_CACHE_S = 5.0
_trigger_cache: dict[int, tuple[float, frozenset[str]]] = {}
#: (account, trigger) -> (read at, the rules compiled): like the triggers, compiled again
#: when a rule is saved here, or after ``TRIGGER_CACHE_S``.
_compiled: dict[tuple[int, str], tuple[float, RuleSet]] = {}


def forget(account_id: int | None = None) -> None:
    """Drop what is cached of an account's rules (a rule was saved), or of every account
    (a new container: the database may not be the one the cache was filled from)."""
    if account_id is None:
        _trigger_cache.clear()
        _compiled.clear()
        return
    _trigger_cache.pop(account_id, None)
    for key in [k for k in _compiled if k[0] == account_id]:
        del _compiled[key]


async def _account_triggers(session: AsyncSession, account_id: int) -> frozenset[str]:
    cached = _trigger_cache.get(account_id)
    now = time.monotonic()
    if cached is not None and now - cached[0] < TRIGGER_CACHE_S:
        return cached[1]
    # Without autoflush: the caller is in the middle of recording an event, its other new
    # rows may not be complete yet.
    with session.no_autoflush:
        found = frozenset(await repo.enabled_triggers(session, account_id))
    _trigger_cache[account_id] = (now, found)
    return found


#: ``session.info`` key: the transaction's rules job, which its later trigger events join.
_JOB_KEY = "omnidesk.automation.job"


async def on_record(session: AsyncSession, event: Event) -> None:
    """Recorder (events.add_recorder): the trigger events of one transaction that some
    enabled rule may react to share one job (an inbound batch of fifty messages: one job)."""
    if event.type not in TRIGGERS or event.conversation_id is None:
        return
    if event.type not in await _account_triggers(session, event.account_id):
        return
    await session.flush()  # the event's id
    job: Job | None = session.info.get(_JOB_KEY)
    # A job added inside a savepoint that rolled back is gone: start another.
    if job is not None and inspect(job).persistent and job.account_id == event.account_id:
        job.payload = {"event_ids": [*job.payload["event_ids"], event.id]}
        return
    session.info[_JOB_KEY] = await outbox.enqueue(
        session,
        _EventClock(event.created_at),
        kind=RUN_JOB,
        payload={"event_ids": [event.id]},
        idempotency_key=f"automation.event:{event.id}",
        account_id=event.account_id,
    )


@dataclass(frozen=True)
class _EventClock:
    """The event's own instant: its job is due when it happened."""

    at: datetime

    def now(self) -> datetime:
        return self.at


# Compiled rules --------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInfo:
    """What running needs of a rule, kept apart from any session."""

    id: int
    once_per_conversation: bool
    stop_processing: bool


@dataclass(frozen=True)
class Compiled:
    rule: RuleInfo
    condition: cond.Condition
    actions: list[act.Action]
    #: A time-based rule's wait (``automation.waits``); None acts at once.
    wait: waits.Wait | None = None


@dataclass(frozen=True)
class RuleSet:
    """An account's enabled rules for one trigger: those acting at once (with their index)
    and the time-based ones, and what their conditions need loaded."""

    immediate: list[Compiled]
    index: cond.ConditionIndex
    waiting: list[Compiled]
    needs: frozenset[str]


def compile_rule(rule: Rule) -> Compiled:
    return Compiled(
        RuleInfo(rule.id, rule.once_per_conversation, rule.stop_processing),
        cond.compile(rule.conditions),
        act.compile_actions(rule.actions, allow_private=True),
        waits.Wait.of(rule.wait),
    )


async def _rules_for(session: AsyncSession, account_id: int, trigger: str) -> RuleSet:
    cached = _compiled.get((account_id, trigger))
    now = time.monotonic()
    if cached is not None and now - cached[0] < TRIGGER_CACHE_S:
        return cached[1]
    rows = [r for r in await repo.list_rules(session, account_id) if r.enabled]
    compiled = [compile_rule(r) for r in rows if trigger in r.triggers]
    immediate = [c for c in compiled if c.wait is None]
    rules = RuleSet(
        immediate,
        cond.ConditionIndex([c.condition for c in immediate]),
        [c for c in compiled if c.wait is not None],
        needs_of([c.condition for c in compiled]),
    )
    _compiled[(account_id, trigger)] = (now, rules)
    return rules


# Facts -----------------------------------------------------------------------------------


def _zone(account: Account | None) -> tzinfo | None:
    name = (account.settings or {}).get("timezone") if account is not None else None
    if not isinstance(name, str):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


#: What a set of rules reads beyond the conversation's row and the event, each costing a
#: query: loaded only when some condition names it.
ALL_NEEDS = frozenset({"tags", "channel", "contact", "zone", "calendars"})


def needs_of(conditions: Sequence[cond.Condition]) -> frozenset[str]:
    fields: set[str] = set()
    needs = set()

    def walk(node: cond.Condition) -> None:
        if node.field is not None:
            fields.add(node.field)
        if node.op == "within_business_hours":
            needs.add("calendars")
        for child in node.children:
            walk(child)

    for condition in conditions:
        walk(condition)
    if "conversation.tags" in fields:
        needs.add("tags")
    if "conversation.channel" in fields:
        needs.add("channel")
    if any(f.startswith("contact.") for f in fields):
        needs.add("contact")
    if fields & {"time.hour", "time.weekday"}:
        needs.add("zone")
    return frozenset(needs)


async def _calendars(session: AsyncSession, account_id: int) -> dict[int, Schedule]:
    rows = await session.scalars(
        select(BusinessHours).where(BusinessHours.account_id == account_id)
    )
    found: dict[int, Schedule] = {}
    for row in rows:
        try:
            found[row.id] = routing.schedule_of(row)
        except (HoursError, ValueError, KeyError):
            continue  # not valid since: never open
    return found


async def facts_for(
    session: AsyncSession,
    conversation: Conversation,
    event: Event,
    needs: frozenset[str] = ALL_NEEDS,
    *,
    now: datetime | None = None,
) -> cond.Facts:
    """The conversation as it is now, the event's message (if any) and instant (or ``now``:
    a time-based rule's wait ending); of the rest, what ``needs`` names (a fact not loaded
    is unset)."""
    account_id = conversation.account_id
    tags: list[str] = []
    if "tags" in needs:
        tags = (await conversations_repo.tags_of(session, [conversation.id]))[conversation.id]
    channel = None
    if "channel" in needs and conversation.inbox_id is not None:
        inbox = await session.get(Inbox, conversation.inbox_id)
        channel = inbox.channel_type if inbox is not None else None
    contact = None
    handles: dict[str, str] = {}
    if "contact" in needs:
        contact = await contacts_repo.get_contact(session, account_id, conversation.contact_id)
    if contact is not None:
        for kind, value in await session.execute(
            select(Identity.kind, Identity.value)
            .where(Identity.account_id == account_id, Identity.contact_id == contact.id)
            .order_by(Identity.id)
        ):
            handles.setdefault(kind, value)
    message = None
    raw = event.data.get("message") if isinstance(event.data, dict) else None
    if isinstance(raw, dict):
        meta = raw.get("meta") or {}
        message = cond.MessageFacts(
            body=raw.get("body"),
            direction=raw.get("direction"),
            private=raw.get("kind") == "note",
            language=meta.get("language") if isinstance(meta, dict) else None,
        )
    zone = _zone(await session.get(Account, account_id)) if "zone" in needs else None
    business_hours = None
    if "calendars" in needs:
        calendars = await _calendars(session, account_id)

        def business_hours(calendar_id: int, at: datetime) -> bool:
            schedule = calendars.get(calendar_id)
            return schedule is not None and schedule.is_open(at)

    return cond.Facts(
        conversation=cond.ConversationFacts(
            status=conversation.status,
            priority=conversation.priority,
            subject=conversation.subject,
            tags=tags,
            channel=channel,
            inbox_id=conversation.inbox_id,
            team_id=conversation.team_id,
            assignee_id=conversation.assignee_id,
            custom=conversation.custom_fields or {},
        ),
        message=message,
        contact=cond.ContactFacts(
            name=contact.name,
            email=handles.get("email"),
            phone=handles.get("phone"),
            attributes=contact.attributes or {},
        )
        if contact is not None
        else None,
        now=now or event.created_at,
        zone=zone,
        business_hours=business_hours,
    )


# Running ---------------------------------------------------------------------------------


def _cause(event: Event) -> tuple[int, list[int]]:
    cause = event.data.get("cause") if isinstance(event.data, dict) else None
    if not isinstance(cause, dict):
        return 0, []
    rules = [r for r in cause.get("rules", []) if isinstance(r, int)]
    return int(cause.get("depth", 0)), rules


async def run_event(
    session: AsyncSession, clock: Clock, event_id: int, *, allow_private: bool = False
) -> list[RuleRun]:
    """Run the rules of one trigger event; returns the rule runs recorded."""
    event = await session.get(Event, event_id)
    if event is None or event.type not in TRIGGERS or event.conversation_id is None:
        return []
    rules = await _rules_for(session, event.account_id, event.type)
    if not rules.immediate and not rules.waiting:
        return []
    await _one_at_a_time(session, event.conversation_id)
    conversation = await conversations_repo.get_in_account(
        session, event.account_id, event.conversation_id
    )
    if conversation is None:
        return []
    facts = await facts_for(session, conversation, event, rules.needs)
    depth, chain = _cause(event)
    runs: list[RuleRun] = []
    for item in rules.waiting:
        stopped = await _decide_wait(session, clock, event, conversation, facts, item, depth, chain)
        if stopped is not None:
            runs.append(stopped)
    for position in rules.index.matching(facts):
        item = rules.immediate[position]
        rule = item.rule
        if await repo.get_run(session, rule.id, event.id) is not None:
            continue  # this job ran before (at least once): the rule has had its say
        if rule.once_per_conversation and await repo.ran_on(session, rule.id, conversation.id):
            continue
        if rule.id in chain or depth >= MAX_CHAIN_DEPTH:
            runs.append(await _stop(session, clock, event, rule, depth, chain))
            continue
        runs.append(
            await _act(session, clock, event, conversation, item, depth, chain, allow_private)
        )
        if rule.stop_processing and runs[-1].outcome == "done":
            break
    return runs


async def _decide_wait(
    session: AsyncSession,
    clock: Clock,
    event: Event,
    conversation: Conversation,
    facts: cond.Facts,
    item: Compiled,
    depth: int,
    chain: list[int],
) -> RuleRun | None:
    """A time-based rule's trigger event: (re)start the conversation's wait when the
    conditions match, stop it when they do not. An event the rule's own actions caused does
    not restart it (stopped and reported, as for any rule). An internal note, never seen by
    the customer, neither starts nor stops a wait."""
    rule, wait = item.rule, item.wait
    assert wait is not None
    if _is_note(event):
        return None
    if not cond.evaluate(item.condition, facts):
        await waits.stop(session, rule.id, conversation.id)
        return None
    if rule.once_per_conversation and await repo.ran_on(session, rule.id, conversation.id):
        return None
    if rule.id in chain or depth >= MAX_CHAIN_DEPTH:
        if await repo.get_run(session, rule.id, event.id) is not None:
            return None
        return await _stop(session, clock, event, rule, depth, chain)
    await waits.start(session, clock, event, rule.id, wait)
    return None


#: How many of a conversation's latest trigger events a wait ending looks through for the
#: latest one its own rule did not cause.
_LATEST_LOOKBACK = 50


async def wake(
    session: AsyncSession,
    clock: Clock,
    account_id: int,
    payload: dict[str, Any],
    *,
    allow_private: bool = False,
) -> RuleRun | None:
    """A time-based rule's wait ended: act if the conditions still hold.

    The conversation's latest trigger event decides, not the one that started the timer
    (jobs may run out of order: a customer's reply cancelling the wait may have been handled
    before the agent's message that started it). Its wait may end later (the rule was
    changed, or a later event restarted it): the timer moves there instead.
    """
    rule_id, conversation_id = int(payload["rule_id"]), int(payload["conversation_id"])
    row = await repo.get_rule(session, account_id, rule_id)
    if row is None or not row.enabled or row.wait is None:
        return None  # deleted, disabled or no longer time-based since the wait started
    item = compile_rule(row)
    assert item.wait is not None
    await _one_at_a_time(session, conversation_id)
    conversation = await conversations_repo.get_in_account(session, account_id, conversation_id)
    if conversation is None:
        return None
    event = await _latest_trigger(session, conversation, row)
    if event is None:
        return None
    due = await waits.due_at(session, account_id, item.wait, event.created_at)
    if due is None:
        return None  # its calendar never opens again
    now = clock.now()
    if due > now:
        await waits.start(session, clock, event, rule_id, item.wait)
        return None
    rule = item.rule
    if await repo.get_run(session, rule_id, event.id) is not None:
        return None  # acted on this wait already (the job ran before)
    if rule.once_per_conversation and await repo.ran_on(session, rule_id, conversation.id):
        return None
    depth, chain = _cause(event)
    if rule_id in chain or depth >= MAX_CHAIN_DEPTH:
        return await _stop(session, clock, event, rule, depth, chain)
    facts = await facts_for(session, conversation, event, needs_of([item.condition]), now=now)
    if not cond.evaluate(item.condition, facts):
        return None
    return await _act(session, clock, event, conversation, item, depth, chain, allow_private)


async def _latest_trigger(
    session: AsyncSession, conversation: Conversation, rule: Rule
) -> Event | None:
    rows = await session.scalars(
        select(Event)
        .where(
            Event.conversation_id == conversation.id,
            Event.account_id == conversation.account_id,
            Event.type.in_(rule.triggers),
        )
        .order_by(Event.id.desc())
        .limit(_LATEST_LOOKBACK)
    )
    for event in rows:
        if rule.id not in _cause(event)[1] and not _is_note(event):
            return event
    return None


def _is_note(event: Event) -> bool:
    message = event.data.get("message") if isinstance(event.data, dict) else None
    return isinstance(message, dict) and message.get("kind") == "note"


async def _one_at_a_time(session: AsyncSession, conversation_id: int) -> None:
    """One conversation's rules run one event (or wait ending) at a time, so that "once per
    conversation" and a concurrent job's rule runs are seen: SQLite serialises writers
    already; PostgreSQL takes a lock on the conversation's number until this job commits
    (an advisory lock: the conversation's row stays free for the inbound path)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"),
            {"space": _LOCK_SPACE, "key": conversation_id % 2**31},
        )


async def _act(
    session: AsyncSession,
    clock: Clock,
    event: Event,
    conversation: Conversation,
    item: Compiled,
    depth: int,
    chain: list[int],
    allow_private: bool,
) -> RuleRun:
    rule = item.rule
    cause = {
        "actor": "automation",
        "rule_id": rule.id,
        "event_id": event.id,
        "depth": depth + 1,
        "rules": [*chain, rule.id],
    }
    run = act.Run(
        conversation,
        Principal.system(event.account_id),
        key=f"rule:{rule.id}:event:{event.id}",
        allow_private=allow_private,
    )
    outcome = "done"
    detail: dict[str, Any] = {}
    session.info[events.CAUSE_KEY] = cause
    try:
        async with session.begin_nested():
            detail = {"done": await act.execute(session, clock, run, item.actions)}
    except OmnideskError as exc:
        # The savepoint undid this rule's actions; the others stand.
        outcome = "failed"
        detail = {"error": exc.message, "field": exc.field}
        log.warning("automation_rule_failed", rule_id=rule.id, event_id=event.id, error=exc.message)
        await session.refresh(conversation)
    finally:
        session.info.pop(events.CAUSE_KEY, None)
    return await _run_row(session, clock, event, rule, outcome, detail)


async def _stop(
    session: AsyncSession, clock: Clock, event: Event, rule: RuleInfo, depth: int, chain: list[int]
) -> RuleRun:
    reason = (
        "the rule would react to an event its own actions caused"
        if rule.id in chain
        else f"the chain of rules reached {MAX_CHAIN_DEPTH} steps"
    )
    data = {
        "rule_id": rule.id,
        "event_id": event.id,
        "rules": [*chain, rule.id],
        "depth": depth,
        "reason": reason,
    }
    await events.record(
        session,
        account_id=event.account_id,
        type=LOOP_STOPPED,
        audience="supervisors",
        conversation_id=event.conversation_id,
        data=data,
        clock=clock,
    )
    log.warning("automation_loop_stopped", **data)
    return await _run_row(session, clock, event, rule, "loop_stopped", data)


async def _run_row(
    session: AsyncSession,
    clock: Clock,
    event: Event,
    rule: RuleInfo,
    outcome: str,
    detail: dict[str, Any],
) -> RuleRun:
    row = RuleRun(
        account_id=event.account_id,
        rule_id=rule.id,
        conversation_id=event.conversation_id,
        event_id=event.id,
        outcome=outcome,
        detail=detail,
        created_at=clock.now(),
    )
    session.add(row)
    await session.flush()
    return row
