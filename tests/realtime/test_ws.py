"""The agents' websocket, end to end: uvicorn on loopback, the websockets client library."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from omnidesk.events.service import record
from omnidesk.realtime.backends import MemoryBroker, RedisBroker
from omnidesk.realtime.connection import CLOSE_RESUME
from omnidesk.settings import Settings
from tests.conftest import Tenant, make_tenant, make_user
from tests.realtime.conftest import (
    TIMEOUT_S,
    LiveServer,
    close_code,
    next_event,
    receive,
    serve,
)


async def record_events(server: LiveServer, account_id: int, *types: str, **fields: Any) -> None:
    """Record events directly, in one committed transaction."""
    async with server.db.transaction() as session:
        for type_ in types:
            await record(session, account_id=account_id, type=type_, **fields)


async def record_then_roll_back(server: LiveServer, account_id: int, type_: str) -> None:
    async with server.db.transaction() as session:
        await record(session, account_id=account_id, type=type_)
        raise RuntimeError("changed my mind")


async def create_team(client: httpx.AsyncClient, tenant: Tenant, name: str) -> int:
    response = await client.post("/api/v1/teams", json={"name": name}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    team_id: int = response.json()["id"]
    return team_id


async def test_a_committed_event_reaches_the_socket(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    async with server.ws(headers=tenant.headers) as ws:
        hello = await receive(ws)
        assert hello["type"] == "hello"
        assert hello["user_id"] == tenant.admin_id
        team_id = await create_team(client, tenant, "Tier 1")
        event = await next_event(ws)
    assert event["type"] == "team.created"
    assert event["data"] == {"team_id": team_id, "name": "Tier 1"}
    assert event["id"] > hello["last_event_id"]
    assert set(event) == {
        "id", "type", "audience", "conversation_id", "contact_id", "assignee_id", "team_id",
        "actor_user_id", "data", "created_at",
    }  # fmt: skip


async def test_an_event_of_a_rolled_back_transaction_never_arrives(
    server: LiveServer, tenant: Tenant
) -> None:
    async with server.ws(headers=tenant.headers) as ws:
        await receive(ws)  # hello
        with pytest.raises(RuntimeError, match="changed my mind"):
            await record_then_roll_back(server, tenant.account_id, "test.rolled_back")
        await record_events(server, tenant.account_id, "test.committed")
        # Events keep commit order: had the rolled-back one been sent, it would come first.
        assert (await next_event(ws))["type"] == "test.committed"


async def test_resuming_replays_exactly_the_missed_events_then_goes_live(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    async with server.ws(headers=tenant.headers) as ws:
        last_seen = (await receive(ws))["last_event_id"]
    for name in ("A", "B", "C"):
        await create_team(client, tenant, name)

    async with server.ws(headers=tenant.headers, query=f"last_event_id={last_seen}") as ws:
        hello = await receive(ws)
        missed = [await next_event(ws) for _ in range(3)]
        await create_team(client, tenant, "D")
        await record_events(server, tenant.account_id, "test.marker")
        live = [await next_event(ws), await next_event(ws)]

    assert [e["data"]["name"] for e in missed] == ["A", "B", "C"]
    assert missed[0]["id"] > last_seen
    assert hello["last_event_id"] == missed[-1]["id"]
    assert [e["data"].get("name") for e in live] == ["D", None]  # no replayed event again
    assert live[1]["type"] == "test.marker"
    ids = [e["id"] for e in missed + live]
    assert ids == sorted(set(ids))


async def test_resuming_while_events_are_committed_has_no_gap_and_no_duplicate(
    server: LiveServer, tenant: Tenant
) -> None:
    async with server.ws(headers=tenant.headers) as ws:
        last_seen = (await receive(ws))["last_event_id"]
    await record_events(server, tenant.account_id, *[f"test.before.{i}" for i in range(20)])

    async def keep_committing() -> None:
        for i in range(40):
            await record_events(server, tenant.account_id, f"test.during.{i}")

    writer = asyncio.create_task(keep_committing())
    try:
        async with server.ws(headers=tenant.headers, query=f"last_event_id={last_seen}") as ws:
            await receive(ws)  # hello
            received = [await next_event(ws) for _ in range(60)]
    finally:
        await writer
    types = [e["type"] for e in received]
    assert types == [f"test.before.{i}" for i in range(20)] + [
        f"test.during.{i}" for i in range(40)
    ]


async def test_another_accounts_events_never_arrive(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    async with server.ws(headers=tenant.headers) as ws:
        await receive(ws)
        await create_team(client, other_tenant, "Theirs")
        await create_team(client, tenant, "Ours")
        event = await next_event(ws)
    assert event["data"]["name"] == "Ours"


async def test_an_agent_sees_only_what_concerns_them(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    agent, agent_headers = await make_user(client, tenant, "agent")
    account = tenant.account_id
    async with (
        server.ws(headers={"Cookie": agent_headers["Cookie"]}, origin=server.base_url) as as_agent,
        server.ws(headers=tenant.headers) as as_admin,
    ):
        assert (await receive(as_agent))["user_id"] == agent["id"]
        await receive(as_admin)
        await record_events(server, account, "test.for_supervisors", audience="supervisors")
        await record_events(
            server,
            account,
            "test.someone_elses",
            audience="conversation",
            assignee_id=tenant.admin_id,
        )
        await record_events(
            server, account, "test.mine", audience="conversation", assignee_id=agent["id"]
        )
        await record_events(server, account, "test.unowned", audience="conversation")
        await record_events(server, account, "test.for_everyone")
        agent_saw = [(await next_event(as_agent))["type"] for _ in range(3)]
        admin_saw = [(await next_event(as_admin))["type"] for _ in range(5)]
    assert agent_saw == ["test.mine", "test.unowned", "test.for_everyone"]
    assert admin_saw == [
        "test.for_supervisors",
        "test.someone_elses",
        "test.mine",
        "test.unowned",
        "test.for_everyone",
    ]


async def test_replay_is_filtered_by_visibility_too(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    _, agent_headers = await make_user(client, tenant, "agent")
    headers = {"Cookie": agent_headers["Cookie"]}
    async with server.ws(headers=headers, origin=server.base_url) as ws:
        last_seen = (await receive(ws))["last_event_id"]
    await record_events(server, tenant.account_id, "test.for_supervisors", audience="supervisors")
    await record_events(server, tenant.account_id, "test.for_everyone")
    query = f"last_event_id={last_seen}"
    async with server.ws(headers=headers, origin=server.base_url, query=query) as ws:
        await receive(ws)
        assert (await next_event(ws))["type"] == "test.for_everyone"


async def test_a_bad_token_is_refused_with_4401(server: LiveServer) -> None:
    async with server.ws(headers={"Authorization": "Bearer odk_not-a-token"}) as ws:
        assert await close_code(ws) == 4401
    async with server.ws(headers={"Authorization": "Basic abc"}) as ws:
        assert await close_code(ws) == 4401


async def test_a_revoked_token_is_refused_at_connect(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post("/api/v1/api-tokens", json={"name": "ci"}, headers=tenant.headers)
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    async with server.ws(headers={"Authorization": f"Bearer {token}"}) as ws:
        assert (await receive(ws))["type"] == "hello"
    revoked = await client.delete(
        f"/api/v1/api-tokens/{created.json()['id']}", headers=tenant.headers
    )
    assert revoked.status_code == 200, revoked.text
    async with server.ws(headers={"Authorization": f"Bearer {token}"}) as ws:
        assert await close_code(ws) == 4401


async def test_a_token_may_come_as_the_first_message(server: LiveServer, tenant: Tenant) -> None:
    async with server.ws() as ws:
        await ws.send(json.dumps({"type": "auth", "token": tenant.token}))
        assert (await receive(ws))["user_id"] == tenant.admin_id
    async with server.ws() as ws:
        await ws.send(json.dumps({"type": "auth", "token": "odk_wrong"}))
        assert await close_code(ws) == 4401
    async with server.ws() as ws:
        await ws.send("hello?")
        error = await receive(ws)
        assert (error["type"], error["code"]) == ("error", "bad_message")
        assert await close_code(ws) == 4401


async def test_cookie_authentication_needs_our_own_origin(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    _, agent_headers = await make_user(client, tenant, "agent")
    cookie = {"Cookie": agent_headers["Cookie"]}
    async with server.ws(headers=cookie, origin="https://evil.example.com") as ws:
        assert await close_code(ws) == 4403
    async with server.ws(headers=cookie) as ws:  # no Origin at all
        assert await close_code(ws) == 4403
    async with server.ws(headers=cookie, origin=server.base_url) as ws:
        assert (await receive(ws))["type"] == "hello"


async def test_the_public_url_is_an_accepted_origin(
    live_settings: Settings, client: httpx.AsyncClient
) -> None:
    settings = live_settings.model_copy(update={"public_url": "https://desk.example.com"})
    async with serve(settings) as server:
        tenant = await make_tenant(server.db)
        async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
            _, agent_headers = await make_user(http, tenant, "agent")
        cookie = {"Cookie": agent_headers["Cookie"]}
        async with server.ws(headers=cookie, origin="https://desk.example.com") as ws:
            assert (await receive(ws))["type"] == "hello"


async def test_pings_are_answered_and_bad_messages_do_not_break_the_socket(
    server: LiveServer, tenant: Tenant
) -> None:
    async with server.ws(headers=tenant.headers) as ws:
        await receive(ws)  # hello
        for bad in ("not json", "[1, 2]", json.dumps({"type": "dance"}), b"\x00\x01"):
            await ws.send(bad)
            error = await receive(ws)
            assert (error["type"], error["code"]) == ("error", "bad_message"), bad
        await ws.send(json.dumps({"type": "ping"}))
        assert await receive(ws) == {"type": "pong"}


async def test_a_bad_last_event_id_is_refused_with_4400(server: LiveServer, tenant: Tenant) -> None:
    async with server.ws(headers=tenant.headers, query="last_event_id=-3") as ws:
        error = await receive(ws)
        assert (error["code"], error["field"]) == ("validation_error", "last_event_id")
        assert await close_code(ws) == 4400


async def test_heartbeats_arrive(live_settings: Settings) -> None:
    async with serve(live_settings.model_copy(update={"ws_heartbeat_s": 0.05})) as server:
        tenant = await make_tenant(server.db)
        async with server.ws(headers=tenant.headers) as ws:
            await receive(ws)  # hello
            beat = await receive(ws)
            assert beat["type"] == "heartbeat"
            assert beat["at"].endswith("Z")


async def test_a_socket_that_falls_behind_is_closed_so_that_it_resumes(
    live_settings: Settings,
) -> None:
    # Memory broker: its publish never yields, so one commit of many events fills the buffer
    # before the socket's task can drain it.
    async with serve(live_settings.model_copy(update={"redis_url": None})) as server:
        tenant = await make_tenant(server.db)
        broker = server.container.broker
        assert isinstance(broker, MemoryBroker)
        broker.max_pending = 3
        async with server.ws(headers=tenant.headers) as ws:
            await receive(ws)
            await record_events(server, tenant.account_id, *[f"test.{i}" for i in range(10)])
            assert await close_code(ws) == CLOSE_RESUME


async def test_connections_are_counted_and_cleaned_up(server: LiveServer, tenant: Tenant) -> None:
    def gauge() -> float:
        return REGISTRY.get_sample_value("omnidesk_ws_connections") or 0.0

    broker = server.container.broker
    assert broker is not None
    before = gauge()
    async with server.ws(headers=tenant.headers) as ws:
        await receive(ws)
        assert server.hub.connections == 1
        assert broker.subscriber_count(tenant.account_id) == 1
        assert gauge() == before + 1
    # The server notices the close on its own schedule: a bounded wait for it.
    async with asyncio.timeout(TIMEOUT_S):
        while server.hub.connections or broker.subscriber_count(tenant.account_id):
            await asyncio.sleep(0.01)
    assert gauge() == before


async def test_the_sockets_of_an_account_share_one_broker_subscription(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    _, agent_headers = await make_user(client, tenant, "agent")
    broker = server.container.broker
    assert broker is not None
    async with (
        server.ws(headers=tenant.headers) as first,
        server.ws(headers=tenant.headers) as second,
        server.ws(headers={"Cookie": agent_headers["Cookie"]}, origin=server.base_url) as third,
    ):
        for ws in (first, second, third):
            await receive(ws)  # hello: sent once the socket has joined
        assert server.hub.fanout.connection_count(tenant.account_id) == 3
        assert broker.subscriber_count(tenant.account_id) == 1
        await record_events(server, tenant.account_id, "test.for_everyone")
        for ws in (first, second, third):
            assert (await next_event(ws))["type"] == "test.for_everyone"


async def test_an_interrupted_account_subscription_closes_every_socket_and_they_resume(
    live_settings: Settings,
) -> None:
    async with serve(live_settings.model_copy(update={"redis_url": None})) as server:
        tenant = await make_tenant(server.db)
        broker = server.container.broker
        assert isinstance(broker, MemoryBroker)
        broker.max_pending = 3  # for the account subscription the first socket takes
        async with (
            server.ws(headers=tenant.headers) as first,
            server.ws(headers=tenant.headers) as second,
        ):
            last_seen = (await receive(first))["last_event_id"]
            await receive(second)
            await record_events(server, tenant.account_id, *[f"test.{i}" for i in range(10)])
            assert await close_code(first) == CLOSE_RESUME
            assert await close_code(second) == CLOSE_RESUME
        broker.max_pending = 1000
        query = f"last_event_id={last_seen}"
        async with server.ws(headers=tenant.headers, query=query) as ws:
            await receive(ws)  # hello
            assert [(await next_event(ws))["type"] for _ in range(10)] == [
                f"test.{i}" for i in range(10)
            ]
            await record_events(server, tenant.account_id, "test.live")
            assert (await next_event(ws))["type"] == "test.live"


async def test_a_lost_redis_connection_closes_every_socket_and_they_resume(
    live_settings: Settings, redis_url: str
) -> None:
    async with serve(live_settings.model_copy(update={"redis_url": redis_url})) as server:
        tenant = await make_tenant(server.db)
        broker = server.container.broker
        assert isinstance(broker, RedisBroker)
        async with (
            server.ws(headers=tenant.headers) as first,
            server.ws(headers=tenant.headers) as second,
        ):
            await receive(first)
            await receive(second)
            admin = Redis.from_url(redis_url)
            try:
                clients = await admin.client_list()
                [listener] = [c["id"] for c in clients if c["name"] == broker.listener_name]
                await admin.client_kill_filter(_id=listener)
            finally:
                await admin.aclose()
            assert await close_code(first) == CLOSE_RESUME
            assert await close_code(second) == CLOSE_RESUME
        async with server.ws(headers=tenant.headers) as ws:  # once Redis is back
            await receive(ws)
            await record_events(server, tenant.account_id, "test.live")
            assert (await next_event(ws))["type"] == "test.live"
