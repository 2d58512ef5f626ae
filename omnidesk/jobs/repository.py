"""Queries on the job table: claiming due work, settling attempts, the dead-letter list."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from omnidesk.jobs.models import Job


def _claimable(now: datetime) -> ColumnElement[bool]:
    # A running job whose lease ran out belongs to a worker that died or hung: take it over.
    return or_(
        and_(Job.status == "pending", Job.due_at <= now),
        and_(Job.status == "running", Job.locked_until < now),
    )


async def select_claimable(
    session: AsyncSession,
    *,
    now: datetime,
    kinds: Collection[str],
    limit: int,
    skip_locked: bool,
) -> list[Job]:
    """Due jobs of the given kinds, oldest first, locked for this transaction.

    With ``skip_locked`` (PostgreSQL) rows another worker is claiming right now are passed
    over instead of waited for, so concurrent workers never take the same job.
    """
    if limit <= 0 or not kinds:
        return []
    stmt = (
        select(Job)
        .where(_claimable(now), Job.kind.in_(list(kinds)))
        .order_by(Job.due_at, Job.id)
        .limit(limit)
    )
    if skip_locked:
        stmt = stmt.with_for_update(skip_locked=True)
    return list((await session.scalars(stmt)).all())


async def next_wake_at(session: AsyncSession, *, kinds: Collection[str]) -> datetime | None:
    """When something next becomes claimable: a pending job's due time or a lease's end."""
    if not kinds:
        return None
    due = await session.scalar(
        select(func.min(Job.due_at)).where(Job.status == "pending", Job.kind.in_(list(kinds)))
    )
    lease = await session.scalar(
        select(func.min(Job.locked_until)).where(Job.status == "running", Job.kind.in_(list(kinds)))
    )
    found = [t for t in (due, lease) if t is not None]
    return min(found) if found else None


async def settle(session: AsyncSession, job_id: int, attempt: int, **values: Any) -> bool:
    """Update a running job only if this attempt still owns it; False when it was lost.

    ``attempts`` is the fencing token: after a lease expires another worker re-claims the
    job and bumps it, so a late finisher cannot overwrite the newer attempt's outcome.
    """
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running", Job.attempts == attempt)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


async def get_job(session: AsyncSession, account_id: int, job_id: int) -> Job | None:
    return await session.scalar(select(Job).where(Job.account_id == account_id, Job.id == job_id))


async def list_jobs(
    session: AsyncSession,
    account_id: int,
    *,
    status: str | None,
    before_id: int | None,
    limit: int,
) -> Sequence[Job]:
    """Newest first; ``before_id`` is the cursor (the last id of the previous page)."""
    stmt = select(Job).where(Job.account_id == account_id)
    if status is not None:
        stmt = stmt.where(Job.status == status)
    if before_id is not None:
        stmt = stmt.where(Job.id < before_id)
    return (await session.scalars(stmt.order_by(Job.id.desc()).limit(limit))).all()
