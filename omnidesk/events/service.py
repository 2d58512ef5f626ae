"""Recording events. Every change in a service calls :func:`record` in its transaction."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, func, insert, inspect, select
from sqlalchemy import event as orm_events
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

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
    if session.in_nested_transaction():
        # A savepoint may be rolled back: the unit of work keeps track of what it undoes.
        session.add(event)
    # Otherwise inserted just before the commit, all of the transaction's events in one
    # statement, without the unit of work: most transactions are mostly events, and the
    # flush's bookkeeping per row cost more than the rest of storing a message.
    session.info.setdefault(PENDING_EVENTS_KEY, []).append(event)
    return event


def _insert_pending(session: Session) -> None:
    """Before a (top-level) commit: the events not added to the session, in record order."""
    if session.in_nested_transaction():
        return
    pending = [
        e for e in session.info.get(PENDING_EVENTS_KEY, ()) if e.id is None and _transient(e)
    ]
    if not pending:
        return
    session.flush()  # the rows they refer to first; commit's own flush comes after this hook
    table = cast(Table, Event.__table__)
    rows = [{c: getattr(e, c) for c in _COLUMNS} for e in pending]
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # The transaction holds SQLite's write lock (BEGIN IMMEDIATE): the ids after the
        # current maximum are this transaction's to take, and one executemany inserts all.
        top = connection.scalar(select(func.max(table.c.id))) or 0
        for offset, (event, row) in enumerate(zip(pending, rows, strict=True), start=1):
            event.id = row["id"] = top + offset
        connection.execute(insert(table), rows)
        return
    ids = connection.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    ).scalars()
    for event, event_id in zip(pending, ids, strict=True):
        event.id = event_id


def _transient(event: Event) -> bool:
    return inspect(event).transient


_COLUMNS = tuple(c.key for c in Event.__table__.columns if c.key != "id")
orm_events.listen(Session, "before_commit", _insert_pending)
