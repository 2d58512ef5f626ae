from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from omnidesk.conversations import service
from omnidesk.inboxes.models import Inbox
from omnidesk.jobs.models import Job
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from tests.conftest import Tenant, make_user
from tests.conversations.conftest import MakeContact

API = "/api/v1/conversations"


async def _open(
    client: httpx.AsyncClient, tenant: Tenant, contact_id: int, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        API,
        json={"contact_id": contact_id, "subject": "Order 1234 is late", **extra},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _event_types(client: httpx.AsyncClient, tenant: Tenant, cid: int) -> list[str]:
    events = await client.get(f"{API}/{cid}/events", headers=tenant.headers)
    return [e["type"] for e in events.json()]


async def test_open_change_and_resolve_a_conversation(
    client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact
) -> None:
    contact_id = await make_contact(tenant)
    agent, _ = await make_user(client, tenant, "agent")
    created = await _open(client, tenant, contact_id, tags=["Billing", "vip"], priority="high")
    assert created["status"] == "open"
    assert created["tags"] == ["billing", "vip"]
    cid = created["id"]
    changed = await client.patch(
        f"{API}/{cid}",
        json={"assignee_id": agent["id"], "priority": "urgent", "tags": ["vip"]},
        headers=tenant.headers,
    )
    assert changed.status_code == 200
    body = changed.json()
    assert (body["assignee_id"], body["priority"], body["tags"]) == (agent["id"], "urgent", ["vip"])
    resolved = await client.patch(
        f"{API}/{cid}", json={"status": "resolved"}, headers=tenant.headers
    )
    assert resolved.json()["resolved_at"] is not None
    assert await _event_types(client, tenant, cid) == [
        "conversation.created",
        "conversation.assigned",
        "conversation.updated",
        "conversation.resolved",
    ]


async def test_filters_and_cursor_pagination(
    client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact
) -> None:
    contact_id = await make_contact(tenant)
    ids = [
        (await _open(client, tenant, contact_id, tags=["t" + str(i % 2)]))["id"] for i in range(7)
    ]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(API, params=params, headers=tenant.headers)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True)
    tagged = (await client.get(API, params={"tag": "t1"}, headers=tenant.headers)).json()
    assert {c["id"] for c in tagged["items"]} == {ids[1], ids[3], ids[5]}
    await client.patch(f"{API}/{ids[0]}", json={"status": "pending"}, headers=tenant.headers)
    pending = (await client.get(API, params={"status": "pending"}, headers=tenant.headers)).json()
    assert [c["id"] for c in pending["items"]] == [ids[0]]
    bad = await client.get(API, params={"cursor": "!!not-a-cursor"}, headers=tenant.headers)
    assert bad.status_code == 400
    assert bad.json()["field"] == "cursor"


async def test_full_text_search_finds_message_bodies_and_subjects(
    client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact
) -> None:
    contact_id = await make_contact(tenant)
    first = await _open(client, tenant, contact_id, subject="Refund")
    second = await _open(client, tenant, contact_id, subject="Hello")
    await client.post(
        f"{API}/{second['id']}/messages",
        json={"body": "The parcel arrived crushed", "private": True},
        headers=tenant.headers,
    )

    async def search(q: str) -> list[int]:
        page = await client.get(API, params={"q": q}, headers=tenant.headers)
        assert page.status_code == 200, page.text
        return [c["id"] for c in page.json()["items"]]

    assert await search("crushed") == [second["id"]]
    assert await search("refund") == [first["id"]]
    # Query syntax in user input is searched for, not interpreted.
    assert await search('crushed" OR "') == []
    assert await search("NEAR(") == []


