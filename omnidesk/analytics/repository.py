"""The queries behind the reports: events of one account over a bounded period.

Arrivals and presence changes are read by (account, type, time) —
``ix_events_account_id_type_created_at`` — and a contact's later events by conversation
(``ix_events_conversation_id``), so a report reads what its period holds, not the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.models import Team, TeamMember, User
from omnidesk.analytics.extract import (
    CONVERSATION_TYPES,
    PRESENCE_CHANGED,
    QUEUED,
    LoggedEvent,
)
from omnidesk.events.models import Event
from omnidesk.kit.clock import ensure_utc
from omnidesk.routing.models import AgentState, Queue, WorkItem

#: Ids per ``IN (…)``: well under SQLite's and asyncpg's limits on bound parameters.
CHUNK = 500


def _logged(event: Event) -> LoggedEvent:
    return LoggedEvent(
        id=event.id,
        type=event.type,
        created_at=ensure_utc(event.created_at),
        conversation_id=event.conversation_id,
        team_id=event.team_id,
        actor_user_id=event.actor_user_id,
        data=event.data or {},
    )


def period_of_type(account_id: int, type_: str, start: datetime, end: datetime) -> Select[Event]:
    """Events of one type in [start, end), oldest first."""
    return (
        select(Event)
        .where(
            Event.account_id == account_id,
            Event.type == type_,
            Event.created_at >= start,
            Event.created_at < end,
        )
        .order_by(Event.created_at, Event.id)
    )


async def arrivals(
    session: AsyncSession, account_id: int, start: datetime, end: datetime
) -> list[LoggedEvent]:
    """``work_item.queued`` events in ``[start, end)``."""
    return [
        _logged(e) for e in await session.scalars(period_of_type(account_id, QUEUED, start, end))
    ]


async def arrival_times(
    session: AsyncSession, account_id: int, start: datetime, end: datetime
) -> list[datetime]:
    rows = await session.scalars(
        select(Event.created_at).where(
            Event.account_id == account_id,
            Event.type == QUEUED,
            Event.created_at >= start,
            Event.created_at < end,
        )
    )
    return [ensure_utc(t) for t in rows]


async def conversation_events(
    session: AsyncSession, account_id: int, conversation_ids: Sequence[int], since: datetime
) -> list[LoggedEvent]:
    """The events reports read of these conversations from ``since`` on."""
    ids = sorted(set(conversation_ids))
    found: list[LoggedEvent] = []
    for i in range(0, len(ids), CHUNK):
        rows = await session.scalars(
            select(Event).where(
                Event.account_id == account_id,
                Event.conversation_id.in_(ids[i : i + CHUNK]),
                Event.type.in_(CONVERSATION_TYPES),
                Event.created_at >= since,
            )
        )
        found.extend(_logged(e) for e in rows)
    return found


async def channels_of(
    session: AsyncSession, account_id: int, item_ids: Sequence[int]
) -> dict[int, str]:
    ids = sorted(set(item_ids))
    channels: dict[int, str] = {}
    for i in range(0, len(ids), CHUNK):
        rows = await session.execute(
            select(WorkItem.id, WorkItem.channel).where(
                WorkItem.account_id == account_id, WorkItem.id.in_(ids[i : i + CHUNK])
            )
        )
        channels.update({item_id: channel for item_id, channel in rows})
    return channels


async def presence_changes(
    session: AsyncSession, account_id: int, start: datetime, end: datetime
) -> list[LoggedEvent]:
    rows = await session.scalars(period_of_type(account_id, PRESENCE_CHANGED, start, end))
    return [_logged(e) for e in rows]


async def labels(session: AsyncSession, account_id: int) -> dict[str, dict[str, str]]:
    """Names of the account's queues, teams and users by id (as strings)."""
    queues = await session.execute(
        select(Queue.id, Queue.name).where(Queue.account_id == account_id)
    )
    teams = await session.execute(select(Team.id, Team.name).where(Team.account_id == account_id))
    users = await session.execute(select(User.id, User.name).where(User.account_id == account_id))
    return {
        "queue": {str(i): name for i, name in queues},
        "team": {str(i): name for i, name in teams},
        "agent": {str(i): name for i, name in users},
    }


async def team_members(session: AsyncSession, account_id: int) -> dict[str, set[str]]:
    rows = await session.execute(
        select(TeamMember.team_id, TeamMember.user_id)
        .join(Team, Team.id == TeamMember.team_id)
        .where(Team.account_id == account_id)
    )
    members: dict[str, set[str]] = {}
    for team_id, user_id in rows:
        members.setdefault(str(team_id), set()).add(str(user_id))
    return members


async def presence_at(
    session: AsyncSession,
    account_id: int,
    at: datetime,
    changes: Sequence[LoggedEvent],
    *,
    page: int = 500,
) -> dict[int, str]:
    """Each agent's presence at ``at``, given ``changes``, the presence changes from ``at``
    on (in order) that the caller read: the first one's ``previous``; an agent with none has
    the presence of their state row when it is older than ``at``, else the ``previous`` of
    their first change after the read ones."""
    found: dict[int, str] = {}
    for event in changes:
        agent, previous = event.data.get("user_id"), event.data.get("previous")
        if isinstance(agent, int) and agent not in found and isinstance(previous, str):
            found[agent] = previous
    states = await session.execute(
        select(AgentState.user_id, AgentState.presence, AgentState.since).where(
            AgentState.account_id == account_id
        )
    )
    later: set[int] = set()
    for user_id, presence, since in states:
        if user_id in found:
            continue
        if ensure_utc(since) <= at:
            found[user_id] = presence
        else:
            later.add(user_id)
    last = changes[-1] if changes else None
    cursor, last_id = (last.created_at, last.id) if last else (at, 0)
    while later:  # rare: an agent whose state changed after the period but not within it
        rows = await session.scalars(
            select(Event)
            .where(
                Event.account_id == account_id,
                Event.type == PRESENCE_CHANGED,
                or_(
                    Event.created_at > cursor,
                    and_(Event.created_at == cursor, Event.id > last_id),
                ),
            )
            .order_by(Event.created_at, Event.id)
            .limit(page)
        )
        batch = [_logged(e) for e in rows]
        if not batch:
            break
        for event in batch:
            agent, previous = event.data.get("user_id"), event.data.get("previous")
            if agent in later and isinstance(previous, str):
                found[agent] = previous
                later.discard(agent)
        cursor, last_id = batch[-1].created_at, batch[-1].id
    return found
