"""Use cases for routing configuration and presence. Never commits.

Admins write the configuration; everyone in the account reads what the agent desktop needs
(rules: admins and supervisors). An agent sets their own presence, a supervisor anyone's.
Every change records an event (see ``routing.events``) in the caller's transaction.

The account's default queue and default routing profile are created on first need (by the
router when work arrives, or before the account's first own queue or profile, or when they
are read); a new one is the default only when asked. Exactly one of each is the default; the
flag moves, it is never dropped.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.models import User
from omnidesk.accounts.principal import Principal
from omnidesk.channels import registry
from omnidesk.events import service as events
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from omnidesk.routing import events as ev
from omnidesk.routing import hours, rules
from omnidesk.routing import repository as repo
from omnidesk.routing.models import (
    AgentState,
    AwayReason,
    BusinessHours,
    Queue,
    RoutingProfile,
    RoutingRule,
    Skill,
)
from omnidesk.routing.schemas import (
    DEFAULT_CAPACITY,
    AgentOut,
    AgentProfileSet,
    AgentSkillOut,
    AgentSkillsSet,
    AgentWorkOut,
    AwayReasonCreate,
    BusinessHoursCreate,
    BusinessHoursUpdate,
    ConfigWarning,
    HolidayIn,
    PresenceSet,
    ProfileCreate,
    ProfileUpdate,
    QueueCreate,
    QueueUpdate,
    RoutingFacts,
    RuleCreate,
    RulesReorder,
    RuleUpdate,
    SkillCreate,
    SkillUpdate,
    dump,
)
from omnidesk.sla import repository as sla_repo

#: Work channels that capacities and rules may name, besides the installed channel adapters.
CORE_CHANNELS = (
    "voice",
    "video",
    "chat",
    "email",
    "sms",
    "whatsapp",
    "messenger",
    "instagram",
    "telegram",
    "webchat",
    "twitter",
)
DEFAULT_QUEUE_NAME = "General"
DEFAULT_PROFILE_NAME = "Default"
#: Placeholders an out-of-hours message may use.
MESSAGE_PLACEHOLDERS = frozenset({"next_open", "queue"})
DEFAULT_MESSAGES = {
    "auto_reply": "Thanks for your message. We are closed right now and will answer from "
    "{next_open}.",
    "close": "Thanks for your message. We are closed right now; please contact us again "
    "during our opening hours.",
}


def known_channels() -> list[str]:
    return sorted(set(CORE_CHANNELS) | set(registry.channel_types()))


def _check_channels(names: Sequence[str], *, field: str) -> None:
    known = set(known_channels())
    for name in names:
        if name not in known:
            raise ValidationFailed(
                f"unknown channel {name!r} (known: {', '.join(sorted(known))})",
                field=f"{field}.{name}" if field == "capacity" else field,
            )


def _given(data: BaseModel, *, exclude: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """The fields a PATCH body names, each dumped whole (nested defaults included)."""
    full = data.model_dump(mode="json")
    return {key: full[key] for key in data.model_fields_set if key not in exclude}


async def _record(
    session: AsyncSession,
    clock: Clock,
    actor: Principal,
    type: str,
    data: dict[str, Any],
    *,
    audience: str = "account",
) -> None:
    await events.record(
        session,
        account_id=actor.account_id,
        type=type,
        audience=audience,
        actor_user_id=actor.user_id,
        data=data,
        clock=clock,
    )


async def _flush_unique(session: AsyncSession, what: str) -> None:
    """Flush; a name another request took meanwhile is a 409, not a 500."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"a {what} with this name already exists", field="name") from exc


async def _check_name(
    session: AsyncSession,
    model: type[repo.Named],
    actor: Principal,
    name: str,
    what: str,
    *,
    except_id: int | None = None,
) -> None:
    if await repo.name_taken(session, model, actor.account_id, name, except_id=except_id):
        raise Conflict(f"a {what} with this name already exists", field="name")


async def _get(
    session: AsyncSession,
    model: type[repo.Named],
    actor: Principal,
    id_: int,
    what: str,
    *,
    field: str | None = None,
) -> repo.Named:
    row = await repo.get(session, model, actor.account_id, id_)
    if row is None:
        raise NotFound(what, field=field)
    return row


async def _check_exist(
    session: AsyncSession,
    model: type[repo.Named],
    actor: Principal,
    ids: Sequence[int],
    what: str,
    *,
    field: str,
) -> None:
    found = await repo.existing_ids(session, model, actor.account_id, ids)
    missing = sorted(set(ids) - found)
    if missing:
        raise NotFound(f"{what} {missing[0]}", field=field)


# Business hours -------------------------------------------------------------------------


def _holidays_doc(holidays: Sequence[HolidayIn]) -> list[dict[str, Any]]:
    return [
        {
            "name": h.name,
            "start": h.start.isoformat(),
            "end": (h.end or h.start).isoformat(),
            "open": [dump(i) for i in h.open],
        }
        for h in holidays
    ]