async def test_snooze_needs_a_future_time_and_wakes_up(
    client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact, db: Database
) -> None:
    cid = (await _open(client, tenant, await make_contact(tenant)))["id"]
    refused = await client.patch(f"{API}/{cid}", json={"status": "snoozed"}, headers=tenant.headers)
    assert refused.status_code == 422
    assert refused.json()["field"] == "snoozed_until"
    until = datetime.now(UTC) + timedelta(hours=2)
    snoozed = await client.patch(
        f"{API}/{cid}",
        json={"status": "snoozed", "snoozed_until": until.isoformat()},
        headers=tenant.headers,
    )
    assert snoozed.json()["status"] == "snoozed"
    async with db.transaction() as session:
        timer = await session.scalar(select(Job).where(Job.kind == "conversation.wake"))
        assert timer is not None
        assert timer.status == "pending"
        assert abs((timer.due_at - until).total_seconds()) < 1
    clock = FrozenClock(until - timedelta(minutes=1))
    async with db.transaction() as session:
        assert await service.wake(session, clock, cid) is False  # not due yet
    clock.advance(timedelta(minutes=2))
    async with db.transaction() as session:
        assert await service.wake(session, clock, cid) is True
    assert (await client.get(f"{API}/{cid}", headers=tenant.headers)).json()["status"] == "open"


async def test_unsnoozing_by_hand_cancels_the_wake_up(
    client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact, db: Database
) -> None:
    cid = (await _open(client, tenant, await make_contact(tenant)))["id"]
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    await client.patch(
        f"{API}/{cid}", json={"status": "snoozed", "snoozed_until": until}, headers=tenant.headers
    )
    await client.patch(f"{API}/{cid}", json={"status": "open"}, headers=tenant.headers)
    async with db.transaction() as session:
        timer = await session.scalar(select(Job).where(Job.kind == "conversation.wake"))
        assert timer is not None
        assert timer.status == "cancelled"


async def test_replies_go_to_the_outbox_and_notes_do_not(
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_contact: MakeContact,
    db: Database,
    make_inbox: Callable[[Tenant], Awaitable[Inbox]],
) -> None:
    inbox = await make_inbox(tenant)
    cid = (await _open(client, tenant, await make_contact(tenant), inbox_id=inbox.id))["id"]
    note = await client.post(
        f"{API}/{cid}/messages", json={"body": "VIP!", "private": True}, headers=tenant.headers
    )
    assert note.status_code == 201
    assert (note.json()["kind"], note.json()["delivery_status"]) == ("note", None)
    reply = await client.post(
        f"{API}/{cid}/messages", json={"body": "On its way"}, headers=tenant.headers
    )
    assert reply.status_code == 201
    assert reply.json()["delivery_status"] == "queued"
    async with db.transaction() as session:
        jobs = (await session.scalars(select(Job).where(Job.kind == "channel.deliver"))).all()
    assert [j.payload for j in jobs] == [{"message_id": reply.json()["id"]}]
    conversation = (await client.get(f"{API}/{cid}", headers=tenant.headers)).json()
    assert conversation["first_response_at"] is not None
    messages = (await client.get(f"{API}/{cid}/messages", headers=tenant.headers)).json()
    assert [m["body"] for m in messages["items"]] == ["VIP!", "On its way"]


