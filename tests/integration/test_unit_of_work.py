from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from starlette.types import Message, Receive, Scope, Send

from omnidesk.accounts.models import Team
from omnidesk.kit.db import Database
from omnidesk.web.deps import SessionDep
from tests.conftest import Tenant


async def test_commit_happens_before_the_response_is_sent(
    app: FastAPI, db: Database, tenant: Tenant
) -> None:
    @app.post("/_test/probe")
    async def probe(session: SessionDep) -> dict[str, bool]:
        session.add(Team(account_id=tenant.account_id, name="Probe", created_at=datetime.now(UTC)))
        return {"ok": True}

    committed_when_response_started: list[bool] = []

    async def watching_app(scope: Scope, receive: Receive, send: Send) -> None:
        async def watching_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                async with db.sessionmaker() as other:
                    found = await other.scalar(select(Team).where(Team.name == "Probe"))
                committed_when_response_started.append(found is not None)
            await send(message)

        await app(scope, receive, watching_send)

    transport = httpx.ASGITransport(app=watching_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.post("/_test/probe")).status_code == 200
    assert committed_when_response_started == [True]