def schedule_of(calendar: BusinessHours) -> hours.Schedule:
    return hours.Schedule.from_doc(calendar.timezone, calendar.weekly, calendar.holidays)


async def checked_schedule(
    session: AsyncSession, account_id: int, business_hours_id: int, *, field: str
) -> hours.Schedule:
    """One of the account's calendars, for a definition that counts time in it (an SLA
    policy, a time-based rule): refused, naming ``field``, when it is another account's,
    not valid, or never opens (nothing counted in it could ever come due)."""
    row = await session.get(BusinessHours, business_hours_id)
    if row is None or row.account_id != account_id:
        raise NotFound("business hours", field=field)
    try:
        schedule = schedule_of(row)
    except (hours.HoursError, ValueError, KeyError) as exc:
        raise ValidationFailed(f"the calendar is not valid: {exc}", field=field) from None
    if schedule.next_open(row.updated_at) is None:
        raise ValidationFailed(
            "this calendar never opens: nothing counted in it comes due", field=field
        )
    return schedule


async def get_business_hours(
    session: AsyncSession, actor: Principal, business_hours_id: int
) -> BusinessHours:
    return await _get(session, BusinessHours, actor, business_hours_id, "business hours")


async def list_business_hours(session: AsyncSession, actor: Principal) -> Sequence[BusinessHours]:
    return await repo.list_all(session, BusinessHours, actor.account_id)


async def create_business_hours(
    session: AsyncSession, clock: Clock, actor: Principal, data: BusinessHoursCreate
) -> BusinessHours:
    actor.require("admin")
    await _check_name(session, BusinessHours, actor, data.name, "calendar")
    now = clock.now()
    calendar = BusinessHours(
        account_id=actor.account_id,
        name=data.name,
        timezone=data.timezone,
        weekly=dump(data.weekly),
        holidays=_holidays_doc(data.holidays),
        created_at=now,
        updated_at=now,
    )
    session.add(calendar)
    await _flush_unique(session, "calendar")
    await _record(
        session,
        clock,
        actor,
        ev.BUSINESS_HOURS_CREATED,
        {"business_hours_id": calendar.id, "name": calendar.name},
    )
    return calendar


async def update_business_hours(
    session: AsyncSession,
    clock: Clock,
    actor: Principal,
    business_hours_id: int,
    data: BusinessHoursUpdate,
) -> BusinessHours:
    actor.require("admin")
    calendar = await get_business_hours(session, actor, business_hours_id)
    changed: list[str] = []
    if data.name is not None and data.name != calendar.name:
        await _check_name(
            session, BusinessHours, actor, data.name, "calendar", except_id=calendar.id
        )
        calendar.name = data.name
        changed.append("name")
    if data.timezone is not None:
        calendar.timezone = data.timezone
        changed.append("timezone")
    if data.weekly is not None:
        calendar.weekly = dump(data.weekly)
        changed.append("weekly")
    if data.holidays is not None:
        calendar.holidays = _holidays_doc(data.holidays)
        changed.append("holidays")
    calendar.updated_at = clock.now()
    await _flush_unique(session, "calendar")
    await _record(
        session,
        clock,
        actor,
        ev.BUSINESS_HOURS_UPDATED,
        {"business_hours_id": calendar.id, "fields": changed},
    )
    return calendar


async def delete_business_hours(
    session: AsyncSession, clock: Clock, actor: Principal, business_hours_id: int
) -> None:
    actor.require("admin")
    calendar = await get_business_hours(session, actor, business_hours_id)
    users = await repo.queues_using_hours(session, actor.account_id, calendar.id)
    if users:
        raise Conflict(f"queues use these business hours: {', '.join(users)}")
    policies = await sla_repo.policies_using_hours(session, actor.account_id, calendar.id)
    if policies:
        raise Conflict(f"SLA policies use these business hours: {', '.join(policies)}")
    await session.delete(calendar)
    await _record(
        session,
        clock,
        actor,
        ev.BUSINESS_HOURS_DELETED,
        {"business_hours_id": business_hours_id, "name": calendar.name},
    )


# Skills ---------------------------------------------------------------------------------


async def get_skill(session: AsyncSession, actor: Principal, skill_id: int) -> Skill:
    return await _get(session, Skill, actor, skill_id, "skill")


async def list_skills(session: AsyncSession, actor: Principal) -> Sequence[Skill]:
    return await repo.list_all(session, Skill, actor.account_id)


async def create_skill(
    session: AsyncSession, clock: Clock, actor: Principal, data: SkillCreate
) -> Skill:
    actor.require("admin")
    await _check_name(session, Skill, actor, data.name, "skill")
    skill = Skill(
        account_id=actor.account_id,
        name=data.name,
        description=data.description,
        created_at=clock.now(),
    )
    session.add(skill)
    await _flush_unique(session, "skill")
    await _record(
        session, clock, actor, ev.SKILL_CREATED, {"skill_id": skill.id, "name": skill.name}
    )
    return skill


