"""``omnidesk worker``: the job runner alone, for scale-out deployments.

Run any number of them next to ``omnidesk serve`` processes started with
``OMNIDESK_JOBS__EMBEDDED=false``; on PostgreSQL they share the job table safely. With
``OMNIDESK_EMAIL__EMBEDDED=false`` they also run the email channel's SMTP listener and IMAP
pollers (docs/channels/email.md). SIGTERM
or SIGINT stops claiming, lets running jobs finish for a while, and exits.
"""

from __future__ import annotations

import asyncio

from omnidesk import bootstrap
from omnidesk.bootstrap import EXIT_SCHEMA_OUTDATED, schema_is_current
from omnidesk.settings import Settings

__all__ = ["EXIT_SCHEMA_OUTDATED", "run_worker", "schema_is_current"]


async def run_worker(
    settings: Settings, *, stop: asyncio.Event | None = None, shutdown_timeout_s: float = 30.0
) -> int:
    """Run jobs until ``stop`` is set or a signal arrives; returns the exit status."""

    async def finish_jobs(container: bootstrap.Container) -> None:
        if container.jobs is not None:
            await container.jobs.stop(timeout_s=shutdown_timeout_s)

    return await bootstrap.run_alone(
        settings,
        "worker",
        run_jobs=True,
        # The SMTP listener and IMAP pollers, when `omnidesk serve` does not run them.
        run_email=not settings.email.embedded,
        until=stop,
        stopping=finish_jobs,
        concurrency=settings.jobs.concurrency,
    )
