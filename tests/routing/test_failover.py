"""The failover test: two `omnidesk router` processes, the leader SIGKILLed mid-load.

Acceptance (DESIGN §3.6, ADR 0008): one active router per shard holds the lease; when it
dies the standby takes over within 5 s, and no WorkItem is lost or assigned twice.

The test process serves the API in-process without a router (the suite's default), so every
routing decision is made by one of the two subprocesses, on the test database (SQLite: the
lease is a ``flock`` next to the file; PostgreSQL: an advisory lock). Agents auto-accept, so
each decision is an assignment the test can count. Customers write in over a few seconds;
once the leader has assigned some of the work, it is killed without warning. The standby
must lead, route what the dead leader left waiting and what keeps arriving, and every
conversation must end with exactly one WorkItem, assigned once, no agent over capacity.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from sqlalchemy import func, select

from omnidesk.conversations.models import Conversation
from omnidesk.events.models import Event
from omnidesk.kit.db import Database
from omnidesk.routing.models import Offer, WorkItem
from tests.conftest import Tenant, make_user
from tests.routing.api.conftest import API, ok

pytestmark = pytest.mark.slow

AGENTS = 4
#: Each agent holds this many API conversations; the load fills every seat exactly, so an
#: item assigned twice would push an agent over capacity or leave another item waiting.
CAPACITY = 4
CONVERSATIONS = AGENTS * CAPACITY
#: Seconds between two customers' first messages: the load keeps arriving across the kill.
ARRIVAL_S = 0.15
#: Assignments by the first leader before it is killed: it dies with work done and to do.
KILL_AFTER = 5
#: The acceptance figure: the standby's first decision at most this long after the kill.
TAKEOVER_LIMIT_S = 5.0
BOOT_TIMEOUT_S = 30
SETTLE_TIMEOUT_S = 15
#: Events only a router writes here (agents auto-accept; nobody assigns by hand).
ROUTER_EVENTS = ("work_item.queued", "conversation.assigned")


class RouterProcess:
    """``omnidesk router`` in a subprocess, its JSON log lines in a file."""

    def __init__(self, name: str, env: dict[str, str], log_path: Path) -> None:
        self.name, self.env, self.log_path = name, env, log_path
        self.process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    async def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "omnidesk",
            "router",
            env=self.env,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
        )

    def events(self) -> list[str]:
        """The ``event`` of every JSON log line so far (other lines are skipped)."""
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                found.append(str(json.loads(line)["event"]))
            except (ValueError, KeyError, TypeError):
                continue
        return found

    def leading(self) -> bool:
        return "router_leading" in self.events()

    def tail(self) -> str:
        return f"--- {self.name} ---\n" + self.log_path.read_text(errors="replace")[-3000:]

    def check_alive(self) -> None:
        if self.process is not None and self.process.returncode is not None:
            pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no lease released; the kernel closes its connections."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
        await self._reap()

    async def terminate(self) -> int | None:
        status = None
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                status = await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
        await self._reap()
        return status

    async def _reap(self) -> None:
        if self.process is not None:
            await self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def _router_env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIDESK_")}
    env.update(
        OMNIDESK_ENVIRONMENT="test",
        OMNIDESK_DATABASE_URL=database_url,
        OMNIDESK_DATA_DIR=str(data_dir),
        OMNIDESK_SEED_DEMO="false",
        OMNIDESK_LOG_JSON="true",
        OMNIDESK_LOG_LEVEL="INFO",
        # Commits made by the test process do not wake a router in another process: the
        # sweep finds them, so a short one keeps the test fast.
        OMNIDESK_ROUTING__SWEEP_S="0.1",
    )
    return env


async def _eventually(
    check: Callable[[], Awaitable[bool]], timeout_s: float, what: str, *routers: RouterProcess
) -> float:
    """Poll ``check`` until it holds; return the monotonic time it was seen to hold."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for router in routers:
            router.check_alive()
        if await check():
            return time.monotonic()
        await asyncio.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}:\n" + "\n".join(r.tail() for r in routers))


async def _count(db: Database, query: Any) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(query) or 0)


def _assigned(account_id: int) -> Any:
    return (
        select(func.count())
        .select_from(WorkItem)
        .where(WorkItem.account_id == account_id, WorkItem.status == "assigned")
    )


