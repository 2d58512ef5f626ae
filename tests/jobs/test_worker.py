"""`omnidesk worker`: only the runner, refusing an outdated schema, stopping on signals."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from omnidesk.jobs.models import Job
from omnidesk.jobs.worker import EXIT_SCHEMA_OUTDATED, run_worker, schema_is_current
from omnidesk.kit.clock import SystemClock
from omnidesk.kit.db import Database
from omnidesk.settings import Settings
from tests.conftest import PG_URL
from tests.jobs.conftest import add_job


async def test_the_worker_runs_jobs_until_told_to_stop(
    database_url: str, settings: Settings
) -> None:
    db = Database(database_url)
    try:
        # A delivery of a message that does not exist: the worker must take it and bury it.
        job_id = await add_job(
            db, SystemClock(), "message:999", kind="channel.deliver", payload={"message_id": 999}
        )
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(settings, stop=stop))
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline and status != "dead":
            await asyncio.sleep(0.05)
            async with db.sessionmaker() as session:
                job = await session.get(Job, job_id)
                status = job.status if job else None
        stop.set()
        assert await asyncio.wait_for(worker, 10) == 0
        assert status == "dead"
    finally:
        await db.dispose()


@pytest.mark.skipif(bool(PG_URL), reason="an empty database is made as a SQLite file")
async def test_the_worker_refuses_an_outdated_schema(tmp_path: Path, settings: Settings) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    assert not await schema_is_current(url)
    outdated = settings.model_copy(update={"database_url": url})
    assert await run_worker(outdated) == EXIT_SCHEMA_OUTDATED


async def test_the_schema_of_the_test_database_is_current(database_url: str) -> None:
    assert await schema_is_current(database_url)


@pytest.mark.slow
async def test_the_worker_command_stops_gracefully_on_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIDESK_")}
    env.update(
        OMNIDESK_ENVIRONMENT="test",
        OMNIDESK_DATABASE_URL=database_url,
        OMNIDESK_DATA_DIR=str(tmp_path / "data"),
        OMNIDESK_LOG_LEVEL="INFO",
    )
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "omnidesk", "worker", env=env, stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + 30
            while "job_runner_started" not in log_path.read_text(errors="replace"):
                assert process.returncode is None, log_path.read_text(errors="replace")
                assert time.monotonic() < deadline, "the worker did not start"
                await asyncio.sleep(0.1)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert "job_runner_stopped" in log_path.read_text(errors="replace")
