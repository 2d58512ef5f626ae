"""The outbox: side effects written in the same transaction as the change that needs them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.jobs.models import Job
from omnidesk.kit.clock import Clock
from omnidesk.kit.db import after_commit

#: Set by bootstrap: wakes the job runner after a commit that added due work.
_wakers: list[Any] = []


def add_waker(waker: Any) -> None:
    _wakers.append(waker)


def remove_waker(waker: Any) -> None:
    if waker in _wakers:
        _wakers.remove(waker)


async def _wake() -> None:
    for waker in list(_wakers):
        waker()


async def enqueue(
    session: AsyncSession,
    clock: Clock,
    *,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str,
    account_id: int | None = None,
    due_at: datetime | None = None,
) -> Job:
    """Add durable work; the same ``idempotency_key`` twice keeps the first job."""
    existing = await session.scalar(select(Job).where(Job.idempotency_key == idempotency_key))
    if existing is not None:
        return existing
    now = clock.now()
    job = Job(
        account_id=account_id,
        kind=kind,
        payload=payload,
        idempotency_key=idempotency_key,
        status="pending",
        attempts=0,
        due_at=due_at or now,
        created_at=now,
    )
    session.add(job)
    await session.flush()
    if job.due_at <= now:
        after_commit(session, _wake)
    return job


def requeue(session: AsyncSession, clock: Clock, job: Job) -> None:
    """Give a dead job a fresh start: pending, due now, attempts reset (admin retry)."""
    job.status = "pending"
    job.attempts = 0
    job.due_at = clock.now()
    job.locked_until = None
    job.finished_at = None
    after_commit(session, _wake)