async def update_skill(
    session: AsyncSession, clock: Clock, actor: Principal, skill_id: int, data: SkillUpdate
) -> Skill:
    actor.require("admin")
    skill = await get_skill(session, actor, skill_id)
    changed: list[str] = []
    if data.name is not None and data.name != skill.name:
        await _check_name(session, Skill, actor, data.name, "skill", except_id=skill.id)
        skill.name = data.name
        changed.append("name")
    if data.description is not None:
        skill.description = data.description
        changed.append("description")
    await _flush_unique(session, "skill")
    await _record(
        session, clock, actor, ev.SKILL_UPDATED, {"skill_id": skill.id, "fields": changed}
    )
    return skill


def _skill_ids(requirements: Sequence[dict[str, Any]]) -> set[int]:
    return {int(r["skill_id"]) for r in requirements}


async def delete_skill(
    session: AsyncSession, clock: Clock, actor: Principal, skill_id: int
) -> None:
    """Agents lose the skill; queues and rules that require it must change first (409)."""
    actor.require("admin")
    skill = await get_skill(session, actor, skill_id)
    users = [
        f"queue {q.name}"
        for q in await repo.list_all(session, Queue, actor.account_id)
        if skill.id in _skill_ids(q.required_skills)
    ] + [
        f"rule {r.name}"
        for r in await repo.list_all(session, RoutingRule, actor.account_id)
        if skill.id in _skill_ids(r.extra_skills)
    ]
    if users:
        raise Conflict(f"the skill is still required by: {', '.join(users)}")
    await session.delete(skill)
    await _record(
        session, clock, actor, ev.SKILL_DELETED, {"skill_id": skill_id, "name": skill.name}
    )


# Routing profiles -----------------------------------------------------------------------


def _check_profile(capacity: dict[str, int], exclusive: Sequence[str]) -> None:
    _check_channels(list(capacity), field="capacity")
    _check_channels(exclusive, field="exclusive_channels")
    for name in exclusive:
        if capacity.get(name, 0) <= 0:
            raise ValidationFailed(
                f"exclusive channel {name!r} has no capacity in this profile",
                field="exclusive_channels",
            )


async def get_profile(session: AsyncSession, actor: Principal, profile_id: int) -> RoutingProfile:
    return await _get(session, RoutingProfile, actor, profile_id, "routing profile")


async def ensure_default_profile(
    session: AsyncSession, clock: Clock, account_id: int
) -> RoutingProfile:
    """The account's default profile, created (see DEFAULT_CAPACITY; voice exclusive)
    when there is none."""

    def make(name: str, now: datetime) -> RoutingProfile:
        return RoutingProfile(
            account_id=account_id,
            name=name,
            capacity=dict(DEFAULT_CAPACITY),
            exclusive_channels=["voice"],
            auto_accept=False,
            is_default=True,
            created_at=now,
            updated_at=now,
        )

    return await _ensure_default(
        session, clock, account_id, RoutingProfile, DEFAULT_PROFILE_NAME, make
    )


async def _ensure_default(
    session: AsyncSession,
    clock: Clock,
    account_id: int,
    model: type[repo.Defaulted],
    base_name: str,
    make: Callable[[str, datetime], repo.Defaulted],
) -> repo.Defaulted:
    found = await repo.default(session, model, account_id)
    if found is not None:
        return found
    name, n = base_name, 1
    while await repo.name_taken(session, model, account_id, name):
        n += 1
        name = f"{base_name} {n}"
    row = make(name, clock.now())
    try:
        # Added inside the savepoint: begin_nested() flushes what is pending before it, and
        # a failure there would take the whole transaction down.
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:  # another transaction (the router, a request) made it meanwhile
        again = await repo.default(session, model, account_id)
        if again is None:
            raise
        return again
    created, key = (
        (ev.QUEUE_CREATED, "queue_id") if model is Queue else (ev.PROFILE_CREATED, "profile_id")
    )
    await _record(
        session,
        clock,
        Principal.system(account_id),
        created,
        {key: row.id, "name": row.name, "is_default": True},
    )
    return row


async def _take_default(
    session: AsyncSession, model: type[repo.Defaulted], account_id: int
) -> None:
    current = await repo.default(session, model, account_id)
    if current is not None:
        current.is_default = False
        await session.flush()


async def list_profiles(
    session: AsyncSession, clock: Clock, actor: Principal
) -> Sequence[RoutingProfile]:
    await ensure_default_profile(session, clock, actor.account_id)
    return await repo.list_all(session, RoutingProfile, actor.account_id)


