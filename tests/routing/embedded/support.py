"""A contact centre in one account, served by the app's embedded router on a frozen clock."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from omnidesk.kit.db import Database
from omnidesk.routing.models import WorkItem
from omnidesk.routing.router import RouterRuntime
from tests.conftest import Tenant, make_user
from tests.routing.api.conftest import API, ok


def router_of(app: FastAPI) -> RouterRuntime:
    router = app.state.container.router
    assert isinstance(router, RouterRuntime)
    return router


class Desk:
    """A contact centre in one account: an API inbox, agents, customers writing in."""

    def __init__(self, client: httpx.AsyncClient, app: FastAPI, tenant: Tenant) -> None:
        self.client, self.app, self.tenant = client, app, tenant
        self.inbox_id = 0

    async def open(self) -> None:
        inbox = ok(
            await self.client.post(
                "/api/v1/inboxes",
                json={"name": "API", "channel_type": "api"},
                headers=self.tenant.headers,
            ),
            201,
        )
        self.inbox_id = inbox["id"]

    async def agent(self, presence: str = "available") -> tuple[int, dict[str, str]]:
        user, headers = await make_user(self.client, self.tenant, "agent")
        await self.presence(user["id"], headers, presence)
        return user["id"], headers

    async def presence(self, user_id: int, headers: dict[str, str], presence: str) -> None:
        ok(
            await self.client.put(
                f"{API}/agents/{user_id}/presence", json={"presence": presence}, headers=headers
            )
        )
        await router_of(self.app).settled()

    async def customer_writes(self, email: str, n: int = 0) -> int:
        response = ok(
            await self.client.post(
                f"/api/v1/inboxes/{self.inbox_id}/messages",
                json={"external_id": f"{email}-{n}", "sender": {"email": email}, "body": "Help!"},
                headers=self.tenant.headers,
            ),
            201,
        )
        await router_of(self.app).settled()
        return int(response["conversation_id"])

    async def offers(self, headers: dict[str, str]) -> list[dict[str, Any]]:
        return list(ok(await self.client.get(f"{API}/offers", headers=headers)))

    async def conversation(self, conversation_id: int) -> dict[str, Any]:
        return dict(
            ok(
                await self.client.get(
                    f"/api/v1/conversations/{conversation_id}", headers=self.tenant.headers
                )
            )
        )


async def work_items(db: Database, conversation_id: int) -> list[WorkItem]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(WorkItem).where(WorkItem.conversation_id == conversation_id)
        )
        return list(rows)
