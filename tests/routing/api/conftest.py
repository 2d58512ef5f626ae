"""Routing API tests: the real app on a frozen clock, and helpers that speak the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from omnidesk.app import create_app
from omnidesk.events.models import Event
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.settings import Settings

API = "/api/v1/routing"


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def app(settings: Settings, frozen: FrozenClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=frozen, run_jobs=False)
    async with application.router.lifespan_context(application):
        yield application


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def refused(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """A 4xx in the one error shape, naming ``field`` when given."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) >= {"code", "message", "field"}
    if field is not None:
        assert body["field"] == field, body
    return body


async def events_of(db: Database, account_id: int, prefix: str = "") -> list[Event]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(Event).where(Event.account_id == account_id).order_by(Event.id)
        )
        return [e for e in rows.all() if e.type.startswith(prefix)]
