"""The app on a frozen clock, its Telegram Bot API a fake on loopback; tests run jobs with
run_once()."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from omnidesk.app import create_app
from omnidesk.conversations.models import Message
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.settings import JobSettings, Settings
from tests.channels.telegram.fake import TOKEN, FakeBotApi
from tests.conftest import Tenant

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "webhook-secret-0123456789abcdef"
PUBLIC_URL = "https://desk.example.com"


def payload(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return loaded


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    started = await FakeBotApi().start()
    yield started
    await started.stop()


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings(settings: Settings, bot_api: FakeBotApi) -> Settings:
    jobs = JobSettings(max_attempts=4, backoff_base_s=10, backoff_max_s=600, lease_s=60)
    return settings.model_copy(
        update={
            "jobs": jobs,
            "webhook_timeout_s": 2.0,
            "public_url": PUBLIC_URL,
            "telegram_api_url": bot_api.url,
        }
    )


@pytest.fixture
async def app(settings: Settings, frozen: FrozenClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=frozen, run_jobs=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def runner(app: FastAPI) -> JobRunner:
    jobs: JobRunner = app.state.container.jobs
    return jobs


async def make_telegram_inbox(
    client: httpx.AsyncClient, tenant: Tenant, **secrets: str
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/inboxes",
        json={
            "name": "Telegram",
            "channel_type": "telegram",
            "secrets": {"bot_token": TOKEN, "webhook_secret": SECRET, **secrets},
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliver_update(
    client: httpx.AsyncClient, inbox_id: int, update: Any, secret: str | None = SECRET
) -> httpx.Response:
    """POST an update the way Telegram does: JSON, with the secret token header."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    content = update if isinstance(update, bytes) else json.dumps(update).encode()
    return await client.post(
        f"/api/v1/webhooks/telegram/{inbox_id}", content=content, headers=headers
    )


async def stored(db: Database) -> list[Message]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Message).order_by(Message.id)))
