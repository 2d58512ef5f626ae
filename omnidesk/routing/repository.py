"""Every query of the routing context; each is scoped to one account."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.models import User
from omnidesk.inboxes.models import Inbox
from omnidesk.routing.models import (
    AgentSkill,
    AgentState,
    AwayReason,
    BusinessHours,
    Queue,
    RoutingProfile,
    RoutingRule,
    Skill,
    WorkItem,
)

#: The routing tables with an ``id``, ``account_id`` and (all but rules) a unique ``name``.
Named = TypeVar("Named", BusinessHours, Skill, RoutingProfile, AwayReason, Queue, RoutingRule)


async def get(session: AsyncSession, model: type[Named], account_id: int, id_: int) -> Named | None:
    row: Named | None = await session.scalar(
        select(model).where(model.account_id == account_id, model.id == id_)
    )
    return row


async def list_all(session: AsyncSession, model: type[Named], account_id: int) -> Sequence[Named]:
    order: Any = (RoutingRule.position, model.id) if model is RoutingRule else (model.id,)
    rows = await session.scalars(
        select(model).where(model.account_id == account_id).order_by(*order)
    )
    return rows.all()


async def name_taken(
    session: AsyncSession,
    model: type[Named],
    account_id: int,
    name: str,
    *,
    except_id: int | None = None,
) -> bool:
    query = select(model.id).where(model.account_id == account_id, model.name == name)
    if except_id is not None:
        query = query.where(model.id != except_id)
    return (await session.scalar(query.limit(1))) is not None


async def existing_ids(
    session: AsyncSession, model: type[Named], account_id: int, ids: Iterable[int]
) -> set[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    rows = await session.scalars(
        select(model.id).where(model.account_id == account_id, model.id.in_(wanted))
    )
    return set(rows.all())


async def existing_inbox_ids(
    session: AsyncSession, account_id: int, ids: Iterable[int]
) -> set[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    rows = await session.scalars(
        select(Inbox.id).where(Inbox.account_id == account_id, Inbox.id.in_(wanted))
    )
    return set(rows.all())


# Defaults -------------------------------------------------------------------------------


#: The routing tables with an account default.
Defaulted = TypeVar("Defaulted", Queue, RoutingProfile)


async def default(
    session: AsyncSession, model: type[Defaulted], account_id: int
) -> Defaulted | None:
    row: Defaulted | None = await session.scalar(
        select(model).where(model.account_id == account_id, model.is_default.is_(True))
    )
    return row


# References -----------------------------------------------------------------------------


async def queues_using_hours(
    session: AsyncSession, account_id: int, business_hours_id: int
) -> Sequence[str]:
    rows = await session.scalars(
        select(Queue.name)
        .where(Queue.account_id == account_id, Queue.business_hours_id == business_hours_id)
        .order_by(Queue.id)
    )
    return rows.all()


async def rules_for_queue(session: AsyncSession, account_id: int, queue_id: int) -> Sequence[str]:
    rows = await session.scalars(
        select(RoutingRule.name)
        .where(RoutingRule.account_id == account_id, RoutingRule.queue_id == queue_id)
        .order_by(RoutingRule.position)
    )
    return rows.all()


async def last_rule_position(session: AsyncSession, account_id: int) -> int:
    top = await session.scalar(
        select(func.max(RoutingRule.position)).where(RoutingRule.account_id == account_id)
    )
    return int(top or 0)


# Users, agents and their skills ---------------------------------------------------------


async def get_user(session: AsyncSession, account_id: int, user_id: int) -> User | None:
    return await session.scalar(
        select(User).where(User.account_id == account_id, User.id == user_id)
    )


async def active_users(session: AsyncSession, account_id: int) -> Sequence[User]:
    rows = await session.scalars(
        select(User).where(User.account_id == account_id, User.active.is_(True)).order_by(User.id)
    )
    return rows.all()


async def agent_states(
    session: AsyncSession, account_id: int, user_ids: Sequence[int] | None = None
) -> dict[int, AgentState]:
    query = select(AgentState).where(AgentState.account_id == account_id)
    if user_ids is not None:
        query = query.where(AgentState.user_id.in_(sorted(set(user_ids))))
    return {s.user_id: s for s in await session.scalars(query)}


async def agent_skills(
    session: AsyncSession, account_id: int, user_ids: Sequence[int] | None = None
) -> dict[int, list[tuple[int, str, int]]]:
    """``{user_id: [(skill_id, skill name, level), …]}`` for the account's agents."""
    query = (
        select(AgentSkill.user_id, AgentSkill.skill_id, Skill.name, AgentSkill.level)
        .join(Skill, Skill.id == AgentSkill.skill_id)
        .where(AgentSkill.account_id == account_id)
        .order_by(AgentSkill.user_id, Skill.name, Skill.id)
    )
    if user_ids is not None:
        query = query.where(AgentSkill.user_id.in_(sorted(set(user_ids))))
    result: dict[int, list[tuple[int, str, int]]] = {}
    for user_id, skill_id, name, level in await session.execute(query):
        result.setdefault(user_id, []).append((skill_id, name, level))
    return result


async def active_agent_levels(session: AsyncSession, account_id: int) -> list[dict[int, int]]:
    """Each active user's ``{skill_id: level}`` (also those without skills)."""
    levels: dict[int, dict[int, int]] = {u.id: {} for u in await active_users(session, account_id)}
    rows = await session.execute(
        select(AgentSkill.user_id, AgentSkill.skill_id, AgentSkill.level).where(
            AgentSkill.account_id == account_id
        )
    )
    for user_id, skill_id, level in rows:
        if user_id in levels:
            levels[user_id][skill_id] = level
    return list(levels.values())


async def replace_agent_skills(
    session: AsyncSession, account_id: int, user_id: int, skills: Sequence[tuple[int, int]]
) -> None:
    await session.execute(
        delete(AgentSkill).where(AgentSkill.account_id == account_id, AgentSkill.user_id == user_id)
    )
    session.add_all(
        AgentSkill(account_id=account_id, user_id=user_id, skill_id=skill_id, level=level)
        for skill_id, level in skills
    )


async def queue_has_work(session: AsyncSession, queue_id: int) -> bool:
    found = await session.scalar(select(WorkItem.id).where(WorkItem.queue_id == queue_id).limit(1))
    return found is not None
