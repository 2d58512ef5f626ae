"""Background work of the SLA context, run by the job runner."""

from __future__ import annotations

from omnidesk.jobs.models import Job
from omnidesk.jobs.runner import JobContext, JobRunner
from omnidesk.sla import service


async def check_clock(ctx: JobContext, job: Job) -> None:
    await service.check(ctx.session, ctx.clock, int(job.payload["clock_id"]))


def register(runner: JobRunner) -> None:
    runner.register(service.CHECK_JOB, check_clock)
