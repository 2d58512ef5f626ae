"""Ticket forms: CRUD, applying without overwriting, per-inbox defaults, tenancy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from omnidesk.channels.base import Inbound, InboundSender
from omnidesk.conversations import service
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from tests.conftest import Tenant, make_user
from tests.conversations.conftest import MakeContact
from tests.forms.conftest import CONVERSATIONS, define, open_conversation

FORMS = "/api/v1/ticket-forms"
MakeInbox = Callable[[Tenant], Awaitable[Inbox]]


async def _fields(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await define(client, tenant, "order_number", "text")
    await define(client, tenant, "reason", "list", options=["Damaged", "Late", "Other"])
    await define(client, tenant, "refund", "boolean")


async def _form(client: httpx.AsyncClient, tenant: Tenant, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "Return request",
        "fields": [
            {"key": "order_number", "required": True},
            {"key": "reason", "default": "Damaged"},
            {"key": "refund", "default": True},
        ],
        "subject": "Return",
        "priority": "high",
        "tags": ["Returns"],
        **extra,
    }
    response = await client.post(FORMS, json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_admins_write_forms_and_agents_read_them(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _fields(client, tenant)
    form = await _form(client, tenant)
    assert [f["key"] for f in form["fields"]] == ["order_number", "reason", "refund"]
    assert (form["tags"], form["priority"], form["inbox_ids"]) == (["returns"], "high", [])
    _, agent = await make_user(client, tenant, "agent")
    listed = await client.get(FORMS, headers=agent)
    assert [f["id"] for f in listed.json()] == [form["id"]]
    refused = await client.post(FORMS, json={"name": "Mine"}, headers=agent)
    assert refused.status_code == 403
    url = f"{FORMS}/{form['id']}"
    assert (await client.patch(url, json={"name": "x"}, headers=agent)).status_code == 403
    changed = await client.patch(
        url, json={"name": "Returns", "priority": None, "fields": []}, headers=tenant.headers
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["priority"], changed.json()["fields"]) == (
        "Returns",
        None,
        [],
    )
    taken = await client.post(FORMS, json={"name": "Returns"}, headers=tenant.headers)
    assert (taken.status_code, taken.json()["field"]) == (409, "name")
    assert (await client.delete(url, headers=tenant.headers)).status_code == 204
    assert (await client.get(url, headers=tenant.headers)).status_code == 404


async def test_a_form_with_bad_fields_is_refused_on_the_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _fields(client, tenant)
    cases = [
        ([{"key": "unknown"}], "fields.0.key"),
        ([{"key": "reason"}, {"key": "reason"}], "fields.1.key"),
        ([{"key": "reason", "default": "Lost"}], "fields.0.default"),
        ([{"key": "refund", "default": "yes"}], "fields.0.default"),
    ]
    for fields, where in cases:
        response = await client.post(
            FORMS, json={"name": "Bad", "fields": fields}, headers=tenant.headers
        )
        assert (response.status_code, response.json()["field"]) == (422, where), fields


async def test_applying_a_form_fills_only_what_is_blank(
    client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact
) -> None:
    await _fields(client, tenant)
    form = await _form(client, tenant)
    conversation = await open_conversation(
        client,
        tenant,
        await make_contact(tenant),
        subject="My parcel",
        priority="low",
        tags=["vip"],
        custom_fields={"reason": "Late"},
    )
    url = f"{CONVERSATIONS}/{conversation['id']}"
    applied = await client.post(
        f"{url}/ticket-form", json={"form_id": form["id"]}, headers=tenant.headers
    )
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert body["ticket_form_id"] == form["id"]
    assert body["custom_fields"] == {"reason": "Late", "refund": True}
    assert (body["subject"], body["priority"], body["tags"]) == (
        "My parcel",
        "low",
        ["returns", "vip"],
    )
    events = (await client.get(f"{url}/events", headers=tenant.headers)).json()
    [event] = [e for e in events if e["type"] == "conversation.form_applied"]
    assert event["data"]["set"] == {"custom_fields": {"refund": True}, "tags_added": ["returns"]}
    # The form's required field now blocks resolving, until it is filled in.
    refused = await client.patch(url, json={"status": "resolved"}, headers=tenant.headers)
    assert refused.json()["details"] == {"missing": ["order_number"]}
    done = await client.patch(
        url,
        json={"status": "resolved", "custom_fields": {"order_number": "A-7"}},
        headers=tenant.headers,
    )
    assert done.json()["status"] == "resolved"
    # Deleting the form leaves the values; the conversation no longer shows a form.
    assert (await client.delete(f"{FORMS}/{form['id']}", headers=tenant.headers)).status_code == 204
    after = (await client.get(url, headers=tenant.headers)).json()
    assert (after["ticket_form_id"], after["custom_fields"]["order_number"]) == (None, "A-7")


async def test_a_new_conversation_of_an_inbox_gets_its_form(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    make_inbox: MakeInbox,
    make_contact: MakeContact,
) -> None:
    await _fields(client, tenant)
    inbox = await make_inbox(tenant)
    form = await _form(client, tenant, inbox_ids=[inbox.id])
    assert form["inbox_ids"] == [inbox.id]
    other = await client.post(
        FORMS, json={"name": "Other", "inbox_ids": [inbox.id]}, headers=tenant.headers
    )
    assert (other.status_code, other.json()["field"]) == (409, "inbox_ids")
    # A customer's first message opens a conversation with the form's defaults.
    async with db.transaction() as session:
        received = await service.receive_inbound(
            session,
            FrozenClock(),
            inbox=inbox,
            inbound=Inbound(
                channel_message_id="m-1",
                sender=InboundSender(kind="email", value="carla@example.com", name="Carla"),
                body="My parcel arrived broken",
            ),
        )
        cid = received.conversation.id
    got = (await client.get(f"{CONVERSATIONS}/{cid}", headers=tenant.headers)).json()
    assert (got["ticket_form_id"], got["subject"], got["priority"], got["tags"]) == (
        form["id"],
        "Return",
        "high",
        ["returns"],
    )
    assert got["custom_fields"] == {"reason": "Damaged", "refund": True}
    # An agent's conversation in that inbox gets it too; one chosen explicitly wins.
    contact_id = await make_contact(tenant)
    made = await open_conversation(client, tenant, contact_id, inbox_id=inbox.id)
    assert made["ticket_form_id"] == form["id"]
    plain = (await client.post(FORMS, json={"name": "Plain"}, headers=tenant.headers)).json()
    chosen = await open_conversation(
        client, tenant, contact_id, inbox_id=inbox.id, ticket_form_id=plain["id"]
    )
    assert (chosen["ticket_form_id"], chosen["priority"]) == (plain["id"], "normal")


async def test_another_accounts_forms_inboxes_and_conversations_are_not_found(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    make_inbox: MakeInbox,
    make_contact: MakeContact,
) -> None:
    await _fields(client, tenant)
    form = await _form(client, tenant)
    theirs = await make_inbox(other_tenant)
    their_conversation = await open_conversation(
        client, other_tenant, await make_contact(other_tenant)
    )
    url = f"{FORMS}/{form['id']}"
    assert (await client.get(url, headers=other_tenant.headers)).status_code == 404
    assert (
        await client.patch(url, json={"name": "x"}, headers=other_tenant.headers)
    ).status_code == 404
    assert (await client.delete(url, headers=other_tenant.headers)).status_code == 404
    linked = await client.patch(url, json={"inbox_ids": [theirs.id]}, headers=tenant.headers)
    assert (linked.status_code, linked.json()["field"]) == (404, "inbox_ids")
    applied = await client.post(
        f"{CONVERSATIONS}/{their_conversation['id']}/ticket-form",
        json={"form_id": form["id"]},
        headers=other_tenant.headers,
    )
    assert (applied.status_code, applied.json()["field"]) == (404, "form_id")
    chosen = await client.post(
        CONVERSATIONS,
        json={"contact_id": their_conversation["contact_id"], "ticket_form_id": form["id"]},
        headers=other_tenant.headers,
    )
    assert (chosen.status_code, chosen.json()["field"]) == (404, "ticket_form_id")
    assert (await client.get(FORMS, headers=other_tenant.headers)).json() == []
