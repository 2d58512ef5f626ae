"""Job tests move a frozen clock; the app runs no embedded runner, so tests drive their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI

from omnidesk.app import create_app
from omnidesk.jobs import outbox
from omnidesk.kit.clock import Clock, FrozenClock
from omnidesk.kit.db import Database
from omnidesk.settings import JobSettings, Settings


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    jobs = JobSettings(
        max_attempts=3,
        backoff_base_s=10,
        backoff_max_s=25,
        lease_s=30,
        poll_interval_s=0.05,
        concurrency=4,
    )
    return settings.model_copy(update={"jobs": jobs})


@pytest.fixture
async def app(settings: Settings, frozen: FrozenClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=frozen, run_jobs=False)
    async with application.router.lifespan_context(application):
        yield application


async def add_job(
    db: Database,
    clock: Clock,
    key: str,
    *,
    kind: str = "test.work",
    account_id: int | None = None,
    due_at: datetime | None = None,
    payload: dict[str, Any] | None = None,
) -> int:
    async with db.transaction() as session:
        job = await outbox.enqueue(
            session,
            clock,
            kind=kind,
            payload=payload or {},
            idempotency_key=key,
            account_id=account_id,
            due_at=due_at,
        )
        return job.id
