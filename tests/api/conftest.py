"""The real app served by uvicorn in a thread, for synchronous clients (schemathesis)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from omnidesk.app import create_app
from omnidesk.kit.db import Database
from omnidesk.settings import Settings
from tests.conftest import Tenant, make_tenant


@dataclass
class ThreadedServer:
    base_url: str
    tenant: Tenant


async def _tenant(url: str) -> Tenant:
    db = Database(url)
    try:
        return await make_tenant(db, "Fuzz")
    finally:
        await db.dispose()


@pytest.fixture
def threaded_server(database_url: str, tmp_path: Path) -> Iterator[ThreadedServer]:
    settings = Settings(
        environment="test",
        database_url=database_url,
        data_dir=tmp_path / "data",
        seed_demo=False,
        log_level="ERROR",
        login_attempts_per_minute=100_000,
    )
    tenant = asyncio.run(_tenant(database_url))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_config=None, lifespan="on", ws="none")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.01)
    assert server.started, "the server did not start"
    try:
        yield ThreadedServer(base_url=f"http://127.0.0.1:{port}", tenant=tenant)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