async def create_profile(
    session: AsyncSession, clock: Clock, actor: Principal, data: ProfileCreate
) -> RoutingProfile:
    actor.require("admin")
    _check_profile(data.capacity, data.exclusive_channels)
    await _check_name(session, RoutingProfile, actor, data.name, "routing profile")
    # The account's default exists before any other profile: made here, it cannot race the
    # router making it (ensure_default_profile settles that race); a new one is the default
    # only when asked to be.
    await ensure_default_profile(session, clock, actor.account_id)
    is_default = data.is_default
    if data.is_default:
        await _take_default(session, RoutingProfile, actor.account_id)
    now = clock.now()
    profile = RoutingProfile(
        account_id=actor.account_id,
        name=data.name,
        capacity=dict(data.capacity),
        exclusive_channels=sorted(set(data.exclusive_channels)),
        auto_accept=data.auto_accept,
        is_default=is_default,
        created_at=now,
        updated_at=now,
    )
    session.add(profile)
    await _flush_unique(session, "routing profile")
    await _record(
        session,
        clock,
        actor,
        ev.PROFILE_CREATED,
        {"profile_id": profile.id, "name": profile.name, "is_default": is_default},
    )
    return profile


async def update_profile(
    session: AsyncSession, clock: Clock, actor: Principal, profile_id: int, data: ProfileUpdate
) -> RoutingProfile:
    actor.require("admin")
    profile = await get_profile(session, actor, profile_id)
    capacity = data.capacity if data.capacity is not None else profile.capacity
    exclusive = (
        data.exclusive_channels
        if data.exclusive_channels is not None
        else profile.exclusive_channels
    )
    _check_profile(capacity, exclusive)
    changed = sorted(data.model_dump(exclude_unset=True, exclude_none=True))
    if data.name is not None and data.name != profile.name:
        await _check_name(
            session, RoutingProfile, actor, data.name, "routing profile", except_id=profile.id
        )
        profile.name = data.name
    if data.is_default is False and profile.is_default:
        raise ValidationFailed(
            "the account needs a default profile: make another profile the default instead",
            field="is_default",
        )
    if data.is_default and not profile.is_default:
        await _take_default(session, RoutingProfile, actor.account_id)
        profile.is_default = True
    profile.capacity = dict(capacity)
    profile.exclusive_channels = sorted(set(exclusive))
    if data.auto_accept is not None:
        profile.auto_accept = data.auto_accept
    profile.updated_at = clock.now()
    await _flush_unique(session, "routing profile")
    await _record(
        session, clock, actor, ev.PROFILE_UPDATED, {"profile_id": profile.id, "fields": changed}
    )
    return profile


async def delete_profile(
    session: AsyncSession, clock: Clock, actor: Principal, profile_id: int
) -> None:
    """Agents with this profile fall back to the default one."""
    actor.require("admin")
    profile = await get_profile(session, actor, profile_id)
    if profile.is_default:
        raise Conflict("the default profile cannot be deleted: make another the default first")
    await session.delete(profile)
    await _record(
        session, clock, actor, ev.PROFILE_DELETED, {"profile_id": profile_id, "name": profile.name}
    )


# Queues ---------------------------------------------------------------------------------


def _check_message(action: str, message: str) -> str:
    if action not in DEFAULT_MESSAGES:
        return message
    if not message.strip():
        return DEFAULT_MESSAGES[action]
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(message) if f is not None]
    except ValueError as exc:
        raise ValidationFailed(
            f"not a valid template ({exc}); write braces as {{{{ and }}}}",
            field="out_of_hours_message",
        ) from None
    for name in fields:
        if name not in MESSAGE_PLACEHOLDERS:
            raise ValidationFailed(
                f"unknown placeholder {{{name}}} (use {{next_open}} or {{queue}})",
                field="out_of_hours_message",
            )
    return message


def render_message(template: str, *, next_open: str, queue: str) -> str:
    """An out-of-hours message with its placeholders filled in (checked when saved)."""
    return template.format(next_open=next_open, queue=queue)


async def _check_queue_refs(
    session: AsyncSession, actor: Principal, queue_id: int | None, values: dict[str, Any]
) -> None:
    if values["business_hours_id"] is not None:
        await _check_exist(
            session,
            BusinessHours,
            actor,
            [values["business_hours_id"]],
            "business hours",
            field="business_hours_id",
        )
    await _check_exist(
        session,
        Skill,
        actor,
        sorted(_skill_ids(values["required_skills"])),
        "skill",
        field="required_skills",
    )
    for n, step in enumerate(values["overflow_steps"]):
        if queue_id is not None and queue_id in step["add_queue_ids"]:
            raise ValidationFailed(
                "a queue cannot overflow into itself", field=f"overflow_steps.{n}.add_queue_ids"
            )
        await _check_exist(
            session,
            Queue,
            actor,
            step["add_queue_ids"],
            "queue",
            field=f"overflow_steps.{n}.add_queue_ids",
        )


def _requirement_met(levels: dict[int, int], requirements: Sequence[dict[str, Any]]) -> bool:
    return all(levels.get(int(r["skill_id"]), 0) >= int(r["min_level"]) for r in requirements)


async def queue_warnings(
    session: AsyncSession, actor: Principal, queues: Sequence[Queue]
) -> dict[int, list[ConfigWarning]]:
    """What deserves attention on each queue: no active agent has its required skills."""
    result: dict[int, list[ConfigWarning]] = {q.id: [] for q in queues}
    needing = [q for q in queues if q.required_skills]
    if not needing:
        return result
    agents = await repo.active_agent_levels(session, actor.account_id)
    for queue in needing:
        if not any(_requirement_met(levels, queue.required_skills) for levels in agents):
            relaxes = " until an overflow step relaxes them" if queue.overflow_steps else ""
            result[queue.id].append(
                ConfigWarning(
                    code="no_eligible_agents",
                    message="no active agent has the required skills at the required levels; "
                    f"work in this queue will wait{relaxes}",
                )
            )
    return result


