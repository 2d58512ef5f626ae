"""What an agent chooses beyond the text of a message: email fields only on email replies,
mentions only on internal notes and only of the account's active users."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from omnidesk.inboxes.models import Inbox
from tests.conftest import Tenant, make_user
from tests.conversations.conftest import MakeContact

API = "/api/v1/conversations"


async def _conversation(
    client: httpx.AsyncClient, tenant: Tenant, contact_id: int, **extra: Any
) -> int:
    response = await client.post(
        API, json={"contact_id": contact_id, **extra}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_email_fields_are_refused_outside_email_inboxes(
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_contact: MakeContact,
    make_inbox: Callable[[Tenant], Awaitable[Inbox]],
) -> None:
    inbox = await make_inbox(tenant)  # an API channel inbox
    cid = await _conversation(client, tenant, await make_contact(tenant), inbox_id=inbox.id)
    for extra in ({"to": ["a@example.com"]}, {"cc": []}, {"subject": "Hi"}, {"html": "<b>x</b>"}):
        response = await client.post(
            f"{API}/{cid}/messages", json={"body": "hello", **extra}, headers=tenant.headers
        )
        assert response.status_code == 422, response.text
        error = response.json()
        assert error["field"] == next(iter(extra))
        assert "email inbox" in error["message"]


async def test_a_note_mentions_users_of_the_account(
    client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact
) -> None:
    ann, _ = await make_user(client, tenant, "agent", name="Ann")
    bob, _ = await make_user(client, tenant, "agent", name="Bob")
    cid = await _conversation(client, tenant, await make_contact(tenant))
    note = await client.post(
        f"{API}/{cid}/messages",
        json={
            "body": "@Ann @Bob look",
            "private": True,
            "mentions": [ann["id"], bob["id"], ann["id"]],
        },
        headers=tenant.headers,
    )
    assert note.status_code == 201, note.text
    assert note.json()["meta"]["mentions"] == [ann["id"], bob["id"]]
    events = (await client.get(f"{API}/{cid}/events", headers=tenant.headers)).json()
    mentioned = [e for e in events if e["type"] == "note.mentioned"]
    assert sorted(e["data"]["mentioned_user_id"] for e in mentioned) == sorted(
        [ann["id"], bob["id"]]
    )
    assert all(e["data"]["message_id"] == note.json()["id"] for e in mentioned)
    assert all(e["actor_user_id"] == tenant.admin_id for e in mentioned)


async def test_mentions_of_other_accounts_unknown_or_inactive_users_are_refused(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    make_contact: MakeContact,
) -> None:
    stranger, _ = await make_user(client, other_tenant, "agent", name="Stranger")
    gone, _ = await make_user(client, tenant, "agent", name="Gone")
    deactivated = await client.patch(
        f"/api/v1/users/{gone['id']}", json={"active": False}, headers=tenant.headers
    )
    assert deactivated.status_code == 200, deactivated.text
    cid = await _conversation(client, tenant, await make_contact(tenant))
    for user_id in (stranger["id"], gone["id"], 2**62):
        response = await client.post(
            f"{API}/{cid}/messages",
            json={"body": "look", "private": True, "mentions": [user_id]},
            headers=tenant.headers,
        )
        assert response.status_code == 404, response.text
        assert response.json()["field"] == "mentions"
    events = (await client.get(f"{API}/{cid}/events", headers=tenant.headers)).json()
    assert not [e for e in events if e["type"] in ("note.created", "note.mentioned")]


async def test_only_a_note_mentions(
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_contact: MakeContact,
    make_inbox: Callable[[Tenant], Awaitable[Inbox]],
) -> None:
    inbox = await make_inbox(tenant)
    cid = await _conversation(client, tenant, await make_contact(tenant), inbox_id=inbox.id)
    response = await client.post(
        f"{API}/{cid}/messages",
        json={"body": "hi", "mentions": [tenant.admin_id]},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["field"] == "mentions"
