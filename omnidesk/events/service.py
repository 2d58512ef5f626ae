"""Recording events. Every change in a service calls :func:`record` in its transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.events.models import AUDIENCES, Event
from omnidesk.kit.clock import Clock, SystemClock
from omnidesk.kit.db import PENDING_EVENTS_KEY

_system_clock = SystemClock()


async def record(
    session: AsyncSession,
    *,
    account_id: int,
    type: str,
    data: dict[str, Any] | None = None,
    audience: str = "account",
    conversation_id: int | None = None,
    contact_id: int | None = None,
    assignee_id: int | None = None,
    team_id: int | None = None,
    actor_user_id: int | None = None,
    clock: Clock | None = None,
) -> Event:
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    event = Event(
        account_id=account_id,
        type=type,
        audience=audience,
        conversation_id=conversation_id,
        contact_id=contact_id,
        assignee_id=assignee_id,
        team_id=team_id,
        actor_user_id=actor_user_id,
        data=data or {},
        created_at=(clock or _system_clock).now(),
    )
    # Inserted with the next flush (at the latest the commit's), many events in one statement.
    session.add(event)
    session.info.setdefault(PENDING_EVENTS_KEY, []).append(event)
    return event