async def get_queue(session: AsyncSession, actor: Principal, queue_id: int) -> Queue:
    return await _get(session, Queue, actor, queue_id, "queue")


async def ensure_default_queue(session: AsyncSession, clock: Clock, account_id: int) -> Queue:
    """The account's default queue, created (always open, no skills) when there is none."""

    def make(name: str, now: datetime) -> Queue:
        return Queue(
            account_id=account_id,
            name=name,
            priority_bonus=0,
            business_hours_id=None,
            out_of_hours_action="keep_waiting",
            out_of_hours_message="",
            required_skills=[],
            selection_policy="longest_idle",
            offer_timeout_s=30,
            wrap_up_s=0,
            max_missed_offers=0,
            sticky_days=0,
            sticky_window_s=0,
            overflow_steps=[],
            is_default=True,
            created_at=now,
            updated_at=now,
        )

    return await _ensure_default(session, clock, account_id, Queue, DEFAULT_QUEUE_NAME, make)


async def list_queues(session: AsyncSession, clock: Clock, actor: Principal) -> Sequence[Queue]:
    await ensure_default_queue(session, clock, actor.account_id)
    return await repo.list_all(session, Queue, actor.account_id)


async def create_queue(
    session: AsyncSession, clock: Clock, actor: Principal, data: QueueCreate
) -> Queue:
    actor.require("admin")
    values = data.model_dump(mode="json", exclude={"is_default"})
    await _check_queue_refs(session, actor, None, values)
    values["out_of_hours_message"] = _check_message(
        data.out_of_hours_action, data.out_of_hours_message
    )
    await _check_name(session, Queue, actor, data.name, "queue")
    # As for profiles: the default first (it may race the router, which settles it), then
    # this one, the default only when asked to be.
    await ensure_default_queue(session, clock, actor.account_id)
    is_default = data.is_default
    if data.is_default:
        await _take_default(session, Queue, actor.account_id)
    now = clock.now()
    queue = Queue(
        account_id=actor.account_id,
        **values,
        is_default=is_default,
        created_at=now,
        updated_at=now,
    )
    session.add(queue)
    await _flush_unique(session, "queue")
    await _record(
        session,
        clock,
        actor,
        ev.QUEUE_CREATED,
        {"queue_id": queue.id, "name": queue.name, "is_default": is_default},
    )
    return queue


async def update_queue(
    session: AsyncSession, clock: Clock, actor: Principal, queue_id: int, data: QueueUpdate
) -> Queue:
    actor.require("admin")
    queue = await get_queue(session, actor, queue_id)
    given = _given(data, exclude={"is_default"})
    # Only business_hours_id may be set to null (always open); other nulls mean "keep".
    given = {k: v for k, v in given.items() if v is not None or k == "business_hours_id"}
    current = {
        "business_hours_id": queue.business_hours_id,
        "required_skills": queue.required_skills,
        "overflow_steps": queue.overflow_steps,
        "out_of_hours_action": queue.out_of_hours_action,
        "out_of_hours_message": queue.out_of_hours_message,
    }
    values = {**current, **given}
    await _check_queue_refs(session, actor, queue.id, values)
    values["out_of_hours_message"] = _check_message(
        values["out_of_hours_action"], values["out_of_hours_message"]
    )
    if "name" in given and given["name"] != queue.name:
        await _check_name(session, Queue, actor, given["name"], "queue", except_id=queue.id)
    if data.is_default is False and queue.is_default:
        raise ValidationFailed(
            "the account needs a default queue: make another queue the default instead",
            field="is_default",
        )
    if data.is_default and not queue.is_default:
        await _take_default(session, Queue, actor.account_id)
        queue.is_default = True
    for key, value in {**given, "out_of_hours_message": values["out_of_hours_message"]}.items():
        setattr(queue, key, value)
    queue.updated_at = clock.now()
    await _flush_unique(session, "queue")
    fields = sorted(given) + (["is_default"] if data.is_default is not None else [])
    await _record(session, clock, actor, ev.QUEUE_UPDATED, {"queue_id": queue.id, "fields": fields})
    return queue


async def delete_queue(
    session: AsyncSession, clock: Clock, actor: Principal, queue_id: int
) -> None:
    actor.require("admin")
    queue = await get_queue(session, actor, queue_id)
    if queue.is_default:
        raise Conflict("the default queue cannot be deleted: make another the default first")
    used = [
        f"rule {name}" for name in await repo.rules_for_queue(session, actor.account_id, queue.id)
    ]
    used += [
        f"queue {other.name} (overflow)"
        for other in await repo.list_all(session, Queue, actor.account_id)
        if any(queue.id in step.get("add_queue_ids", ()) for step in other.overflow_steps)
    ]
    if used:
        raise Conflict(f"the queue is still used by: {', '.join(used)}")
    if await repo.queue_has_work(session, queue.id):
        # Waiting work would be stranded, and served work is what the reports are made of.
        raise Conflict("the queue has work, waiting or served: it cannot be deleted")
    await session.delete(queue)
    await _record(
        session, clock, actor, ev.QUEUE_DELETED, {"queue_id": queue_id, "name": queue.name}
    )


