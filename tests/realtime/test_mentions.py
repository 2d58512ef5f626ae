"""A note's mention reaches the mentioned agent live (so their desktop can tell them), even
when the conversation belongs to someone else; nobody else hears of it."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant, make_user
from tests.realtime.conftest import LiveServer, next_event, receive


async def _conversation(client: httpx.AsyncClient, tenant: Tenant, **fields: object) -> int:
    contact = await client.post("/api/v1/contacts", json={"name": "Carla"}, headers=tenant.headers)
    assert contact.status_code == 201, contact.text
    response = await client.post(
        "/api/v1/conversations",
        json={"contact_id": contact.json()["id"], **fields},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_the_mentioned_agent_alone_is_told(
    server: LiveServer, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ann, ann_h = await make_user(client, tenant, "agent", name="Ann")
    _, bob_h = await make_user(client, tenant, "agent", name="Bob")
    carl, _ = await make_user(client, tenant, "agent", name="Carl")
    carls = await _conversation(client, tenant, assignee_id=carl["id"])
    anyones = await _conversation(client, tenant)  # unassigned: every agent sees it
    async with (
        server.ws(headers=ann_h, origin=server.base_url) as ann_ws,
        server.ws(headers=bob_h, origin=server.base_url) as bob_ws,
    ):
        assert (await receive(ann_ws))["type"] == "hello"
        assert (await receive(bob_ws))["type"] == "hello"
        note = await client.post(
            f"/api/v1/conversations/{carls}/messages",
            json={"body": "@Ann can you check?", "private": True, "mentions": [ann["id"]]},
            headers=tenant.headers,
        )
        assert note.status_code == 201, note.text
        # A marker every agent sees, after the note.
        marker = await client.post(
            f"/api/v1/conversations/{anyones}/messages",
            json={"body": "marker", "private": True},
            headers=tenant.headers,
        )
        assert marker.status_code == 201, marker.text

        told = await next_event(ann_ws)
        assert told["type"] == "note.mentioned"
        assert told["conversation_id"] == carls
        assert told["data"]["mentioned_user_id"] == ann["id"]
        assert told["data"]["message_id"] == note.json()["id"]
        assert told["data"]["excerpt"] == "@Ann can you check?"
        assert (await next_event(ann_ws))["conversation_id"] == anyones
        # Bob was not mentioned and does not hold Carl's conversation: the marker comes first.
        first = await next_event(bob_ws)
        assert (first["type"], first["conversation_id"]) == ("note.created", anyones)
