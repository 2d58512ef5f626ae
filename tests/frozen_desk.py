"""The app on a frozen clock with an account and an inbox, for suites that move time by hand
(SLA clocks, automation rules): the fixtures and the calls they share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from omnidesk.app import create_app
from omnidesk.bootstrap import Container
from omnidesk.channels.base import Inbound, InboundSender
from omnidesk.conversations import service as conversations
from omnidesk.events.models import Event
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.settings import Settings
from tests.conftest import Tenant, make_tenant

#: A Monday, 09:00 UTC.
START = datetime.fromisoformat("2026-01-05T09:00:00+00:00")


@dataclass
class FrozenDesk:
    """The app on a frozen clock, an account with an inbox, and ways to act on it."""

    app: FastAPI
    client: httpx.AsyncClient
    tenant: Tenant
    clock: FrozenClock
    inbox: Inbox

    @property
    def container(self) -> Container:
        container: Container = self.app.state.container
        return container

    async def call(
        self,
        method: str,
        url: str,
        *,
        expect: int = 200,
        tenant: Tenant | None = None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> Any:
        response = await self.client.request(
            method, url, headers=headers or (tenant or self.tenant).headers, **kw
        )
        assert response.status_code == expect, response.text
        return None if response.status_code == 204 else response.json()

    async def get(self, conversation_id: int) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", f"/api/v1/conversations/{conversation_id}")
        return result

    async def receive(self, *, email: str, name: str, message_id: str, body: str) -> int:
        """A customer's email in the inbox; the conversation it landed in."""
        async with self.container.db.transaction() as session:
            inbox = await session.get(Inbox, self.inbox.id)
            assert inbox is not None
            result = await conversations.receive_inbound(
                session,
                self.clock,
                inbox=inbox,
                inbound=Inbound(
                    channel_message_id=message_id,
                    sender=InboundSender(kind="email", value=email, name=name),
                    body=body,
                ),
            )
            return result.conversation.id

    async def events(self, type_: str) -> list[Event]:
        async with self.container.db.transaction() as session:
            rows = await session.scalars(
                select(Event)
                .where(Event.account_id == self.tenant.account_id, Event.type == type_)
                .order_by(Event.id)
            )
            return list(rows)


D = TypeVar("D", bound=FrozenDesk)


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


def desk_fixture(cls: type[D]) -> Callable[..., AsyncIterator[D]]:
    """A ``desk`` fixture giving a suite's own :class:`FrozenDesk`."""

    @pytest.fixture
    async def desk(
        frozen_app: FastAPI, make_inbox: Callable[[Tenant], Awaitable[Inbox]]
    ) -> AsyncIterator[D]:
        container: Container = frozen_app.state.container
        clock = container.clock
        assert isinstance(clock, FrozenClock)
        tenant = await make_tenant(container.db)
        inbox = await make_inbox(tenant)
        transport = httpx.ASGITransport(app=frozen_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield cls(frozen_app, client, tenant, clock, inbox)

    return desk