# Routing rules --------------------------------------------------------------------------


async def _check_rule_refs(session: AsyncSession, actor: Principal, values: dict[str, Any]) -> None:
    conditions = values["conditions"]
    found = await repo.existing_inbox_ids(session, actor.account_id, conditions["inbox_ids"])
    missing = sorted(set(conditions["inbox_ids"]) - found)
    if missing:
        raise NotFound(f"inbox {missing[0]}", field="conditions.inbox_ids")
    _check_channels(conditions["channels"], field="conditions.channels")
    if values["queue_id"] is not None:
        await _check_exist(session, Queue, actor, [values["queue_id"]], "queue", field="queue_id")
    await _check_exist(
        session,
        Skill,
        actor,
        sorted(_skill_ids(values["extra_skills"])),
        "skill",
        field="extra_skills",
    )


async def get_rule(session: AsyncSession, actor: Principal, rule_id: int) -> RoutingRule:
    actor.require("admin", "supervisor")
    return await _get(session, RoutingRule, actor, rule_id, "routing rule")


async def list_rules(session: AsyncSession, actor: Principal) -> Sequence[RoutingRule]:
    actor.require("admin", "supervisor")
    return await repo.list_all(session, RoutingRule, actor.account_id)


async def _renumber(session: AsyncSession, ordered: Sequence[RoutingRule]) -> None:
    for position, rule in enumerate(ordered, start=1):
        rule.position = position
    await session.flush()


