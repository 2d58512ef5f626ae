"""The app on a frozen clock, its Graph API a loopback fake; tests run jobs with run_once()."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from omnidesk.app import create_app
from omnidesk.channels import meta
from omnidesk.conversations.models import Message
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.settings import AttachmentSettings, JobSettings, Settings
from tests.channels.whatsapp.graph import PHONE_NUMBER_ID, TOKEN, WABA_ID, GraphApi, payload
from tests.conftest import Tenant

APP_SECRET = "9f1c2d3e4b5a69788796a5b4c3d2e1f0"
VERIFY_TOKEN = "omnidesk-verify-7Hq2"


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def graph() -> AsyncIterator[GraphApi]:
    started = await GraphApi().start()
    yield started
    await started.stop()


@pytest.fixture
def settings(settings: Settings, graph: GraphApi) -> Settings:
    jobs = JobSettings(embedded=False, max_attempts=4, backoff_base_s=10, backoff_max_s=600)
    return settings.model_copy(
        update={
            "jobs": jobs,
            "webhook_timeout_s": 1.0,
            "meta_graph_url": graph.url,
            "public_url": "https://desk.example.com",
            "attachments": AttachmentSettings(max_bytes=64 * 1024),
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


async def make_inbox(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/inboxes",
        json={
            "name": "WhatsApp",
            "channel_type": "whatsapp",
            "config": {
                "phone_number_id": PHONE_NUMBER_ID,
                "business_account_id": WABA_ID,
                "display_number": "+1 555-010-0199",
            },
            "secrets": {
                "access_token": TOKEN,
                "app_secret": APP_SECRET,
                "verify_token": VERIFY_TOKEN,
            },
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def post_webhook(
    client: httpx.AsyncClient,
    inbox_id: int,
    body: dict[str, Any] | str | bytes,
    *,
    signature: str | None = "sign",
) -> httpx.Response:
    """POST a webhook as Meta does; ``body`` is a payload file's name, a payload or bytes."""
    if isinstance(body, str):
        body = payload(body)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    if signature == "sign":
        headers[meta.SIGNATURE_HEADER] = meta.sign(APP_SECRET, raw)
    elif signature is not None:
        headers[meta.SIGNATURE_HEADER] = signature
    return await client.post(f"/api/v1/webhooks/whatsapp/{inbox_id}", content=raw, headers=headers)


async def stored(db: Database) -> list[Message]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Message).order_by(Message.id)))
