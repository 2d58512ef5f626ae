"""Recording events. Every change in a service calls :func:`record` in its transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.events.models import AUDIENCES, Event
from omnidesk.kit.clock import Clock, SystemClock
from omnidesk.kit.db import PENDING_EVENTS_KEY

_system_clock = SystemClock()

#: ``session.info`` key: while set, every event recorded carries it as ``data["cause"]`` (an
#: automation rule's actions: the rule, the event that triggered it and the chain depth).
CAUSE_KEY = "omnidesk.events.cause"

#: Called with each event just recorded, in its transaction: a context that reacts to events
#: durably (automation) enqueues its work there. Registered at bootstrap.
Recorder = Callable[[AsyncSession, Event], Awaitable[None]]
_recorders: list[Recorder] = []


def add_recorder(recorder: Recorder) -> None:
    if recorder not in _recorders:
        _recorders.append(recorder)


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
    cause = session.info.get(CAUSE_KEY)
    if cause is not None:
        data = {**(data or {}), "cause": cause}
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
    for recorder in _recorders:
        await recorder(session, event)
    return event
