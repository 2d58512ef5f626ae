"""A contact centre on the live server (uvicorn on loopback, real websockets), its embedded
router on a frozen clock: for the tests of lost connections and of live statistics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection

from omnidesk.routing.models import AgentState, Offer
from omnidesk.routing.router import RouterRuntime
from omnidesk.settings import RoutingSettings, Settings
from tests.conftest import Tenant, make_user
from tests.realtime.conftest import LiveServer
from tests.routing.api.conftest import API, ok

GRACE_S = RoutingSettings().connection_grace_s
POLL_S = 0.01


def routed(settings: Settings, **routing: Any) -> Settings:
    # A long sweep: rounds come from committed changes and from the tests, not from time.
    return settings.model_copy(
        update={"routing": RoutingSettings(embedded=True, sweep_s=3600, **routing)}
    )


async def eventually(condition: Callable[[], Any], timeout_s: float = 5.0) -> None:
    """Poll ``condition`` (sync or async) until it holds."""
    async with asyncio.timeout(timeout_s):
        while True:
            result = condition()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(POLL_S)


class Desk:
    """One account of the live server: an API inbox, agents, customers writing in."""

    def __init__(self, server: LiveServer, client: httpx.AsyncClient, tenant: Tenant) -> None:
        self.server, self.client, self.tenant = server, client, tenant
        self.inbox_id = 0
        self.emails: dict[int, str] = {}

    @property
    def router(self) -> RouterRuntime:
        router = self.server.container.router
        assert router is not None
        return router

    async def open(self, offer_timeout_s: int = 3600) -> None:
        inbox = ok(
            await self.client.post(
                "/api/v1/inboxes",
                json={"name": "API", "channel_type": "api"},
                headers=self.tenant.headers,
            ),
            201,
        )
        self.inbox_id = inbox["id"]
        # Offers that outlast the tests: an offer that goes elsewhere went for a reason of
        # the test's, not because it timed out.
        queues = ok(await self.client.get(f"{API}/queues", headers=self.tenant.headers))
        [default] = [q for q in queues if q["is_default"]]
        ok(
            await self.client.patch(
                f"{API}/queues/{default['id']}",
                json={"offer_timeout_s": offer_timeout_s},
                headers=self.tenant.headers,
            )
        )

    async def agent(self, role: str = "agent") -> tuple[int, dict[str, str]]:
        """A user logged in through a browser session, available."""
        user, headers = await make_user(self.client, self.tenant, role)
        self.emails[user["id"]] = user["email"]
        await self.presence(user["id"], headers, "available")
        return user["id"], headers

    async def presence(self, user_id: int, headers: dict[str, str], presence: str) -> None:
        ok(
            await self.client.put(
                f"{API}/agents/{user_id}/presence", json={"presence": presence}, headers=headers
            )
        )
        await self.router.settled()

    async def state(self, user_id: int) -> dict[str, Any]:
        return dict(
            ok(await self.client.get(f"{API}/agents/{user_id}", headers=self.tenant.headers))
        )

    async def customer_writes(self, email: str) -> int:
        response = ok(
            await self.client.post(
                f"/api/v1/inboxes/{self.inbox_id}/messages",
                json={"external_id": email, "sender": {"email": email}, "body": "Help!"},
                headers=self.tenant.headers,
            ),
            201,
        )
        await self.router.settled()
        return int(response["conversation_id"])

    async def offered(self, headers: dict[str, str]) -> list[int]:
        """The conversations offered to an agent now."""
        offers = ok(await self.client.get(f"{API}/offers", headers=headers))
        return [o["conversation_id"] for o in offers if o["status"] == "pending"]

    async def offers_of(self, agent_id: int) -> list[Offer]:
        async with self.server.db.transaction() as session:
            rows = await session.scalars(
                select(Offer).where(Offer.agent_id == agent_id).order_by(Offer.id)
            )
            return list(rows)

    async def last_seen(self, agent_id: int) -> datetime | None:
        async with self.server.db.transaction() as session:
            state = await session.get(AgentState, agent_id)
            assert state is not None
            return state.last_seen_at

    async def router_caught_up(self) -> None:
        # A presence change the router made in one round is applied to its engine in the
        # next, which the change's own event wakes.
        await self.router.settled()
        await self.router.settled()

    def socket(self, headers: dict[str, str]) -> AbstractAsyncContextManager[ClientConnection]:
        """A desktop's websocket, with the user's browser session."""
        return self.server.ws(headers={"Cookie": headers["Cookie"]}, origin=self.server.base_url)


async def equals(value: Awaitable[Any], expected: Any) -> bool:
    return bool(await value == expected)
