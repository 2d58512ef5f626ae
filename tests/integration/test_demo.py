from __future__ import annotations

import httpx
from fastapi import FastAPI

from omnidesk.bootstrap import Container
from omnidesk.demo import seed_if_empty
from omnidesk.kit.db import Database
from tests.conftest import login_headers


async def test_first_start_seeds_a_working_demo_account_once(
    client: httpx.AsyncClient, db: Database, app: FastAPI
) -> None:
    container: Container = app.state.container
    logins = await seed_if_empty(db, container.clock, container.secret_box)
    assert logins is not None
    agent = await login_headers(client, logins["agent_email"], logins["agent_password"])
    admin = await login_headers(client, logins["admin_email"], logins["admin_password"])
    conversations = (await client.get("/api/v1/conversations", headers=admin)).json()["items"]
    assert len(conversations) == 2
    mine = (
        await client.get("/api/v1/conversations", params={"assignee": "me"}, headers=agent)
    ).json()["items"]
    assert [c["tags"] for c in mine] == [["delivery"]]
    messages = (
        await client.get(f"/api/v1/conversations/{mine[0]['id']}/messages", headers=agent)
    ).json()["items"]
    assert [m["kind"] for m in messages] == ["message", "message", "note"]
    assert await seed_if_empty(db, container.clock, container.secret_box) is None
