from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from omnidesk.app import create_app
from omnidesk.bootstrap import Container
from omnidesk.channels.base import Inbound, InboundSender
from omnidesk.conversations import service as conversations
from omnidesk.events.models import Event
from omnidesk.inboxes.models import Inbox
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.settings import Settings
from tests.conftest import Tenant, make_tenant
from tests.conversations.conftest import make_contact, make_inbox

__all__ = ["make_contact", "make_inbox"]

#: A Monday, 09:00 UTC.
START = datetime.fromisoformat("2026-01-05T09:00:00+00:00")


@dataclass
class Desk:
    """The app on a frozen clock, an account, and ways to act on it."""

    app: FastAPI
    client: httpx.AsyncClient
    tenant: Tenant
    clock: FrozenClock
    inbox: Inbox

    @property
    def container(self) -> Container:
        container: Container = self.app.state.container
        return container

    @property
    def jobs(self) -> JobRunner:
        assert self.container.jobs is not None
        return self.container.jobs

    async def call(
        self, method: str, url: str, *, expect: int = 200, tenant: Tenant | None = None, **kw: Any
    ) -> Any:
        response = await self.client.request(
            method, url, headers=(tenant or self.tenant).headers, **kw
        )
        assert response.status_code == expect, response.text
        return None if response.status_code == 204 else response.json()

    async def policy(self, **body: Any) -> dict[str, Any]:
        body.setdefault("name", "Standard")
        result: dict[str, Any] = await self.call(
            "POST", "/api/v1/sla/policies", json=body, expect=201
        )
        return result

    async def conversation(self, contact_id: int, priority: str = "normal") -> int:
        created = await self.call(
            "POST",
            "/api/v1/conversations",
            json={"contact_id": contact_id, "inbox_id": self.inbox.id, "priority": priority},
            expect=201,
        )
        return int(created["id"])

    async def get(self, conversation_id: int) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", f"/api/v1/conversations/{conversation_id}")
        return result

    async def target(self, conversation_id: int, kind: str) -> dict[str, Any]:
        sla = (await self.get(conversation_id))["sla"]
        assert sla is not None
        [found] = [t for t in sla["targets"] if t["kind"] == kind]
        return dict(found)

    async def patch(self, conversation_id: int, **body: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(
            "PATCH", f"/api/v1/conversations/{conversation_id}", json=body
        )
        return result

    async def reply(self, conversation_id: int, body: str = "On it") -> None:
        await self.call(
            "POST",
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"body": body},
            expect=201,
        )

    async def customer_writes(self, email: str, message_id: str, body: str = "Hello?") -> int:
        async with self.container.db.transaction() as session:
            inbox = await session.get(Inbox, self.inbox.id)
            assert inbox is not None
            result = await conversations.receive_inbound(
                session,
                self.clock,
                inbox=inbox,
                inbound=Inbound(
                    channel_message_id=message_id,
                    sender=InboundSender(kind="email", value=email, name="Carla"),
                    body=body,
                ),
            )
            return result.conversation.id

    async def events(self, type_: str) -> list[Event]:
        from sqlalchemy import select

        async with self.container.db.transaction() as session:
            rows = await session.scalars(
                select(Event)
                .where(Event.account_id == self.tenant.account_id, Event.type == type_)
                .order_by(Event.id)
            )
            return list(rows)


MakeDesk = Callable[[], Awaitable[Desk]]


@pytest.fixture
async def frozen_app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=FrozenClock(START), run_jobs=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def db(frozen_app: FastAPI) -> Database:
    """The frozen app's database (instead of a second app's)."""
    database: Database = frozen_app.state.container.db
    return database


@pytest.fixture
async def desk(
    frozen_app: FastAPI, make_inbox: Callable[[Tenant], Awaitable[Inbox]]
) -> AsyncIterator[Desk]:
    container: Container = frozen_app.state.container
    clock = container.clock
    assert isinstance(clock, FrozenClock)
    tenant = await make_tenant(container.db)
    inbox = await make_inbox(tenant)
    transport = httpx.ASGITransport(app=frozen_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Desk(frozen_app, client, tenant, clock, inbox)
