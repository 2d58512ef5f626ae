"""The demo account starts with a routing set-up."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from omnidesk.bootstrap import Container
from omnidesk.demo import seed_if_empty
from omnidesk.kit.db import Database
from tests.conftest import login_headers
from tests.routing.api.conftest import API, ok


async def test_the_demo_has_a_default_queue_profile_and_skilled_agent(
    client: httpx.AsyncClient, db: Database, app: FastAPI
) -> None:
    container: Container = app.state.container
    logins = await seed_if_empty(db, container.clock, container.secret_box)
    assert logins is not None
    agent = await login_headers(client, logins["agent_email"], logins["agent_password"])
    queues = ok(await client.get(f"{API}/queues", headers=agent))
    assert [(q["name"], q["is_default"]) for q in queues] == [("General", True)]
    profiles = ok(await client.get(f"{API}/profiles", headers=agent))
    assert [(p["name"], p["is_default"]) for p in profiles] == [("Default", True)]
    agents = ok(await client.get(f"{API}/agents", headers=agent))
    skilled = next(a for a in agents if a["name"] == "Alex Agent")
    assert {s["name"]: s["level"] for s in skilled["skills"]} == {"English": 8, "Billing": 5}
