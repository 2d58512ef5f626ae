from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from omnidesk.app import create_app
from omnidesk.bootstrap import Container
from omnidesk.kit.clock import FrozenClock
from omnidesk.settings import Settings
from tests.conftest import make_tenant
from tests.conversations.conftest import MakeContact

START = FrozenClock().now()


@pytest.fixture
async def frozen_app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=FrozenClock(START), run_jobs=False)
    async with application.router.lifespan_context(application):
        yield application


async def test_the_job_runner_wakes_a_snoozed_conversation_when_due(
    frozen_app: FastAPI, make_contact: MakeContact
) -> None:
    container: Container = frozen_app.state.container
    clock = container.clock
    assert isinstance(clock, FrozenClock)
    assert container.jobs is not None
    tenant = await make_tenant(container.db)
    transport = httpx.ASGITransport(app=frozen_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        created = await client.post(
            "/api/v1/conversations",
            json={"contact_id": await make_contact(tenant)},
            headers=tenant.headers,
        )
        cid = created.json()["id"]
        until = (START + timedelta(hours=3)).isoformat()
        await client.patch(
            f"/api/v1/conversations/{cid}",
            json={"status": "snoozed", "snoozed_until": until},
            headers=tenant.headers,
        )
        clock.advance(timedelta(hours=2, minutes=59))
        assert await container.jobs.run_once() == 0
        clock.advance(timedelta(minutes=2))
        assert await container.jobs.run_once() == 1
        conversation = (
            await client.get(f"/api/v1/conversations/{cid}", headers=tenant.headers)
        ).json()
    assert conversation["status"] == "open"
    assert conversation["snoozed_until"] is None
