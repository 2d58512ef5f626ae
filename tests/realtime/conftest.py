"""The real app served by uvicorn on a loopback port, and websocket helpers.

Tests here talk to the server over real HTTP and websockets; ``tenant`` and ``client`` are
overridden so that they use the served app (its database, its broker), not the ASGI one.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from omnidesk.app import create_app
from omnidesk.bootstrap import Container
from omnidesk.kit.clock import Clock
from omnidesk.kit.db import Database
from omnidesk.realtime.hub import Hub
from omnidesk.settings import Settings
from tests.conftest import Tenant, make_tenant

#: How long a test waits for what must come (a frame, an answer) before failing: generous,
#: because both suites share the machine's cores; waits for silence are short and explicit.
TIMEOUT_S = 20.0


@dataclass
class LiveServer:
    app: FastAPI
    base_url: str

    @property
    def container(self) -> Container:
        container: Container = self.app.state.container
        return container

    @property
    def db(self) -> Database:
        return self.container.db

    @property
    def hub(self) -> Hub:
        assert self.container.hub is not None
        return self.container.hub

    @asynccontextmanager
    async def ws(
        self,
        *,
        query: str = "",
        headers: dict[str, str] | None = None,
        origin: str | None = None,
    ) -> AsyncIterator[ClientConnection]:
        url = self.base_url.replace("http://", "ws://") + "/ws" + (f"?{query}" if query else "")
        async with connect(
            url,
            additional_headers=headers,
            origin=Origin(origin) if origin else None,
            proxy=None,
            open_timeout=TIMEOUT_S,
            close_timeout=TIMEOUT_S,
        ) as websocket:
            yield websocket


@asynccontextmanager
async def serve(settings: Settings, clock: Clock | None = None) -> AsyncIterator[LiveServer]:
    """Start the app's lifespan, then uvicorn on a socket bound (and listening) beforehand,
    so that the server is usable as soon as this yields: no polling for readiness."""
    app = create_app(settings, clock=clock)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            lifespan="off",  # run below, so that startup has finished before we yield
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=int(TIMEOUT_S),
        )
        server = uvicorn.Server(config)
        async with app.router.lifespan_context(app):
            task = asyncio.create_task(server.serve(sockets=[sock]))
            try:
                yield LiveServer(app, f"http://127.0.0.1:{port}")
            finally:
                server.should_exit = True
                await task
    finally:
        sock.close()


@pytest.fixture
def live_settings(settings: Settings) -> Settings:
    # Account ids restart at 1 in every test database: a prefix of its own keeps this test's
    # Redis channels apart from any other run sharing the Redis server.
    return settings.model_copy(update={"redis_key_prefix": f"omnidesk-test-{uuid.uuid4().hex}:"})


@pytest.fixture
async def server(live_settings: Settings) -> AsyncIterator[LiveServer]:
    async with serve(live_settings) as live:
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
async def other_tenant(server: LiveServer) -> Tenant:
    return await make_tenant(server.db, "Globex")


async def receive(websocket: ClientConnection) -> dict[str, Any]:
    """The next server message, waiting at most TIMEOUT_S."""
    message = json.loads(await asyncio.wait_for(websocket.recv(), TIMEOUT_S))
    assert isinstance(message, dict)
    return message


async def next_event(websocket: ClientConnection) -> dict[str, Any]:
    """The next event (heartbeats and live statistics skipped)."""
    while True:
        message = await receive(websocket)
        if message["type"] == "event":
            event: dict[str, Any] = message["event"]
            return event
        assert message["type"] in ("heartbeat", "routing.stats"), message


async def close_code(websocket: ClientConnection) -> int:
    """Wait for the server to close the socket (messages before are dropped); its code."""
    async with asyncio.timeout(TIMEOUT_S):
        await websocket.wait_closed()
    assert websocket.close_code is not None
    return websocket.close_code
