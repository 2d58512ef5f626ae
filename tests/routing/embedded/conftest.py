"""The real app with its embedded router on a frozen clock: tests move the clock and wait for
the router's rounds instead of sleeping."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from omnidesk.app import create_app
from omnidesk.kit.clock import FrozenClock
from omnidesk.settings import RoutingSettings, Settings
from tests.conftest import Tenant
from tests.routing.embedded.support import Desk


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def app(settings: Settings, frozen: FrozenClock) -> AsyncIterator[FastAPI]:
    # A long sweep: rounds come from committed changes and from the tests, not from time.
    routing = RoutingSettings(embedded=True, sweep_s=3600)
    application = create_app(settings.model_copy(update={"routing": routing}), clock=frozen)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def desk(client: httpx.AsyncClient, app: FastAPI, tenant: Tenant) -> Desk:
    desk = Desk(client, app, tenant)
    await desk.open()
    return desk
