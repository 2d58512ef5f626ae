"""Typed conversation fields on every write, and required-on-resolve."""

from __future__ import annotations

import httpx
import pytest

from omnidesk.conversations import repository as repo
from omnidesk.conversations import service
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from tests.conftest import Tenant
from tests.conversations.conftest import MakeContact
from tests.forms.conftest import CONVERSATIONS, define, open_conversation


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"order_count": "three"}, "custom_fields.order_count"),
        ({"order_count": True}, "custom_fields.order_count"),
        ({"reason": "Broken"}, "custom_fields.reason"),
        ({"due": "5 January"}, "custom_fields.due"),
        ({"gift": "yes"}, "custom_fields.gift"),
        ({"nope": "x"}, "custom_fields.nope"),
        ({"note": 12}, "custom_fields.note"),
    ],
)
async def test_a_value_of_the_wrong_type_is_refused_on_its_field(
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_contact: MakeContact,
    values: dict[str, object],
    field: str,
) -> None:
    await define(client, tenant, "order_count", "number")
    await define(client, tenant, "reason", "list", options=["Damaged", "Late"])
    await define(client, tenant, "due", "date")
    await define(client, tenant, "gift", "boolean")
    await define(client, tenant, "note", "text")
    conversation = await open_conversation(client, tenant, await make_contact(tenant))
    response = await client.patch(
        f"{CONVERSATIONS}/{conversation['id']}",
        json={"custom_fields": values},
        headers=tenant.headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    created = await client.post(
        CONVERSATIONS,
        json={"contact_id": conversation["contact_id"], "custom_fields": values},
        headers=tenant.headers,
    )
    assert (created.status_code, created.json()["field"]) == (422, field)


async def test_values_merge_are_stored_as_given_and_each_change_is_an_event(
    client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact
) -> None:
    await define(client, tenant, "order_count", "number")
    await define(client, tenant, "note", "text")
    await define(client, tenant, "gift", "boolean")
    conversation = await open_conversation(client, tenant, await make_contact(tenant))
    url = f"{CONVERSATIONS}/{conversation['id']}"
    script = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    first = await client.patch(
        url, json={"custom_fields": {"order_count": 3, "note": script}}, headers=tenant.headers
    )
    assert first.status_code == 200, first.text
    second = await client.patch(
        url, json={"custom_fields": {"gift": True, "order_count": None}}, headers=tenant.headers
    )
    # Merged: the note stays, the count is cleared, the text is kept verbatim (rendered as
    # text, never as HTML, by every client of ours).
    assert second.json()["custom_fields"] == {"note": script, "gift": True}
    events = (await client.get(f"{url}/events", headers=tenant.headers)).json()
    changes = [
        e["data"]["changes"]["custom_fields"] for e in events if e["type"] == "conversation.updated"
    ]
    assert changes == [
        {"from": {}, "to": {"order_count": 3, "note": script}},
        {"from": {"order_count": 3, "note": script}, "to": {"note": script, "gift": True}},
    ]


async def test_a_required_field_blocks_resolving_until_it_is_filled(
    client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact
) -> None:
    await define(client, tenant, "order_number", "text", required_on_resolve=True)
    await define(client, tenant, "confirmed", "boolean", required_on_resolve=True)
    await define(client, tenant, "note", "text")
    conversation = await open_conversation(client, tenant, await make_contact(tenant))
    url = f"{CONVERSATIONS}/{conversation['id']}"
    for status in ("resolved", "closed"):
        refused = await client.patch(url, json={"status": status}, headers=tenant.headers)
        assert refused.status_code == 422
        body = refused.json()
        assert body["code"] == "required_fields_missing"
        assert body["field"] == "custom_fields.order_number"
        assert body["details"] == {"missing": ["order_number", "confirmed"]}
        assert "Order Number" in body["message"]
    # Blank text and an unticked box are not filled in.
    half = await client.patch(
        url,
        json={"custom_fields": {"order_number": "  ", "confirmed": False}, "status": "resolved"},
        headers=tenant.headers,
    )
    assert half.json()["details"] == {"missing": ["order_number", "confirmed"]}
    after = await client.get(url, headers=tenant.headers)
    assert after.json()["status"] == "open"
    assert after.json()["custom_fields"] == {}  # the refused request changed nothing
    done = await client.patch(
        url,
        json={"custom_fields": {"order_number": "A-1", "confirmed": True}, "status": "resolved"},
        headers=tenant.headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "resolved"


async def test_the_system_resolves_without_the_required_fields(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, make_contact: MakeContact
) -> None:
    await define(client, tenant, "order_number", "text", required_on_resolve=True)
    conversation = await open_conversation(client, tenant, await make_contact(tenant))
    async with db.transaction() as session:
        row = await repo.get_in_account(session, tenant.account_id, conversation["id"])
        assert row is not None
        await service.change_status(session, FrozenClock(), row, "resolved", actor_user_id=None)
    got = await client.get(f"{CONVERSATIONS}/{conversation['id']}", headers=tenant.headers)
    assert got.json()["status"] == "resolved"


async def test_only_conversation_fields_are_required_on_resolve(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/v1/attribute-definitions",
        json={"key": "plan", "label": "Plan", "type": "text", "required_on_resolve": True},
        headers=tenant.headers,
    )
    assert (response.status_code, response.json()["field"]) == (422, "required_on_resolve")
    made = await define(client, tenant, "plan", "text")
    assert made["required_on_resolve"] is False
    changed = await client.patch(
        f"/api/v1/attribute-definitions/{made['id']}",
        json={"required_on_resolve": True},
        headers=tenant.headers,
    )
    assert changed.json()["required_on_resolve"] is True
