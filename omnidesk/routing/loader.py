"""Routing configuration rows as the engine's values (queues, agents)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.models import User
from omnidesk.routing import engine
from omnidesk.routing.models import AgentSkill, AgentState, Queue, RoutingProfile

#: The conversation priorities as the engine's numbers (higher is served first).
PRIORITY_RANK: Mapping[str, int] = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


def levels(requirements: Sequence[Mapping[str, Any]]) -> dict[int, int]:
    """``[{"skill_id", "min_level"}]`` as ``{skill_id: min_level}`` (the highest if repeated)."""
    out: dict[int, int] = {}
    for requirement in requirements:
        skill, level = int(requirement["skill_id"]), int(requirement["min_level"])
        out[skill] = max(level, out.get(skill, 0))
    return out


def queue_config(queue: Queue) -> engine.QueueConfig:
    return engine.QueueConfig(
        queue_id=queue.id,
        priority_bonus=queue.priority_bonus,
        required_skills=levels(queue.required_skills),
        policy=cast(engine.Policy, queue.selection_policy),
        offer_timeout_s=float(queue.offer_timeout_s),
        wrap_up_s=float(queue.wrap_up_s),
        max_missed_offers=queue.max_missed_offers,
        sticky_window_s=float(queue.sticky_window_s),
        overflow=tuple(
            engine.OverflowStep(
                after_s=float(step["after_s"]),
                relax_levels=int(step.get("relax_levels", 0)),
                drop_skills=bool(step.get("drop_skills", False)),
                add_queue_ids=tuple(int(q) for q in step.get("add_queue_ids", ())),
                raise_priority_by=int(step.get("raise_priority_by", 0)),
            )
            for step in queue.overflow_steps
        ),
    )


async def agents(
    session: AsyncSession, account_id: int
) -> list[tuple[engine.AgentConfig, str, str | None]]:
    """Every active user as an engine agent, with the presence and reason on record."""
    users = (
        await session.scalars(
            select(User).where(User.account_id == account_id, User.active).order_by(User.id)
        )
    ).all()
    states = {
        s.user_id: s
        for s in await session.scalars(
            select(AgentState).where(AgentState.account_id == account_id)
        )
    }
    profiles = {
        p.id: p
        for p in await session.scalars(
            select(RoutingProfile).where(RoutingProfile.account_id == account_id)
        )
    }
    default = next((p for p in profiles.values() if p.is_default), None)
    skills: dict[int, dict[int, int]] = {}
    for row in await session.scalars(select(AgentSkill).where(AgentSkill.account_id == account_id)):
        skills.setdefault(row.user_id, {})[row.skill_id] = row.level
    out: list[tuple[engine.AgentConfig, str, str | None]] = []
    for user in users:
        state = states.get(user.id)
        profile = profiles.get(state.profile_id) if state and state.profile_id else None
        profile = profile or default
        config = engine.AgentConfig(
            agent_id=user.id,
            skills=skills.get(user.id, {}),
            capacity=dict(profile.capacity) if profile else {},
            exclusive_channels=frozenset(profile.exclusive_channels) if profile else frozenset(),
            auto_accept=bool(profile and profile.auto_accept),
        )
        presence = state.presence if state else "offline"
        out.append((config, presence, state.reason if state else None))
    return out
