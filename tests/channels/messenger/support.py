"""What the Messenger and Instagram tests share: the Graph fake, payloads, signatures, and
the app on a frozen clock calling the fake, whose jobs the tests run (``run_once``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from omnidesk.app import create_app
from omnidesk.channels import meta
from omnidesk.channels.base import AdapterContext, WebhookRequest
from omnidesk.conversations.models import Message
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.settings import AttachmentSettings, JobSettings, Settings
from tests.channels.messenger.graph_fake import TOKEN, GraphFake
from tests.conftest import Tenant

PAGE_ID = "104912345678901"
PSID = "6789012345678901"
IG_ID = "17841400000000000"
IGSID = "5432109876543210"
APP_SECRET = "app-secret-0123456789abcdef"
VERIFY_TOKEN = "vt_verify-token-for-tests"
SECRETS = {"page_access_token": TOKEN, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}
#: The CDN hosts the documented payloads name; tests serve them from the fake.
CDN_HOSTS = ("https://scontent.xx.fbcdn.net/", "https://lookaside.fbsbx.com/")
_TESTS = Path(__file__).parent.parent


def payload(channel: str, name: str, *, cdn: str | None = None) -> bytes:
    """A recorded webhook body; its CDN URLs pointed at ``cdn`` when given."""
    text = (_TESTS / channel / "payloads" / f"{name}.json").read_text()
    for host in CDN_HOSTS if cdn else ():
        text = text.replace(host, cdn.rstrip("/") + "/")
    # Re-serialised compactly, as Meta sends it: what is signed is these exact bytes.
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False).encode()


def signed(body: bytes, *, secret: str = APP_SECRET, url: str = "") -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        url=url or "https://desk.example.com/api/v1/webhooks/messenger/1",
        headers={
            "content-type": "application/json",
            meta.SIGNATURE_HEADER.lower(): meta.sign(secret, body),
        },
        query={},
        body=body,
    )


def context(config: dict[str, Any], *, secrets: dict[str, Any] | None = None) -> AdapterContext:
    return AdapterContext(
        inbox_id=1,
        account_id=1,
        config=config,
        secrets=SECRETS if secrets is None else secrets,
        public_url="https://desk.example.com",
        allow_private_addresses=True,
        timeout_s=0.5,
    )


@pytest.fixture
async def graph() -> AsyncIterator[GraphFake]:
    fake = GraphFake(
        objects={
            PAGE_ID: {"id": PAGE_ID, "name": "Acme Support"},
            IG_ID: {"id": IG_ID, "username": "acme", "name": "Acme"},
        }
    )
    await fake.start()
    yield fake
    await fake.stop()


@dataclass
class Environment:
    """The check's view of other inboxes: ids by (config key, value)."""

    taken: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    async def inboxes_with(self, key: str, value: str) -> list[int]:
        return self.taken.get((key, value), [])


# Through the app ----------------------------------------------------------------------


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings(settings: Settings, graph: GraphFake) -> Settings:
    """The app calls the Graph fake; retries are quick; files up to 1 KiB."""
    return settings.model_copy(
        update={
            "meta_graph_url": graph.url,
            "public_url": "https://desk.example.com",
            "webhook_timeout_s": 0.5,
            "attachments": AttachmentSettings(max_bytes=1024),
            "jobs": JobSettings(max_attempts=4, backoff_base_s=10, backoff_max_s=600, lease_s=60),
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


async def make_inbox(
    client: httpx.AsyncClient, tenant: Tenant, channel: str, config: dict[str, Any]
) -> dict[str, Any]:
    secrets = {k: v for k, v in SECRETS.items() if k != "verify_token"}
    response = await client.post(
        "/api/v1/inboxes",
        json={"name": channel, "channel_type": channel, "config": config, "secrets": secrets},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    inbox: dict[str, Any] = response.json()
    return inbox


async def post_webhook(
    client: httpx.AsyncClient,
    channel: str,
    inbox_id: int,
    body: bytes,
    *,
    secret: str | None = APP_SECRET,
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers[meta.SIGNATURE_HEADER] = meta.sign(secret, body)
    return await client.post(
        f"/api/v1/webhooks/{channel}/{inbox_id}", content=body, headers=headers
    )


async def stored(db: Database) -> list[Message]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Message).order_by(Message.id)))


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


async def message(db: Database, message_id: int) -> Message:
    async with db.transaction() as session:
        found = await session.get(Message, message_id)
    assert found is not None
    return found
