"""The app on a frozen clock, pointed at a loopback fake of Twilio; tests run jobs with
run_once(). Webhooks are signed as Twilio signs them (``sign``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from fastapi import FastAPI

from omnidesk.app import create_app
from omnidesk.channels.base import AdapterContext, WebhookRequest
from omnidesk.channels.sms.adapter import SmsChannel
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import FrozenClock
from omnidesk.settings import JobSettings, Settings
from tests.channels.sms.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    NUMBER,
    PAYLOADS,
    FakeTwilio,
)
from tests.conftest import Tenant

PUBLIC_URL = "https://desk.example.com"


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    fake = await FakeTwilio().start()
    yield fake
    await fake.stop()


@pytest.fixture
def settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    jobs = JobSettings(max_attempts=4, backoff_base_s=10, backoff_max_s=600, lease_s=60)
    return settings.model_copy(
        update={
            "jobs": jobs,
            "webhook_timeout_s": 2.0,
            "twilio_api_url": twilio.url,
            "public_url": PUBLIC_URL,
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


def context(twilio: FakeTwilio, inbox_id: int = 1, **config: Any) -> AdapterContext:
    return AdapterContext(
        inbox_id=inbox_id,
        account_id=1,
        config=config or {"phone_number": NUMBER},
        secrets={"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN},
        public_url=PUBLIC_URL,
        timeout_s=2.0,
        provider_urls={"twilio": twilio.url},
    )


def adapter(twilio: FakeTwilio, inbox_id: int = 1, **config: Any) -> SmsChannel:
    return SmsChannel(context(twilio, inbox_id, **config))


def twilio_signature(url: str, form: list[tuple[str, str]], token: str = AUTH_TOKEN) -> str:
    """Twilio's documented scheme, by hand: base64 HMAC-SHA1 of the URL followed by each
    parameter's name and value, sorted by name."""
    data = url + "".join(name + value for name, value in sorted(form))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def form_of(name: str, twilio: FakeTwilio | None = None) -> list[tuple[str, str]]:
    """A recorded payload, its media URLs moved to the fake when one is given."""
    text = (PAYLOADS / name).read_text()
    pairs = parse_qsl(text, keep_blank_values=True)
    if twilio is not None:
        pairs = [(k, v.replace("https://api.twilio.com", twilio.url)) for k, v in pairs]
    return pairs


def webhook_url(inbox_id: int) -> str:
    return f"{PUBLIC_URL}/api/v1/webhooks/sms/{inbox_id}"


def signed(
    form: list[tuple[str, str]], inbox_id: int = 1, *, signature: str | None = None
) -> WebhookRequest:
    url = webhook_url(inbox_id)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    headers["x-twilio-signature"] = signature or twilio_signature(url, form)
    return WebhookRequest("POST", url, headers, {}, urlencode(form).encode())


async def make_sms_inbox(
    client: httpx.AsyncClient, tenant: Tenant, **config: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/inboxes",
        json={
            "name": "Texts",
            "channel_type": "sms",
            "config": config or {"phone_number": NUMBER},
            "secrets": {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN},
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
