"""A real server with the router on a frozen clock, and a desk of agents on websockets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from omnidesk.kit.clock import FrozenClock
from omnidesk.settings import Settings
from tests.conftest import Tenant, make_tenant
from tests.realtime.conftest import TIMEOUT_S, LiveServer, serve
from tests.routing.live import Desk, routed


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def server(settings: Settings, frozen: FrozenClock) -> AsyncIterator[LiveServer]:
    async with serve(routed(settings), frozen) as live:
        yield live


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=server.base_url, trust_env=False, timeout=TIMEOUT_S
    ) as http:
        yield http


@pytest.fixture
async def tenant(server: LiveServer) -> Tenant:
    return await make_tenant(server.db, "Acme")


@pytest.fixture
async def desk(server: LiveServer, client: httpx.AsyncClient, tenant: Tenant) -> Desk:
    desk = Desk(server, client, tenant)
    await desk.open()
    return desk