async def create_rule(
    session: AsyncSession, clock: Clock, actor: Principal, data: RuleCreate
) -> RoutingRule:
    actor.require("admin")
    values = data.model_dump(mode="json", exclude={"position"})
    await _check_rule_refs(session, actor, values)
    existing = list(await repo.list_all(session, RoutingRule, actor.account_id))
    now = clock.now()
    rule = RoutingRule(
        account_id=actor.account_id,
        position=len(existing) + 1,
        **values,
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    await session.flush()
    if data.position is not None and data.position <= len(existing):
        existing.insert(data.position - 1, rule)
        await _renumber(session, existing)
    await _record(
        session,
        clock,
        actor,
        ev.RULE_CREATED,
        {"rule_id": rule.id, "name": rule.name, "position": rule.position},
        audience="supervisors",
    )
    return rule


async def update_rule(
    session: AsyncSession, clock: Clock, actor: Principal, rule_id: int, data: RuleUpdate
) -> RoutingRule:
    actor.require("admin")
    rule = await get_rule(session, actor, rule_id)
    given = _given(data)
    nullable = {"queue_id", "priority"}
    given = {k: v for k, v in given.items() if v is not None or k in nullable}
    current = {
        "conditions": rule.conditions,
        "queue_id": rule.queue_id,
        "extra_skills": rule.extra_skills,
    }
    await _check_rule_refs(session, actor, {**current, **given})
    for key, value in given.items():
        setattr(rule, key, value)
    rule.updated_at = clock.now()
    await _record(
        session,
        clock,
        actor,
        ev.RULE_UPDATED,
        {"rule_id": rule.id, "fields": sorted(given)},
        audience="supervisors",
    )
    return rule


async def delete_rule(session: AsyncSession, clock: Clock, actor: Principal, rule_id: int) -> None:
    actor.require("admin")
    rule = await get_rule(session, actor, rule_id)
    await session.delete(rule)
    await session.flush()
    await _renumber(session, await repo.list_all(session, RoutingRule, actor.account_id))
    await _record(
        session,
        clock,
        actor,
        ev.RULE_DELETED,
        {"rule_id": rule_id, "name": rule.name},
        audience="supervisors",
    )


async def reorder_rules(
    session: AsyncSession, clock: Clock, actor: Principal, data: RulesReorder
) -> Sequence[RoutingRule]:
    actor.require("admin")
    existing = {r.id: r for r in await repo.list_all(session, RoutingRule, actor.account_id)}
    if len(set(data.rule_ids)) != len(data.rule_ids) or set(data.rule_ids) != set(existing):
        raise ValidationFailed(
            "rule_ids must name every rule of the account exactly once", field="rule_ids"
        )
    ordered = [existing[i] for i in data.rule_ids]
    await _renumber(session, ordered)
    await _record(
        session,
        clock,
        actor,
        ev.RULES_REORDERED,
        {"rule_ids": list(data.rule_ids)},
        audience="supervisors",
    )
    return ordered


def to_rule(row: RoutingRule) -> rules.Rule:
    c = row.conditions
    return rules.Rule(
        id=row.id,
        conditions=rules.Conditions(
            inbox_ids=frozenset(c.get("inbox_ids", ())),
            channels=frozenset(c.get("channels", ())),
            languages=frozenset(c.get("languages", ())),
            tags_any=frozenset(c.get("tags_any", ())),
            contact_attributes=dict(c.get("contact_attributes") or {}),
            vip=c.get("vip"),
        ),
        queue_id=row.queue_id,
        priority=row.priority,
        extra_skills=tuple(
            rules.SkillRequirement(int(s["skill_id"]), int(s["min_level"]))
            for s in row.extra_skills
        ),
        enabled=row.enabled,
    )


@dataclass(frozen=True)
class Routed:
    target: rules.RoutingTarget
    queue: Queue
    rule: RoutingRule | None


async def route(session: AsyncSession, clock: Clock, account_id: int, facts: rules.Facts) -> Routed:
    """Where the account's rules send work with these facts."""
    default = await ensure_default_queue(session, clock, account_id)
    rows = await repo.list_all(session, RoutingRule, account_id)
    target = rules.route([to_rule(r) for r in rows], facts, default_queue_id=default.id)
    queue = default
    if target.queue_id != default.id:
        found = await repo.get(session, Queue, account_id, target.queue_id)
        queue = found if found is not None else default
    rule = next((r for r in rows if r.id == target.rule_id), None)
    return Routed(target=target, queue=queue, rule=rule)


async def dry_run(
    session: AsyncSession, clock: Clock, actor: Principal, data: RoutingFacts
) -> Routed:
    """A dry run: nothing is routed, nothing recorded (but the default queue may be made)."""
    actor.require("admin")
    facts = rules.Facts(
        inbox_id=data.inbox_id,
        channel=data.channel,
        language=data.language,
        tags=frozenset(t.lower() for t in data.tags),
        contact_attributes=dict(data.contact_attributes),
        priority=data.priority,
    )
    return await route(session, clock, actor.account_id, facts)


# Away reasons ---------------------------------------------------------------------------


async def list_away_reasons(session: AsyncSession, actor: Principal) -> Sequence[AwayReason]:
    return await repo.list_all(session, AwayReason, actor.account_id)


async def create_away_reason(
    session: AsyncSession, clock: Clock, actor: Principal, data: AwayReasonCreate
) -> AwayReason:
    actor.require("admin")
    await _check_name(session, AwayReason, actor, data.name, "away reason")
    reason = AwayReason(account_id=actor.account_id, name=data.name, created_at=clock.now())
    session.add(reason)
    await _flush_unique(session, "away reason")
    await _record(
        session, clock, actor, ev.AWAY_REASON_CREATED, {"reason_id": reason.id, "name": reason.name}
    )
    return reason


async def delete_away_reason(
    session: AsyncSession, clock: Clock, actor: Principal, reason_id: int
) -> None:
    """Agents away for this reason keep its text."""
    actor.require("admin")
    reason = await _get(session, AwayReason, actor, reason_id, "away reason")
    await session.delete(reason)
    await _record(
        session, clock, actor, ev.AWAY_REASON_DELETED, {"reason_id": reason_id, "name": reason.name}
    )


# Agents: presence, profile, skills ------------------------------------------------------

#: The reason recorded with the presence of an agent set offline by their logging out.
LOGGED_OUT = "logged_out"
#: The reason recorded when a supervisor signed the agent out (``POST /users/{id}/sign-out``).
SIGNED_OUT = "signed_out"


async def _user(session: AsyncSession, actor: Principal, user_id: int) -> User:
    user = await repo.get_user(session, actor.account_id, user_id)
    if user is None:
        raise NotFound("user")
    return user


async def _state(session: AsyncSession, clock: Clock, account_id: int, user_id: int) -> AgentState:
    found = (await repo.agent_states(session, account_id, [user_id])).get(user_id)
    if found is not None:
        return found
    state = AgentState(
        user_id=user_id,
        account_id=account_id,
        profile_id=None,
        presence="offline",
        reason=None,
        since=clock.now(),
    )
    session.add(state)
    return state


async def change_presence(
    session: AsyncSession,
    clock: Clock,
    account_id: int,
    user_id: int,
    presence: str,
    reason: str | None,
    *,
    actor_user_id: int | None,
) -> None:
    """Set and record an agent's presence, chosen by them, a supervisor or the router."""
    state = await _state(session, clock, account_id, user_id)
    previous = state.presence
    if (previous, state.reason) == (presence, reason):
        return
    state.presence, state.reason, state.since = presence, reason, clock.now()
    await events.record(
        session,
        account_id=account_id,
        type=ev.PRESENCE_CHANGED,
        actor_user_id=actor_user_id,
        data={"user_id": user_id, "presence": presence, "previous": previous, "reason": reason},
        clock=clock,
    )


async def _views(
    session: AsyncSession, clock: Clock, actor: Principal, users: Sequence[User]
) -> list[AgentOut]:
    default = await ensure_default_profile(session, clock, actor.account_id)
    ids = [u.id for u in users]
    states = await repo.agent_states(session, actor.account_id, ids)
    skills = await repo.agent_skills(session, actor.account_id, ids)
    held = await repo.held_work(session, actor.account_id, ids)
    now = clock.now()
    views = []
    for user in users:
        state = states.get(user.id)
        since = state.since if state else None
        views.append(
            AgentOut(
                user_id=user.id,
                name=user.name,
                role=user.role,
                active=user.active,
                presence=state.presence if state else "offline",
                reason=state.reason if state else None,
                since=since,
                time_in_state_s=max(0, int((now - since).total_seconds())) if since else None,
                profile_id=state.profile_id if state else None,
                effective_profile_id=(state.profile_id if state else None) or default.id,
                skills=[
                    AgentSkillOut(skill_id=skill_id, name=name, level=level)
                    for skill_id, name, level in skills.get(user.id, [])
                ],
                work=[
                    AgentWorkOut(
                        conversation_id=item.conversation_id,
                        channel=item.channel,
                        assigned_at=item.assigned_at,
                    )
                    for item in held.get(user.id, [])
                    if actor.is_supervisor or actor.user_id == user.id
                ],
            )
        )
    return views


async def list_agents(session: AsyncSession, clock: Clock, actor: Principal) -> list[AgentOut]:
    """Every active user of the account, with presence, time in state, profile and skills."""
    return await _views(session, clock, actor, await repo.active_users(session, actor.account_id))


async def get_agent(
    session: AsyncSession, clock: Clock, actor: Principal, user_id: int
) -> AgentOut:
    return (await _views(session, clock, actor, [await _user(session, actor, user_id)]))[0]


async def set_presence(
    session: AsyncSession, clock: Clock, actor: Principal, user_id: int, data: PresenceSet
) -> AgentOut:
    if actor.user_id != user_id and not actor.is_supervisor:
        raise Forbidden("agents may set only their own presence")
    user = await _user(session, actor, user_id)
    reason = data.reason
    if data.reason_id is not None:
        if data.reason is not None:
            raise ValidationFailed("give reason or reason_id, not both", field="reason_id")
        chosen = await _get(
            session, AwayReason, actor, data.reason_id, "away reason", field="reason_id"
        )
        reason = chosen.name
    await change_presence(
        session,
        clock,
        actor.account_id,
        user.id,
        data.presence,
        reason,
        actor_user_id=actor.user_id,
    )
    state = await _state(session, clock, actor.account_id, user.id)
    if actor.user_id == user.id and state.last_seen_at is not None:
        # A sign of life of a watched agent (routing/liveness.py); a supervisor's is not one.
        state.last_seen_at = clock.now()
    await session.flush()
    return await get_agent(session, clock, actor, user.id)


async def log_out(
    session: AsyncSession,
    clock: Clock,
    account_id: int,
    user_id: int,
    *,
    reason: str = LOGGED_OUT,
    actor_user_id: int | None = None,
) -> None:
    """The agent ended their last browser session (or a supervisor ended them all, with
    ``reason`` ``signed_out``): offline, so that their open offers go to others at once;
    work they accepted stays theirs (docs/routing.md)."""
    state = (await repo.agent_states(session, account_id, [user_id])).get(user_id)
    if state is None or state.presence == "offline":
        return  # never routed to, or already out: nothing to record
    await change_presence(
        session,
        clock,
        account_id,
        user_id,
        "offline",
        reason,
        actor_user_id=user_id if actor_user_id is None else actor_user_id,
    )


async def set_agent_profile(
    session: AsyncSession, clock: Clock, actor: Principal, user_id: int, data: AgentProfileSet
) -> AgentOut:
    actor.require("admin")
    user = await _user(session, actor, user_id)
    if data.profile_id is not None:
        await _get(
            session, RoutingProfile, actor, data.profile_id, "routing profile", field="profile_id"
        )
    state = await _state(session, clock, user.account_id, user.id)
    state.profile_id = data.profile_id
    await session.flush()
    await _record(
        session,
        clock,
        actor,
        ev.AGENT_PROFILE_CHANGED,
        {"user_id": user.id, "profile_id": data.profile_id},
    )
    return await get_agent(session, clock, actor, user.id)


async def set_agent_skills(
    session: AsyncSession, clock: Clock, actor: Principal, user_id: int, data: AgentSkillsSet
) -> AgentOut:
    actor.require("admin")
    user = await _user(session, actor, user_id)
    await _check_exist(
        session, Skill, actor, [s.skill_id for s in data.skills], "skill", field="skills"
    )
    pairs = [(s.skill_id, s.level) for s in data.skills]
    await repo.replace_agent_skills(session, actor.account_id, user.id, pairs)
    await session.flush()
    await _record(
        session,
        clock,
        actor,
        ev.AGENT_SKILLS_CHANGED,
        {"user_id": user.id, "skills": [{"skill_id": s, "level": lv} for s, lv in pairs]},
    )
    return await get_agent(session, clock, actor, user.id)
