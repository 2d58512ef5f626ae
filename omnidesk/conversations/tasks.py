"""Background work of the conversations context, run by the job runner."""

from __future__ import annotations

from omnidesk.conversations import service
from omnidesk.jobs.models import Job
from omnidesk.jobs.runner import JobContext, JobRunner


async def wake_snoozed(ctx: JobContext, job: Job) -> None:
    await service.wake(ctx.session, ctx.clock, int(job.payload["conversation_id"]))


def register(runner: JobRunner) -> None:
    runner.register(service.WAKE_JOB, wake_snoozed)
