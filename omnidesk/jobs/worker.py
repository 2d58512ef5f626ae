"""``omnidesk worker``: the job runner alone, for scale-out deployments.

Run any number of them next to ``omnidesk serve`` processes started with
``OMNIDESK_JOBS__EMBEDDED=false``; on PostgreSQL they share the job table safely. SIGTERM
or SIGINT stops claiming, lets running jobs finish for a while, and exits.
"""

from __future__ import annotations

import asyncio
import signal

import structlog
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from omnidesk import bootstrap
from omnidesk.kit.db import create_null_pool_engine
from omnidesk.kit.migrate import alembic_config
from omnidesk.settings import Settings

log = structlog.get_logger(__name__)

#: Exit status when the schema is behind the code: run `omnidesk migrate` first.
EXIT_SCHEMA_OUTDATED = 3


async def schema_is_current(url: str) -> bool:
    """True when the database is at the code's migration head."""
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())

    def current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    engine = create_null_pool_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(current) == heads
    finally:
        await engine.dispose()


async def run_worker(
    settings: Settings, *, stop: asyncio.Event | None = None, shutdown_timeout_s: float = 30.0
) -> int:
    """Run jobs until ``stop`` is set or a signal arrives; returns the exit status."""
    if not await schema_is_current(settings.database_url):
        log.error("schema_outdated", hint="run `omnidesk migrate` first")
        return EXIT_SCHEMA_OUTDATED
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    container = bootstrap.build_container(settings)
    try:
        await bootstrap.start(container, run_jobs=True)
        log.info("worker_started", concurrency=settings.jobs.concurrency)
        await stop.wait()
        log.info("worker_stopping")
        if container.jobs is not None:
            await container.jobs.stop(timeout_s=shutdown_timeout_s)
    finally:
        await bootstrap.stop(container)
        for sig in signals:
            loop.remove_signal_handler(sig)
    return 0
