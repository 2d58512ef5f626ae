"""The crash test: replies queued in a server that is SIGKILLed are delivered exactly once.

A real ``omnidesk serve`` runs as a subprocess on the test database with an API inbox whose
webhook port is closed. Agents' replies fail and are retried; the server is killed without
warning; the receiver comes up; a new server starts. Every reply must then arrive exactly
once (one request per idempotency key) and be marked sent.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from sqlalchemy import select

from omnidesk.channels.api import signing
from omnidesk.conversations.models import Message
from omnidesk.jobs.models import Job
from omnidesk.kit.db import Database
from tests.channels.api.receiver import Receiver, free_port
from tests.conftest import make_tenant

pytestmark = pytest.mark.slow

REPLIES = 5
BOOT_TIMEOUT_S = 60
DELIVERY_TIMEOUT_S = 60


def _server_env(database_url: str, port: int, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIDESK_")}
    env.update(
        OMNIDESK_ENVIRONMENT="test",
        OMNIDESK_DATABASE_URL=database_url,
        OMNIDESK_SEED_DEMO="false",
        OMNIDESK_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES="true",
        OMNIDESK_HOST="127.0.0.1",
        OMNIDESK_PORT=str(port),
        OMNIDESK_DATA_DIR=str(data_dir),
        OMNIDESK_LOG_LEVEL="WARNING",
        OMNIDESK_WEBHOOK_TIMEOUT_S="2",
        OMNIDESK_JOBS__EMBEDDED="true",
        OMNIDESK_JOBS__BACKOFF_BASE_S="0.2",
        OMNIDESK_JOBS__BACKOFF_MAX_S="1",
        OMNIDESK_JOBS__POLL_INTERVAL_S="0.2",
        # Long enough that an attempt slowed by a loaded machine (a 2 s webhook timeout plus
        # a starved CPU) keeps its lease: a lease lost mid-attempt is a second delivery of
        # the same key, which this test would count as a duplicate.
        OMNIDESK_JOBS__LEASE_S="10",
        OMNIDESK_JOBS__MAX_ATTEMPTS="1000",
    )
    return env


class Server:
    """``omnidesk serve --no-migrate`` in a subprocess, its output in a log file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.base_url = f"http://127.0.0.1:{env['OMNIDESK_PORT']}"
        self.process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    async def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "omnidesk",
            "serve",
            "--no-migrate",
            env=self.env,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
        )
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    pytest.fail(f"the server exited at start:\n{self.tail()}")
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        pytest.fail(f"the server did not start in {BOOT_TIMEOUT_S}s:\n{self.tail()}")

    async def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no lease released, nothing flushed."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
        await self._reap()

    async def terminate(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
        await self._reap()

    async def _reap(self) -> None:
        if self.process is not None:
            await self.process.wait()
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


async def _eventually(
    check: Callable[[], Awaitable[bool]], timeout_s: float, what: str, server: Server
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}:\n{server.tail()}")


async def test_replies_survive_a_killed_server(database_url: str, tmp_path: Path) -> None:
    db = Database(database_url)
    tenant = await make_tenant(db, "Crashco")
    target_port = free_port()
    server = Server(_server_env(database_url, free_port(), tmp_path / "data"), tmp_path / "log")
    receiver = Receiver(port=target_port)
    try:
        await server.start()
        async with httpx.AsyncClient(
            base_url=server.base_url, headers=tenant.headers, timeout=10
        ) as api:
            inbox = await api.post(
                "/api/v1/inboxes",
                json={
                    "name": "CRM",
                    "channel_type": "api",
                    "config": {"webhook_url": f"http://127.0.0.1:{target_port}/hook"},
                },
            )
            assert inbox.status_code == 201, inbox.text
            secret = inbox.json()["secret"]
            inbound = await api.post(
                f"/api/v1/inboxes/{inbox.json()['id']}/messages",
                json={"external_id": "in-1", "sender": {"external_id": "c-1"}, "body": "Help"},
            )
            assert inbound.status_code == 201, inbound.text
            conversation_id = inbound.json()["conversation_id"]
            message_ids = []
            for n in range(REPLIES):
                sent = await api.post(
                    f"/api/v1/conversations/{conversation_id}/messages",
                    json={"body": f"reply {n}"},
                )
                assert sent.status_code == 201, sent.text
                message_ids.append(sent.json()["id"])

        async def jobs() -> list[Job]:
            async with db.sessionmaker() as session:
                return list(
                    (await session.scalars(select(Job).where(Job.kind == "channel.deliver"))).all()
                )

        async def all_failed_once() -> bool:
            found = await jobs()
            return len(found) == REPLIES and all(j.attempts >= 1 and j.last_error for j in found)

        await _eventually(all_failed_once, 30, "every delivery to fail once", server)
        await server.kill()

        async def statuses() -> dict[int, Any]:
            async with db.sessionmaker() as session:
                rows = await session.execute(
                    select(Message.id, Message.delivery_status).where(Message.id.in_(message_ids))
                )
                return {message_id: status for message_id, status in rows}

        assert set((await statuses()).values()) == {"queued"}
        assert all(j.status in ("pending", "running") for j in await jobs())

        await receiver.start()
        await server.start()

        async def all_sent() -> bool:
            return set((await statuses()).values()) == {"sent"}

        await _eventually(all_sent, DELIVERY_TIMEOUT_S, "every reply to be sent", server)
        await asyncio.sleep(1)  # room for a duplicate to show up, if there were one
    finally:
        await server.terminate()
        await receiver.stop()
        await db.dispose()

    keys = Counter(r.headers["idempotency-key"] for r in receiver.requests)
    assert keys == Counter({f"message:{m}": 1 for m in message_ids})
    for request in receiver.requests:
        signing.verify(
            secret, request.headers["x-omnidesk-signature"], request.body, now=time.time()
        )
    assert sorted(str(r.json()["id"]) for r in receiver.requests) == sorted(map(str, message_ids))
    assert all(j.status == "done" for j in await _jobs_after(database_url))


async def _jobs_after(database_url: str) -> list[Job]:
    db = Database(database_url)
    try:
        async with db.sessionmaker() as session:
            return list(
                (await session.scalars(select(Job).where(Job.kind == "channel.deliver"))).all()
            )
    finally:
        await db.dispose()
