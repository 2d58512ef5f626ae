from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import FastAPI
from sqlalchemy import event, select
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


async def test_rows_added_together_are_inserted_at_once_with_ids_in_the_order_added(
    db: Database, tenant: Tenant
) -> None:
    inserts: list[tuple[str, bool]] = []

    def watch(
        _conn: object, _cursor: object, statement: str, _params: object, _ctx: object, many: bool
    ) -> None:
        if statement.startswith("INSERT INTO teams"):
            inserts.append((statement, many))

    event.listen(db.engine.sync_engine, "before_cursor_execute", watch)
    try:
        async with db.transaction() as session:
            teams = [
                Team(account_id=tenant.account_id, name=f"T{n}", created_at=datetime.now(UTC))
                for n in range(5)
            ]
            session.add_all(teams)
        async with db.transaction() as session:
            session.add(
                Team(account_id=tenant.account_id, name="Alone", created_at=datetime.now(UTC))
            )
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", watch)
    ids = [team.id for team in teams]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5
    async with db.transaction() as session:
        alone = await session.scalar(select(Team.id).where(Team.name == "Alone"))
        names = list(await session.scalars(select(Team.name).order_by(Team.id)))
    assert alone is not None
    assert alone > ids[-1]
    assert names[-6:] == ["T0", "T1", "T2", "T3", "T4", "Alone"]
    assert len(inserts) == 2  # five rows in one statement, then the one
