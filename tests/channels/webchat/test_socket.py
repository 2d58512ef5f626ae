"""The visitor's websocket over a real server: replay, live frames, resume, refusals — on
the in-memory and the Redis broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from omnidesk.conversations.models import Message
from omnidesk.settings import Settings
from tests.channels.webchat.conftest import (
    Visitor,
    Widget,
    agent_reply,
    make_webchat_inbox,
    start_session,
)
from tests.conftest import REDIS_URL, Tenant, make_tenant, require_service
from tests.realtime.conftest import TIMEOUT_S, LiveServer, next_event, serve


@pytest.fixture(params=["memory", "redis"])
async def server(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[LiveServer]:
    if request.param == "redis":
        require_service(bool(REDIS_URL), "OMNIDESK_TEST_REDIS_URL is not set")
    live = settings.model_copy(
        update={
            "redis_url": REDIS_URL if request.param == "redis" else None,
            "redis_key_prefix": f"omnidesk-test-{uuid.uuid4().hex}:",
        }
    )
    async with serve(live) as running:
        yield running


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=server.base_url, trust_env=False, timeout=TIMEOUT_S
    ) as http:
        yield http


@pytest.fixture
async def tenant(server: LiveServer) -> Tenant:
    return await make_tenant(server.db, "Acme")


@asynccontextmanager
async def visitor_socket(
    server: LiveServer,
    widget: Widget,
    token: str,
    *,
    after: int | None = None,
    origin: str | None = None,
) -> AsyncIterator[ClientConnection]:
    query = f"token={token}" + (f"&after={after}" if after is not None else "")
    url = f"{server.base_url.replace('http://', 'ws://')}{widget.base}/ws?{query}"
    async with connect(
        url,
        origin=Origin(origin) if origin else None,
        proxy=None,
        open_timeout=TIMEOUT_S,
        close_timeout=TIMEOUT_S,
    ) as websocket:
        yield websocket


async def frame(websocket: ClientConnection) -> dict[str, Any]:
    while True:
        data = json.loads(await asyncio.wait_for(websocket.recv(), TIMEOUT_S))
        assert isinstance(data, dict)
        if data["type"] != "ping":
            return data


async def nothing_more(websocket: ClientConnection, wait_s: float = 0.3) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(websocket.recv(), wait_s)


async def close_code(websocket: ClientConnection) -> int:
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(websocket.recv(), TIMEOUT_S)
    assert websocket.close_code is not None
    return websocket.close_code


async def _chat(
    client: httpx.AsyncClient, tenant: Tenant
) -> tuple[Widget, Visitor, dict[str, Any]]:
    widget = await make_webchat_inbox(client, tenant)
    visitor, _ = await start_session(client, widget)
    said = await visitor.say("hello?")
    return widget, visitor, said


async def _status_of(server: LiveServer, message_id: int) -> str | None:
    """The message's delivery status once the socket confirmed it (written just after)."""
    async with asyncio.timeout(TIMEOUT_S):
        while True:
            async with server.db.sessionmaker() as session:
                message = await session.get(Message, message_id)
            assert message is not None
            if message.delivery_status != "queued":
                return message.delivery_status
            await asyncio.sleep(0.02)


