"""Durable timers: work due at a time (snooze wake-up, SLA clocks, follow-ups).

A timer is a job with a ``due_at`` in the future and a key that names what it is for, so
that it can be rescheduled or cancelled (un-snoozing cancels the wake-up).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.jobs.models import Job
from omnidesk.jobs.outbox import enqueue
from omnidesk.kit.clock import Clock


async def schedule(
    session: AsyncSession,
    clock: Clock,
    *,
    kind: str,
    key: str,
    due_at: datetime,
    payload: dict[str, Any],
    account_id: int | None = None,
) -> Job:
    """(Re)schedule the timer named ``key``: a pending one moves, a finished one is replaced."""
    idempotency_key = f"{key}@{due_at.isoformat()}"
    await cancel(session, key=key, keep=idempotency_key)
    existing = await session.scalar(select(Job).where(Job.idempotency_key == idempotency_key))
    if existing is not None:
        if existing.status == "cancelled":
            existing.status = "pending"
        return existing
    return await enqueue(
        session,
        clock,
        kind=kind,
        payload=payload,
        idempotency_key=idempotency_key,
        account_id=account_id,
        due_at=due_at,
    )


async def cancel(session: AsyncSession, *, key: str, keep: str | None = None) -> int:
    """Cancel every pending timer named ``key`` (but ``keep``); returns how many there were."""
    rows = await session.scalars(
        select(Job).where(
            Job.idempotency_key.startswith(f"{key}@", autoescape=True), Job.status == "pending"
        )
    )
    count = 0
    for job in rows:
        if job.idempotency_key != keep:
            job.status = "cancelled"
            count += 1
    return count
