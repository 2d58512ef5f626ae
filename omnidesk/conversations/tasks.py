"""Background work of the conversations context, run by the job runner."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.conversations import service
from omnidesk.jobs.models import Job
from omnidesk.kit.clock import Clock


async def wake_snoozed(session: AsyncSession, clock: Clock, job: Job) -> None:
    await service.wake(session, clock, int(job.payload["conversation_id"]))
