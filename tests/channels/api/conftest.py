"""The app on a frozen clock with no embedded job runner: tests run jobs with run_once()."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from omnidesk.app import create_app
from omnidesk.inboxes.models import Inbox
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.settings import JobSettings, Settings
from tests.channels.api.receiver import Receiver
from tests.conftest import Tenant


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    jobs = JobSettings(max_attempts=4, backoff_base_s=10, backoff_max_s=600, lease_s=60)
    return settings.model_copy(update={"jobs": jobs, "webhook_timeout_s": 2.0})


@pytest.fixture
async def app(settings: Settings, frozen: FrozenClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=frozen, run_jobs=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def runner(app: FastAPI) -> JobRunner:
    jobs: JobRunner = app.state.container.jobs
    return jobs


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    yield started
    await started.stop()


async def make_api_inbox(
    client: httpx.AsyncClient, tenant: Tenant, webhook_url: str | None, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/inboxes",
        json={
            "name": "CRM",
            "channel_type": "api",
            "config": {"webhook_url": webhook_url},
            **extra,
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def post_inbound(
    client: httpx.AsyncClient, tenant: Tenant, inbox_id: int, **payload: Any
) -> httpx.Response:
    body = {"external_id": "m-1", "sender": {"external_id": "cust-1"}, "body": "Hello"}
    body.update(payload)
    return await client.post(
        f"/api/v1/inboxes/{inbox_id}/messages", json=body, headers=tenant.headers
    )


async def reply(
    client: httpx.AsyncClient, tenant: Tenant, conversation_id: int, text: str
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": text},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()
    return message


async def make_email_inbox(db: Database, tenant: Tenant) -> int:
    """An inbox of another channel in the tenant's account (made directly: no adapter)."""
    now = datetime.now(UTC)
    async with db.transaction() as session:
        inbox = Inbox(
            account_id=tenant.account_id,
            name="Support mail",
            channel_type="email",
            config={},
            secrets_encrypted="",
            created_at=now,
            updated_at=now,
        )
        session.add(inbox)
        await session.flush()
        return inbox.id
