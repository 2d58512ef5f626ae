"""The real app with its embedded router on a frozen clock, for reports over a scripted day."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from omnidesk.app import create_app
from omnidesk.kit.clock import FrozenClock
from omnidesk.settings import RoutingSettings, Settings


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock()  # Monday 5 January 2026, 09:00 UTC


@pytest.fixture
async def app(settings: Settings, frozen: FrozenClock) -> AsyncIterator[FastAPI]:
    # A long sweep: rounds come from committed changes and from the test, not from time.
    routing = RoutingSettings(embedded=True, sweep_s=3600)
    application = create_app(settings.model_copy(update={"routing": routing}), clock=frozen)
    async with application.router.lifespan_context(application):
        yield application
