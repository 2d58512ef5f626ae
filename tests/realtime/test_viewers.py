"""Collision presence: who is viewing or typing in a conversation, live on /ws, with a TTL,
only to those who may see the conversation; in memory or in Redis (OMNIDESK_TEST_BROKER)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection

from omnidesk.kit.clock import FrozenClock
from omnidesk.settings import Settings
from tests.conftest import Tenant, make_tenant, make_user
from tests.realtime.conftest import LiveServer, receive, serve


async def _conversation(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    contact = await client.post("/api/v1/contacts", json={"name": "Carla"}, headers=tenant.headers)
    assert contact.status_code == 201, contact.text
    response = await client.post(
        "/api/v1/conversations",
        json={"contact_id": contact.json()["id"], **fields},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _viewers_frame(ws: ClientConnection) -> dict[str, Any]:
    """The next conversation.viewers frame (hello, heartbeats, events and typing skipped)."""
    while True:
        message = await receive(ws)
        if message["type"] == "conversation.viewers":
            return message


def _who(frame: dict[str, Any]) -> list[tuple[str, bool, bool]]:
    return [(v["name"], v["viewing"], v["typing"]) for v in frame["viewers"]]


async def test_agents_who_may_see_it_learn_who_views_and_types(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ann, ann_h = await make_user(client, tenant, "agent", name="Ann")
    bob, bob_h = await make_user(client, tenant, "agent", name="Bob")
    team = await client.post(
        "/api/v1/teams",
        json={"name": "Billing", "member_ids": [ann["id"], bob["id"]]},
        headers=tenant.headers,
    )
    conversation = await _conversation(client, tenant, team_id=team.json()["id"])
    path = f"/api/v1/conversations/{conversation['id']}"
    async with (
        server.ws(headers=bob_h, origin=server.base_url) as bob_ws,
        server.ws(headers=tenant.headers) as admin_ws,
    ):
        assert (await receive(bob_ws))["type"] == "hello"
        assert (await receive(admin_ws))["type"] == "hello"
        viewing = await client.post(f"{path}/viewing", json={"viewing": True}, headers=ann_h)
        assert viewing.status_code == 200, viewing.text
        assert _who(viewing.json()) == [("Ann", True, False)]
        frame = await _viewers_frame(bob_ws)
        assert frame["conversation_id"] == conversation["id"]
        assert frame["viewers"][0]["user_id"] == ann["id"]
        assert frame["viewers"][0]["role"] == "agent"
        assert 0 < frame["viewers"][0]["expires_in_s"] <= 30
        # A supervisor (here the admin) gets it too, for any conversation.
        assert _who(await _viewers_frame(admin_ws)) == [("Ann", True, False)]

        typing = await client.post(f"{path}/typing", json={"typing": True}, headers=bob_h)
        assert typing.status_code == 204
        both = await _viewers_frame(bob_ws)
        assert _who(both) == [("Ann", True, False), ("Bob", False, True)]

        left = await client.post(f"{path}/viewing", json={"viewing": False}, headers=ann_h)
        assert _who(left.json()) == [("Bob", False, True)]
        assert _who(await _viewers_frame(bob_ws)) == [("Bob", False, True)]
        stopped = await client.post(f"{path}/typing", json={"typing": False}, headers=bob_h)
        assert stopped.status_code == 204
        assert (await _viewers_frame(bob_ws))["viewers"] == []
        now = await client.get(f"{path}/viewers", headers=ann_h)
        assert now.json() == {"conversation_id": conversation["id"], "viewers": []}


async def test_agents_who_may_not_see_it_learn_nothing(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ann, ann_h = await make_user(client, tenant, "agent", name="Ann")
    _, eve_h = await make_user(client, tenant, "agent", name="Eve")
    hidden = await _conversation(client, tenant, assignee_id=ann["id"])
    open_to_all = await _conversation(client, tenant)
    async with server.ws(headers=eve_h, origin=server.base_url) as eve_ws:
        assert (await receive(eve_ws))["type"] == "hello"
        refused = await client.post(
            f"/api/v1/conversations/{hidden['id']}/viewing", json={"viewing": True}, headers=eve_h
        )
        assert refused.status_code == 404
        assert refused.json()["code"] == "not_found"
        peek = await client.get(f"/api/v1/conversations/{hidden['id']}/viewers", headers=eve_h)
        assert peek.status_code == 404
        for conversation in (hidden, open_to_all):
            seen = await client.post(
                f"/api/v1/conversations/{conversation['id']}/viewing",
                json={"viewing": True},
                headers=ann_h,
            )
            assert seen.status_code == 200
        # Published in order: the first frame Eve gets is the one she may see.
        assert (await _viewers_frame(eve_ws))["conversation_id"] == open_to_all["id"]


async def test_a_closed_tab_lapses_after_the_ttl(live_settings: Settings) -> None:
    clock = FrozenClock()
    async with (
        serve(live_settings, clock=clock) as server,
        httpx.AsyncClient(base_url=server.base_url, trust_env=False) as client,
    ):
        tenant = await make_tenant(server.db, "Acme")
        _, ann_h = await make_user(client, tenant, "agent", name="Ann")
        conversation = await _conversation(client, tenant)
        path = f"/api/v1/conversations/{conversation['id']}"
        await client.post(f"{path}/viewing", json={"viewing": True}, headers=ann_h)
        clock.advance(timedelta(seconds=20))
        await client.post(f"{path}/viewing", json={"viewing": True}, headers=tenant.headers)
        listed = (await client.get(f"{path}/viewers", headers=tenant.headers)).json()
        assert [(v["name"], v["expires_in_s"]) for v in listed["viewers"]] == [
            ("Admin", 30.0),
            ("Ann", 10.0),
        ]
        clock.advance(timedelta(seconds=11))  # Ann's tab closed without a word
        listed = (await client.get(f"{path}/viewers", headers=tenant.headers)).json()
        assert [v["name"] for v in listed["viewers"]] == ["Admin"]
        clock.advance(timedelta(seconds=20))
        assert (await client.get(f"{path}/viewers", headers=ann_h)).json()["viewers"] == []


async def test_viewing_needs_a_boolean(
    client: httpx.AsyncClient, tenant: Tenant, server: LiveServer
) -> None:
    conversation = await _conversation(client, tenant)
    bad = await client.post(
        f"/api/v1/conversations/{conversation['id']}/viewing",
        json={"viewing": "maybe"},
        headers=tenant.headers,
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "validation_error"


class _Unreachable:
    """A registry whose backend is down (Redis gone)."""

    async def mark(self, *args: object) -> None:
        raise ConnectionError("down")

    async def current(self, *args: object) -> list[object]:
        raise ConnectionError("down")

    async def close(self) -> None:
        return None


async def test_an_unreachable_registry_is_a_503_and_typing_still_works(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    conversation = await _conversation(client, tenant)
    path = f"/api/v1/conversations/{conversation['id']}"
    server.container.viewers = _Unreachable()
    viewing = await client.post(f"{path}/viewing", json={"viewing": True}, headers=tenant.headers)
    assert viewing.status_code == 503
    assert viewing.json()["code"] == "unavailable"
    listed = await client.get(f"{path}/viewers", headers=tenant.headers)
    assert listed.status_code == 503
    typing = await client.post(f"{path}/typing", json={"typing": True}, headers=tenant.headers)
    assert typing.status_code == 204
