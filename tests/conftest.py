"""Test fixtures: the real app on a real database (SQLite or PostgreSQL), real Redis.

``OMNIDESK_TEST_DATABASE_URL`` picks PostgreSQL (``postgresql+asyncpg://…``); a database of
its own is created for the run and every table is emptied between tests. Without it, each
test gets a copy of a migrated SQLite template. ``OMNIDESK_TEST_REDIS_URL`` is the Redis that
Redis-specific tests use; ``OMNIDESK_TEST_BROKER=redis`` also makes the app under test fan
events out through it (the scale-out set-up) instead of in memory (the embedded one). With
``CI=true`` a test that needs a missing service fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url

from omnidesk.accounts import service as accounts
from omnidesk.app import create_app
from omnidesk.kit.clock import SystemClock
from omnidesk.kit.db import Database, create_null_pool_engine
from omnidesk.kit.migrate import upgrade
from omnidesk.models import Base
from omnidesk.settings import JobSettings, RoutingSettings, Settings

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("OMNIDESK_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("OMNIDESK_TEST_REDIS_URL", "")
APP_USES_REDIS = os.environ.get("OMNIDESK_TEST_BROKER", "memory") == "redis"


def require_service(available: bool, reason: str) -> None:
    """Skip when a service is missing, except in CI where that is a failure."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database: a SQLite file to copy, or a PostgreSQL database to truncate."""
    if PG_URL:
        url = make_url(PG_URL)
        name = f"omnidesk_test_{uuid.uuid4().hex[:8]}"
        admin_url = url.set(database=url.database or "postgres")
        run_url = url.set(database=name).render_as_string(hide_password=False)

        async def create() -> None:
            engine = create_null_pool_engine(admin_url.render_as_string(hide_password=False))
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
            await engine.dispose()
            await upgrade(run_url)

        async def drop() -> None:
            engine = create_null_pool_engine(admin_url.render_as_string(hide_password=False))
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await engine.dispose()

        asyncio.run(create())
        yield run_url
        asyncio.run(drop())
        return
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    yield str(path)


async def _truncate_all(url: str) -> None:
    engine = create_null_pool_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture
async def database_url(database_template: str, tmp_path: Path) -> str:
    if PG_URL:
        await _truncate_all(database_template)
        return database_template
    target = tmp_path / "omnidesk.db"
    shutil.copyfile(database_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def redis_url() -> str:
    require_service(bool(REDIS_URL), "OMNIDESK_TEST_REDIS_URL is not set")
    return REDIS_URL


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=REDIS_URL if APP_USES_REDIS and REDIS_URL else None,
        # Parallel runs against one Redis must not hear each other's events.
        redis_key_prefix=f"omnidesk-test-{uuid.uuid4().hex}:",
        data_dir=tmp_path / "data",
        seed_demo=False,
        webhooks_allow_private_addresses=True,
        log_level="WARNING",
        # Tests drive the job runner themselves (run_once, with a clock they move); a runner
        # polling in the background on the real clock would race them. The router likewise
        # stays out of tests that are not about it (tests/routing/embedded/test_router.py runs it).
        jobs=JobSettings(embedded=False),
        routing=RoutingSettings(embedded=False),
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def db(app: FastAPI) -> Database:
    database: Database = app.state.container.db
    return database


@dataclass
class Tenant:
    """An account with an admin, and the admin's API token."""

    account_id: int
    admin_id: int
    token: str
    email: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_tenant(db: Database, name: str = "Acme") -> Tenant:
    from omnidesk.accounts.principal import Principal

    email = f"admin-{uuid.uuid4().hex[:8]}@{name.lower()}.example.com"
    password = "correct horse battery"
    clock = SystemClock()
    async with db.transaction() as session:
        account, admin = await accounts.create_account(
            session,
            clock,
            name=name,
            admin_email=email,
            admin_name="Admin",
            admin_password=password,
        )
        actor = Principal(account_id=account.id, user_id=admin.id, role="admin")
        _, token = await accounts.create_api_token(session, clock, actor, "tests")
    return Tenant(account.id, admin.id, token, email, password)


@pytest.fixture
async def tenant(db: Database) -> Tenant:
    return await make_tenant(db, "Acme")


@pytest.fixture
async def other_tenant(db: Database) -> Tenant:
    return await make_tenant(db, "Globex")


async def login_headers(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    """Log in through the API; the headers carry the session cookie and the CSRF token."""
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    cookie = response.cookies["omnidesk_session"]
    client.cookies.clear()  # each caller says who it is through its own headers
    return {"Cookie": f"omnidesk_session={cookie}", "X-CSRF-Token": response.json()["csrf_token"]}


async def make_user(
    client: httpx.AsyncClient, tenant: Tenant, role: str = "agent", name: str | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Create a user through the API; return it and headers that act as them."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    password = "agent password 1"
    response = await client.post(
        "/api/v1/users",
        json={"email": email, "name": name or role.title(), "role": role, "password": password},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return response.json(), await login_headers(client, email, password)