async def test_the_standby_takes_over_a_killed_router_and_nothing_is_lost_or_doubled(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    database_url: str,
    tmp_path: Path,
) -> None:
    h = tenant.headers
    inbox = ok(
        await client.post(
            "/api/v1/inboxes", json={"name": "API", "channel_type": "api"}, headers=h
        ),
        201,
    )
    ok(
        await client.post(
            f"{API}/profiles",
            json={
                "name": "Auto",
                "capacity": {"api": CAPACITY},
                "auto_accept": True,
                "is_default": True,
            },
            headers=h,
        ),
        201,
    )
    agents = []
    for _ in range(AGENTS):
        user, headers = await make_user(client, tenant, "agent")
        ok(
            await client.put(
                f"{API}/agents/{user['id']}/presence",
                json={"presence": "available"},
                headers=headers,
            )
        )
        agents.append(user["id"])

    env = _router_env(database_url, tmp_path / "data")
    routers = [RouterProcess(n, env, tmp_path / f"{n}.log") for n in ("router-a", "router-b")]
    conversation_ids: list[int] = []

    async def customers_write() -> None:
        for n in range(CONVERSATIONS):
            response = ok(
                await client.post(
                    f"/api/v1/inboxes/{inbox['id']}/messages",
                    json={
                        "external_id": f"failover-{n}",
                        "sender": {"email": f"customer-{n}@example.com"},
                        "body": "Hello?",
                    },
                    headers=h,
                ),
                201,
            )
            conversation_ids.append(int(response["conversation_id"]))
            await asyncio.sleep(ARRIVAL_S)  # the load's shape, not a synchronisation

    load: asyncio.Task[None] | None = None
    try:
        for router in routers:
            await router.start()

        async def one_leads_the_other_stands_by() -> bool:
            events = [r.events() for r in routers]
            return sum("router_leading" in e for e in events) == 1 and all(
                "router_started" in e for e in events
            )

        await _eventually(one_leads_the_other_stands_by, BOOT_TIMEOUT_S, "a leader", *routers)
        leader, standby = routers if routers[0].leading() else routers[::-1]

        load = asyncio.create_task(customers_write())

        async def leader_is_mid_load() -> bool:
            return await _count(db, _assigned(tenant.account_id)) >= KILL_AFTER

        await _eventually(leader_is_mid_load, SETTLE_TIMEOUT_S, "first assignments", *routers)
        assert not standby.leading(), standby.tail()  # one leader at a time
        killed_at = time.monotonic()
        await leader.kill()
        # Read after the leader is gone: every router event past this is the standby's.
        last_event = await _count(
            db, select(func.max(Event.id)).where(Event.type.in_(ROUTER_EVENTS))
        )
        assert not load.done(), "the load ended before the kill: raise CONVERSATIONS"

        async def standby_decided() -> bool:
            if not standby.leading():
                return False
            newer = select(func.count()).where(Event.id > last_event, Event.type.in_(ROUTER_EVENTS))
            return await _count(db, newer) > 0

        decided_at = await _eventually(
            standby_decided, TAKEOVER_LIMIT_S + 5, "the standby's first decision", standby
        )
        takeover_s = decided_at - killed_at
        print(f"\nfailover on {db.engine.dialect.name}: takeover in {takeover_s:.2f} s")
        await load

        async def all_assigned() -> bool:
            return await _count(db, _assigned(tenant.account_id)) >= CONVERSATIONS

        await _eventually(all_assigned, SETTLE_TIMEOUT_S, "every conversation assigned", standby)
        assert await standby.terminate() == 0, standby.tail()
    finally:
        if load is not None and not load.done():
            load.cancel()
        for router in routers:
            await router.kill()

    assert takeover_s <= TAKEOVER_LIMIT_S, f"the standby took {takeover_s:.2f} s"
    async with db.transaction() as session:
        items = list(
            await session.scalars(select(WorkItem).where(WorkItem.account_id == tenant.account_id))
        )
        rows = await session.execute(
            select(Conversation.id, Conversation.assignee_id).where(
                Conversation.id.in_(conversation_ids)
            )
        )
        assignees = {conversation_id: agent_id for conversation_id, agent_id in rows}
        assignments = list(
            await session.scalars(
                select(Event).where(
                    Event.account_id == tenant.account_id, Event.type == "conversation.assigned"
                )
            )
        )
        offers = await session.scalar(select(func.count()).select_from(Offer))
    # Nothing lost: one WorkItem per conversation, each assigned, none waiting.
    assert len(conversation_ids) == CONVERSATIONS
    assert sorted(i.conversation_id for i in items) == sorted(conversation_ids)
    assert {i.status for i in items} == {"assigned"}
    # Nothing doubled: one assignment per conversation, to the item's agent, and every agent
    # at capacity, not over it.
    assert Counter(e.conversation_id for e in assignments) == Counter(conversation_ids)
    assert {e.conversation_id: e.data["assignee_id"] for e in assignments} == assignees
    assert {i.conversation_id: i.agent_id for i in items} == assignees
    assert Counter(i.agent_id for i in items) == dict.fromkeys(agents, CAPACITY)
    assert offers == 0  # auto-accept: assigned without offers
    # The standby routed work the dead leader never saw.
    assert any(e.id > last_event for e in assignments)
