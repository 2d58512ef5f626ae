"""Routers by account shard, in one process: each leads the shards whose leases it holds.

Two accounts in two shards (account ``a`` is in shard ``a % 2``). The leases are the real
ones (a ``flock`` per shard with SQLite, an advisory lock with PostgreSQL), so two routers
here contend exactly as two processes would. Whether a router routed an account is read
from the rows: a conversation it routed has a WorkItem.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select, text

from omnidesk.bootstrap import make_router
from omnidesk.kit.clock import SystemClock
from omnidesk.kit.db import Database
from omnidesk.kit.lease import PostgresLease, lease_for
from omnidesk.routing.models import WorkItem
from omnidesk.routing.router import STANDBY_RETRY_S, RouterRuntime
from omnidesk.settings import RoutingSettings, Settings
from tests.conftest import PG_URL, Tenant
from tests.routing.api.conftest import ok


@pytest.fixture
def sharded(settings: Settings) -> Settings:
    # A long sweep: rounds run when the tests ask for them (``settled``).
    return settings.model_copy(update={"routing": RoutingSettings(shards=2, sweep_s=3600)})


@pytest.fixture
async def routers() -> AsyncIterator[list[RouterRuntime]]:
    started: list[RouterRuntime] = []
    yield started
    for router in started:
        await router.stop()


async def _start(routers: list[RouterRuntime], router: RouterRuntime) -> RouterRuntime:
    await router.start()
    routers.append(router)
    return router


async def _customer_writes(client: httpx.AsyncClient, tenant: Tenant, n: int) -> int:
    inbox = ok(
        await client.post(
            "/api/v1/inboxes",
            json={"name": f"API {n}", "channel_type": "api"},
            headers=tenant.headers,
        ),
        201,
    )
    message = ok(
        await client.post(
            f"/api/v1/inboxes/{inbox['id']}/messages",
            json={"external_id": f"m-{n}", "sender": {"email": f"c{n}@example.com"}, "body": "Hi"},
            headers=tenant.headers,
        ),
        201,
    )
    return int(message["conversation_id"])


async def _routed(db: Database, conversation_id: int) -> bool:
    async with db.transaction() as session:
        found = await session.scalars(
            select(WorkItem.id).where(WorkItem.conversation_id == conversation_id)
        )
        return found.first() is not None


async def _until(router: RouterRuntime, shards: set[int]) -> None:
    """Wait (a few standby retries at most) until ``router`` leads exactly ``shards``."""
    deadline = time.monotonic() + 5 * STANDBY_RETRY_S + 5
    while router.led != shards:
        assert time.monotonic() < deadline, f"leads {router.led}, not {shards}"
        await asyncio.sleep(0.05)


async def test_each_shard_is_routed_by_the_router_holding_its_lease(
    client: httpx.AsyncClient,
    db: Database,
    sharded: Settings,
    tenant: Tenant,
    other_tenant: Tenant,
    routers: list[RouterRuntime],
) -> None:
    mine, theirs = tenant.account_id % 2, other_tenant.account_id % 2
    assert mine != theirs  # consecutive ids: one account in each shard
    clock = SystemClock()
    pinned = await _start(routers, make_router(sharded, db, clock, shards=[mine]))
    await _until(pinned, {mine})
    first, second = (
        await _customer_writes(client, tenant, 1),
        await _customer_writes(client, other_tenant, 2),
    )
    await pinned.settled()
    # A router leads only the shards it may and holds: the other account waits.
    assert (await _routed(db, first), await _routed(db, second)) == (True, False)

    anyone = await _start(routers, make_router(sharded, db, clock))
    await _until(anyone, {theirs})  # the free shard; the other one's lease is held
    await anyone.settled()
    assert await _routed(db, second)

    await pinned.stop()  # its process ends: the lease goes with it
    await _until(anyone, {0, 1})
    third = await _customer_writes(client, tenant, 3)
    await anyone.settled()
    assert await _routed(db, third)


class RevocableLease:
    """A lease the test takes away, the way a cut lease connection takes it on PostgreSQL:
    ``confirm`` (asked in the round's transaction) knows at once, ``held`` not yet."""

    def __init__(self) -> None:
        self.granted = True
        self.holding = False

    async def acquire(self) -> bool:
        self.holding = self.granted
        return self.holding

    async def held(self) -> bool:
        return self.holding

    async def confirm(self, session: object) -> bool:
        return self.holding and self.granted

    async def release(self) -> None:
        self.holding = False


async def test_a_router_that_lost_its_lease_writes_nothing_more(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, routers: list[RouterRuntime]
) -> None:
    lease = RevocableLease()
    router = await _start(
        routers, RouterRuntime(db, SystemClock(), sweep_s=3600, leases={0: lease})
    )
    before = await _customer_writes(client, tenant, 1)
    await router.settled()
    assert await _routed(db, before)

    lease.granted = False  # another router leads now
    after = await _customer_writes(client, tenant, 2)
    await router.settled()
    # The round's transaction was rolled back before commit, and the router stands by.
    assert not await _routed(db, after)
    assert router.led == set()

    lease.granted = True  # the lease is free again: taken within a retry, the work routed
    await _until(router, {0})
    await router.settled()
    assert await _routed(db, after)


@pytest.mark.skipif(not PG_URL, reason="an advisory lock needs PostgreSQL")
async def test_a_postgres_lease_is_not_confirmed_once_its_connection_is_cut(
    settings: Settings, db: Database
) -> None:
    lease = lease_for(settings.database_url, "omnidesk-test-fence", settings.data_dir)
    assert isinstance(lease, PostgresLease)
    other = lease_for(settings.database_url, "omnidesk-test-fence", settings.data_dir)
    try:
        assert await lease.acquire()
        assert not await other.acquire()
        async with db.transaction() as session:
            assert await lease.confirm(session)
            assert not await other.confirm(session)
            pid = await lease._conn.fetchval("SELECT pg_backend_pid()")
            # A network cut, as the server sees it: the lease's backend is gone (waited for).
            await session.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        async with db.transaction() as session:
            # The holder has not noticed yet, but a fenced transaction sees it at once.
            assert not await lease.confirm(session)
        assert await other.acquire()
        assert not await lease.held()
    finally:
        await lease.release()
        await other.release()


def test_there_is_at_least_one_shard() -> None:
    with pytest.raises(ValidationError):
        RoutingSettings(shards=0)
    assert RoutingSettings().shards == 1