async def test_replies_reach_the_socket_and_a_reconnect_loses_and_doubles_nothing(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    widget, visitor, said = await _chat(client, tenant)
    conversation_id = said["conversation_id"]
    async with visitor_socket(server, widget, visitor.token, after=0) as ws:
        assert await frame(ws) == {"type": "hello", "after": 0}
        replayed = await frame(ws)
        assert replayed["type"] == "message"
        assert replayed["message"]["id"] == said["id"]
        await agent_reply(client, tenant, conversation_id, "a note", private=True)
        reply = await agent_reply(client, tenant, conversation_id, "Hi, how can I help?")
        live = await frame(ws)
        assert live["message"]["id"] == reply["id"]
        assert await _status_of(server, reply["id"]) == "delivered"
        assert live["message"]["sender"] == {"type": "user", "name": "Admin"}
        assert live["message"]["direction"] == "outbound"
        # Their own message from another tab comes too.
        own = await visitor.say("from another tab")
        assert (await frame(ws))["message"]["id"] == own["id"]
        await nothing_more(ws)
        last_seen = own["id"]

    missed = [
        (await agent_reply(client, tenant, conversation_id, f"while away {n}"))["id"]
        for n in range(2)
    ]
    async with visitor_socket(server, widget, visitor.token, after=last_seen) as ws:
        assert await frame(ws) == {"type": "hello", "after": last_seen}
        assert [(await frame(ws))["message"]["id"] for _ in missed] == missed
        later = await agent_reply(client, tenant, conversation_id, "back again")
        assert (await frame(ws))["message"]["id"] == later["id"]
        await nothing_more(ws)


async def test_typing_reads_and_status_reach_the_visitor_and_typing_reaches_agents(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    widget, visitor, said = await _chat(client, tenant)
    path = f"/api/v1/conversations/{said['conversation_id']}"
    async with (
        visitor_socket(server, widget, visitor.token, after=said["id"]) as ws,
        server.ws(headers=tenant.headers) as agent_ws,
    ):
        assert (await frame(ws))["type"] == "hello"
        hello = json.loads(await asyncio.wait_for(agent_ws.recv(), TIMEOUT_S))
        assert hello["type"] == "hello"

        typing = await client.post(f"{path}/typing", json={"typing": True}, headers=tenant.headers)
        assert typing.status_code == 204
        assert await frame(ws) == {"type": "typing", "typing": True, "name": "Admin"}
        read = await client.post(
            f"{path}/read", json={"message_id": said["id"]}, headers=tenant.headers
        )
        assert read.status_code == 204
        assert await frame(ws) == {"type": "read", "message_id": said["id"]}

        assert (await visitor.post("typing", json={"typing": True})).status_code == 204
        while True:
            message = json.loads(await asyncio.wait_for(agent_ws.recv(), TIMEOUT_S))
            if message["type"] == "conversation.typing" and message["sender"]["type"] == "contact":
                break
        assert message["conversation_id"] == said["conversation_id"]
        assert message["typing"] is True

        resolved = await client.patch(path, json={"status": "resolved"}, headers=tenant.headers)
        assert resolved.status_code == 200
        assert await frame(ws) == {
            "type": "status",
            "conversation_id": said["conversation_id"],
            "status": "resolved",
        }
        # The agents' socket saw the visitor's messages as events, as for any channel.
        event = await next_event(agent_ws)
        assert event["type"] in ("conversation.resolved", "conversation.status_changed")


async def test_a_new_visitors_first_message_comes_live(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    widget = await make_webchat_inbox(client, tenant)
    visitor, _ = await start_session(client, widget)
    async with visitor_socket(server, widget, visitor.token) as ws:
        assert await frame(ws) == {"type": "hello", "after": 0}
        said = await visitor.say("first words")
        assert (await frame(ws))["message"]["id"] == said["id"]
        reply = await agent_reply(client, tenant, said["conversation_id"], "welcome")
        assert (await frame(ws))["message"]["id"] == reply["id"]
        # Another visitor's chat is not theirs.
        stranger, _ = await start_session(client, widget)
        await stranger.say("not for you")
        await nothing_more(ws)


async def test_the_socket_refuses_bad_tokens_unknown_keys_and_foreign_origins(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    shop = "https://shop.example.com"
    widget = await make_webchat_inbox(client, tenant, allowed_origins=[shop])
    visitor, _ = await start_session(client, widget, origin=shop)
    async with visitor_socket(server, widget, visitor.token + "x", origin=shop) as ws:
        assert await close_code(ws) == 4401
    async with visitor_socket(server, widget, visitor.token, origin="https://evil.example") as ws:
        assert await close_code(ws) == 4403
    unknown = Widget(widget.inbox_id, "y" * 24, None)
    async with visitor_socket(server, unknown, visitor.token) as ws:
        assert await close_code(ws) == 4404
    async with visitor_socket(server, widget, visitor.token, origin=shop) as ws:
        assert (await frame(ws))["type"] == "hello"