async def test_reply_without_a_channel_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact
) -> None:
    cid = (await _open(client, tenant, await make_contact(tenant)))["id"]
    response = await client.post(
        f"{API}/{cid}/messages", json={"body": "hi"}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["field"] == "private"
    empty = await client.post(
        f"{API}/{cid}/messages", json={"body": "  ", "private": True}, headers=tenant.headers
    )
    assert empty.status_code == 422


async def _agent_replied(
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_contact: MakeContact,
    make_inbox: Callable[[Tenant], Awaitable[Inbox]],
) -> tuple[int, int]:
    """A conversation in an inbox and an agent's reply in it: their ids."""
    inbox = await make_inbox(tenant)
    cid = (await _open(client, tenant, await make_contact(tenant), inbox_id=inbox.id))["id"]
    reply = await client.post(f"{API}/{cid}/messages", json={"body": "x"}, headers=tenant.headers)
    return int(cid), int(reply.json()["id"])


async def test_delivery_updates_never_move_backwards(
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_contact: MakeContact,
    db: Database,
    make_inbox: Callable[[Tenant], Awaitable[Inbox]],
) -> None:
    cid, mid = await _agent_replied(client, tenant, make_contact, make_inbox)
    clock = FrozenClock()
    for state in ("read", "sent", "delivered"):
        async with db.transaction() as session:
            await service.record_delivery(
                session, clock, message_id=mid, state=state, channel_message_id="p-1"
            )
    messages = (await client.get(f"{API}/{cid}/messages", headers=tenant.headers)).json()
    assert messages["items"][0]["delivery_status"] == "read"


async def test_a_read_and_a_late_sent_racing_keep_the_message_read(
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_contact: MakeContact,
    db: Database,
    make_inbox: Callable[[Tenant], Awaitable[Inbox]],
) -> None:
    cid, mid = await _agent_replied(client, tenant, make_contact, make_inbox)
    clock = FrozenClock()

    async def record(state: str) -> None:
        async with db.transaction() as session:
            await service.record_delivery(session, clock, message_id=mid, state=state)

    # The reader's "read" is written but not committed when the delivery job records "sent".
    async with db.transaction() as reading:
        await service.record_delivery(reading, clock, message_id=mid, state="read")
        await reading.flush()
        late_sent = asyncio.create_task(record("sent"))
        await asyncio.sleep(0.2)  # the job reaches the message (and waits for the lock)
    await late_sent
    messages = (await client.get(f"{API}/{cid}/messages", headers=tenant.headers)).json()
    assert messages["items"][0]["delivery_status"] == "read"


async def test_agents_see_their_own_their_teams_and_unassigned_conversations(
    client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact
) -> None:
    contact_id = await make_contact(tenant)
    agent, agent_headers = await make_user(client, tenant, "agent")
    other, _ = await make_user(client, tenant, "agent")
    team = (
        await client.post("/api/v1/teams", json={"name": "Other team"}, headers=tenant.headers)
    ).json()
    unassigned = await _open(client, tenant, contact_id)
    mine = await _open(client, tenant, contact_id, assignee_id=agent["id"])
    theirs = await _open(client, tenant, contact_id, assignee_id=other["id"])
    other_team = await _open(client, tenant, contact_id, team_id=team["id"])
    listed = (await client.get(API, headers=agent_headers)).json()["items"]
    assert {c["id"] for c in listed} == {unassigned["id"], mine["id"]}
    for hidden in (theirs, other_team):
        assert (await client.get(f"{API}/{hidden['id']}", headers=agent_headers)).status_code == 404
    me = (await client.get(API, params={"assignee": "me"}, headers=agent_headers)).json()
    assert [c["id"] for c in me["items"]] == [mine["id"]]


async def test_another_accounts_ids_are_not_found(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, make_contact: MakeContact
) -> None:
    cid = (await _open(client, tenant, await make_contact(tenant)))["id"]
    foreign_contact = await make_contact(other_tenant)
    for method, path, body in (
        ("GET", f"{API}/{cid}", None),
        ("PATCH", f"{API}/{cid}", {"status": "resolved"}),
        ("GET", f"{API}/{cid}/messages", None),
        ("POST", f"{API}/{cid}/messages", {"body": "x", "private": True}),
        ("GET", f"{API}/{cid}/events", None),
    ):
        response = await client.request(method, path, json=body, headers=other_tenant.headers)
        assert response.status_code == 404, (method, path)
        assert response.json()["code"] == "not_found"
    assert (await client.get(API, headers=other_tenant.headers)).json()["items"] == []
    # Another account's contact or user cannot be used either.
    response = await client.post(API, json={"contact_id": foreign_contact}, headers=tenant.headers)
    assert response.status_code == 404
    response = await client.patch(
        f"{API}/{cid}", json={"assignee_id": other_tenant.admin_id}, headers=tenant.headers
    )
    assert (response.status_code, response.json()["field"]) == (404, "assignee_id")
