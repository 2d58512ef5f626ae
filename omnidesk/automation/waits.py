"""Time-based rules: a rule with a wait acts once its conditions have held for a while
("pending for 48 business hours", "no customer reply for 7 days").

Each trigger event of such a rule decides for its conversation: when the conditions match,
the rule's timer (a durable job, ``jobs.timers``) is (re)started from the event's instant;
when they do not, it is cancelled. When the timer comes due, the rule looks again at the
conversation's latest trigger event and its facts then, and acts only if they still match.
Nothing scans conversations: the only work is one timer row per waiting conversation and
rule, moved by the events that concern it (docs/automation.md, time-based rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.events.models import Event
from omnidesk.jobs import timers
from omnidesk.jobs.models import Job
from omnidesk.kit.clock import Clock
from omnidesk.routing import service as routing
from omnidesk.routing.models import BusinessHours
from omnidesk.sla import business_time
from omnidesk.sla.business_time import Calendar

log = structlog.get_logger(__name__)

WAKE_JOB = "automation.wake"
UNITS: dict[str, timedelta] = {
    "minutes": timedelta(minutes=1),
    "hours": timedelta(hours=1),
    "days": timedelta(days=1),
}


@dataclass(frozen=True)
class Wait:
    """How long a rule's conditions must hold: an amount of wall time, or of business time
    in one of the account's calendars."""

    amount: timedelta
    business_hours_id: int | None = None

    @classmethod
    def of(cls, raw: dict[str, Any] | None) -> Wait | None:
        """The wait a rule stores (``{"amount": 48, "unit": "hours", ...}``), checked at
        save time by its schema."""
        if not raw:
            return None
        calendar = raw.get("business_hours_id")
        return cls(
            int(raw["amount"]) * UNITS[str(raw["unit"])],
            int(calendar) if calendar is not None else None,
        )


def timer_key(rule_id: int, conversation_id: int) -> str:
    return f"automation.wait:{rule_id}:{conversation_id}"


async def calendar_of(session: AsyncSession, account_id: int, wait: Wait) -> Calendar:
    """The calendar the wait counts in; None (wall time) without one. A calendar deleted
    since the rule was saved counts as wall time, and says so in the log."""
    if wait.business_hours_id is None:
        return None
    row = await session.get(BusinessHours, wait.business_hours_id)
    if row is None or row.account_id != account_id:
        log.warning("automation_wait_calendar_gone", business_hours_id=wait.business_hours_id)
        return None
    return routing.schedule_of(row)


async def due_at(
    session: AsyncSession, account_id: int, wait: Wait, since: datetime
) -> datetime | None:
    """When a wait started at ``since`` ends; None when its calendar never opens again."""
    return business_time.add(await calendar_of(session, account_id, wait), since, wait.amount)


async def start(
    session: AsyncSession, clock: Clock, event: Event, rule_id: int, wait: Wait
) -> Job | None:
    """(Re)start the conversation's timer for the rule from ``event``'s instant."""
    assert event.conversation_id is not None
    due = await due_at(session, event.account_id, wait, event.created_at)
    key = timer_key(rule_id, event.conversation_id)
    if due is None:
        await timers.cancel(session, key=key)
        return None
    return await timers.schedule(
        session,
        clock,
        kind=WAKE_JOB,
        key=key,
        due_at=due,
        payload={
            "rule_id": rule_id,
            "conversation_id": event.conversation_id,
            "event_id": event.id,
        },
        account_id=event.account_id,
    )


async def stop(session: AsyncSession, rule_id: int, conversation_id: int) -> int:
    """Cancel the conversation's timer for the rule (its conditions stopped holding)."""
    return await timers.cancel(session, key=timer_key(rule_id, conversation_id))
