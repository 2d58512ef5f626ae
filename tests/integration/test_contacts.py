from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from omnidesk.accounts.models import Account
from omnidesk.contacts import repository
from omnidesk.contacts.models import Contact, Identity
from omnidesk.contacts.service import resolve_contact
from omnidesk.conversations.models import Conversation
from omnidesk.events import service as events
from omnidesk.events.models import Event
from omnidesk.kit.clock import SystemClock
from omnidesk.kit.db import Database
from tests.conftest import Tenant, make_user

CLOCK = SystemClock()


async def _create(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/contacts", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _define(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/attribute-definitions", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _values(contact: dict[str, Any]) -> set[tuple[str, str]]:
    return {(i["kind"], i["value"]) for i in contact["identities"]}


# CRUD and normalisation -----------------------------------------------------------------


async def test_create_get_and_update_a_contact(client: httpx.AsyncClient, tenant: Tenant) -> None:
    company = await client.post(
        "/api/v1/companies",
        json={"name": "Acme Ltd", "domain": "Acme.example"},
        headers=tenant.headers,
    )
    assert company.status_code == 201
    assert company.json()["domain"] == "acme.example"
    created = await _create(
        client,
        tenant,
        name="Jane Doe",
        company_id=company.json()["id"],
        identities=[
            {"kind": "email", "value": "  Jane.Doe@Example.COM "},
            {"kind": "phone", "value": "(415) 555-2671"},
            {"kind": "email", "value": "jane.doe@example.com"},
        ],
    )
    assert _values(created) == {("email", "jane.doe@example.com"), ("phone", "+14155552671")}
    assert created["company"]["name"] == "Acme Ltd"
    assert created["merged_into_id"] is None

    fetched = await client.get(f"/api/v1/contacts/{created['id']}", headers=tenant.headers)
    assert fetched.json() == created

    updated = await client.patch(
        f"/api/v1/contacts/{created['id']}",
        json={"name": "Jane Smith", "company_id": None},
        headers=tenant.headers,
    )
    assert updated.status_code == 200
    assert updated.json()["name"] == "Jane Smith"
    assert updated.json()["company"] is None
    assert _values(updated.json()) == _values(created)


async def test_phone_numbers_are_read_in_the_accounts_region(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    async with db.transaction() as session:
        account = await session.get(Account, tenant.account_id)
        assert account is not None
        account.settings = {"default_phone_region": "GB"}
    created = await _create(
        client, tenant, identities=[{"kind": "phone", "value": "020 7946 0958"}]
    )
    assert _values(created) == {("phone", "+442079460958")}
    added = await client.post(
        f"/api/v1/contacts/{created['id']}/identities",
        json={"kind": "whatsapp", "value": "+1 (415) 555-2671"},
        headers=tenant.headers,
    )
    assert added.status_code == 201
    assert added.json()["value"] == "+14155552671"


async def test_invalid_identities_are_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    refused = await client.post(
        "/api/v1/contacts",
        json={
            "identities": [{"kind": "email", "value": "a@b.com"}, {"kind": "phone", "value": "12"}]
        },
        headers=tenant.headers,
    )
    assert refused.status_code == 422
    assert refused.json() == {
        "code": "validation_error",
        "message": "not a valid phone number",
        "field": "identities.1.value",
    }
    contact = await _create(client, tenant, name="Bob")
    bad_email = await client.post(
        f"/api/v1/contacts/{contact['id']}/identities",
        json={"kind": "email", "value": "bob at example"},
        headers=tenant.headers,
    )
    assert bad_email.status_code == 422
    assert bad_email.json()["field"] == "value"
    unknown_kind = await client.post(
        f"/api/v1/contacts/{contact['id']}/identities",
        json={"kind": "fax", "value": "123"},
        headers=tenant.headers,
    )
    assert unknown_kind.status_code == 422
    assert unknown_kind.json()["field"] == "kind"
    nothing_created = await client.get("/api/v1/contacts", headers=tenant.headers)
    assert [c["name"] for c in nothing_created.json()["items"]] == ["Bob"]


async def test_an_identity_belongs_to_one_contact_of_the_account(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    first = await _create(client, tenant, identities=[{"kind": "email", "value": "x@example.com"}])
    duplicate = await client.post(
        "/api/v1/contacts",
        json={"identities": [{"kind": "email", "value": "X@EXAMPLE.com"}]},
        headers=tenant.headers,
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "conflict"
    assert duplicate.json()["field"] == "identities.0.value"

    second = await _create(client, tenant, name="Second")
    taken = await client.post(
        f"/api/v1/contacts/{second['id']}/identities",
        json={"kind": "email", "value": "x@example.com"},
        headers=tenant.headers,
    )
    assert taken.status_code == 409
    assert taken.json()["field"] == "value"
    # The same handle of another kind, or in another account, is another identity.
    other_kind = await client.post(
        f"/api/v1/contacts/{second['id']}/identities",
        json={"kind": "external", "value": "x@example.com"},
        headers=tenant.headers,
    )
    assert other_kind.status_code == 201
    await _create(client, other_tenant, identities=[{"kind": "email", "value": "x@example.com"}])

    again = await client.post(
        f"/api/v1/contacts/{first['id']}/identities",
        json={"kind": "email", "value": "x@Example.com"},
        headers=tenant.headers,
    )
    assert again.status_code == 201
    assert again.json()["id"] == first["identities"][0]["id"]


async def test_removing_an_identity_frees_it(client: httpx.AsyncClient, tenant: Tenant) -> None:
    first = await _create(client, tenant, identities=[{"kind": "telegram", "value": "777"}])
    identity_id = first["identities"][0]["id"]
    second = await _create(client, tenant, name="Second")
    wrong_contact = await client.delete(
        f"/api/v1/contacts/{second['id']}/identities/{identity_id}", headers=tenant.headers
    )
    assert wrong_contact.status_code == 404
    removed = await client.delete(
        f"/api/v1/contacts/{first['id']}/identities/{identity_id}", headers=tenant.headers
    )
    assert removed.status_code == 204
    fetched = await client.get(f"/api/v1/contacts/{first['id']}", headers=tenant.headers)
    assert fetched.json()["identities"] == []
    moved = await client.post(
        f"/api/v1/contacts/{second['id']}/identities",
        json={"kind": "telegram", "value": "777"},
        headers=tenant.headers,
    )
    assert moved.status_code == 201


async def test_input_postgresql_would_refuse_is_a_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant.headers
    for method, path, body in [
        ("POST", "/api/v1/contacts", {"name": "a\x00b"}),
        ("POST", "/api/v1/contacts", {"identities": [{"kind": "telegram", "value": "1\x002"}]}),
        ("POST", "/api/v1/companies", {"name": "Acme", "attributes": {"note": "\x00"}}),
        ("GET", f"/api/v1/contacts/{2**64}", None),
    ]:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 422, (path, body, response.text)
    nan = await client.post(
        "/api/v1/companies",
        content=b'{"name": "Acme", "attributes": {"size": NaN}}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert nan.status_code == 422
    search = await client.get("/api/v1/contacts", params={"q": "\x00"}, headers=headers)
    assert search.status_code == 422
    assert search.json()["field"] == "q"


# Listing --------------------------------------------------------------------------------


async def test_search_matches_names_and_identities(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    company = (
        await client.post("/api/v1/companies", json={"name": "Initech"}, headers=tenant.headers)
    ).json()
    jane = await _create(
        client,
        tenant,
        name="Jane Doe",
        company_id=company["id"],
        identities=[{"kind": "email", "value": "jane@initech.example"}],
    )
    john = await _create(
        client, tenant, name="John 100%", identities=[{"kind": "phone", "value": "+14155552671"}]
    )
    await _create(client, tenant, name="Zed")

    async def search(**params: Any) -> list[int]:
        response = await client.get("/api/v1/contacts", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    assert await search(q="jANE") == [jane["id"]]
    assert await search(q="INITECH.example") == [jane["id"]]
    assert await search(q="(415) 555-2671") == [john["id"]]
    assert await search(q="100%") == [john["id"]]
    assert await search(q="%") == [john["id"]]
    assert await search(q="_") == []
    assert await search(company_id=company["id"]) == [jane["id"]]
    assert await search(q="john", company_id=company["id"]) == []
    assert len(await search()) == 3


async def test_pagination_walks_every_contact_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ids = [(await _create(client, tenant, name=f"C{n}"))["id"] for n in range(7)]
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/contacts", params=params, headers=tenant.headers)).json()
        seen += [c["id"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(ids, reverse=True)

    bad_cursor = await client.get(
        "/api/v1/contacts", params={"cursor": "garbage"}, headers=tenant.headers
    )
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["field"] == "cursor"
    too_many = await client.get("/api/v1/contacts", params={"limit": 201}, headers=tenant.headers)
    assert too_many.status_code == 422
    assert too_many.json()["field"] == "limit"


# Custom attributes ----------------------------------------------------------------------


async def test_attribute_definitions_are_admin_only_to_change(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    _, agent = await make_user(client, tenant, "agent")
    refused = await client.post(
        "/api/v1/attribute-definitions",
        json={"key": "plan", "label": "Plan", "type": "text"},
        headers=agent,
    )
    assert refused.status_code == 403
    plan = await _define(client, tenant, key="plan", label="Plan", type="list", options=["a", "b"])
    duplicate = await client.post(
        "/api/v1/attribute-definitions",
        json={"key": "plan", "label": "Plan again", "type": "text"},
        headers=tenant.headers,
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["field"] == "key"
    # The same key may name a conversation attribute.
    await _define(client, tenant, key="plan", label="Plan", type="text", applies_to="conversation")
    no_options = await client.post(
        "/api/v1/attribute-definitions",
        json={"key": "tier", "label": "Tier", "type": "list"},
        headers=tenant.headers,
    )
    assert no_options.status_code == 422
    assert no_options.json()["field"] == "options"
    bad_key = await client.post(
        "/api/v1/attribute-definitions",
        json={"key": "Bad Key", "label": "x", "type": "text"},
        headers=tenant.headers,
    )
    assert bad_key.status_code == 422
    assert bad_key.json()["field"] == "key"

    listed = await client.get(
        "/api/v1/attribute-definitions", params={"applies_to": "contact"}, headers=agent
    )
    assert [d["id"] for d in listed.json()] == [plan["id"]]
    relabelled = await client.patch(
        f"/api/v1/attribute-definitions/{plan['id']}",
        json={"label": "Pricing plan", "options": ["a", "b", "c"]},
        headers=tenant.headers,
    )
    assert relabelled.json()["options"] == ["a", "b", "c"]
    assert relabelled.json()["type"] == "list"
    assert (
        await client.delete(f"/api/v1/attribute-definitions/{plan['id']}", headers=agent)
    ).status_code == 403
    assert (
        await client.delete(f"/api/v1/attribute-definitions/{plan['id']}", headers=tenant.headers)
    ).status_code == 204


async def test_contact_attributes_are_checked_against_the_definitions(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _define(client, tenant, key="plan", label="Plan", type="list", options=["free", "pro"])
    await _define(client, tenant, key="seats", label="Seats", type="number")
    await _define(client, tenant, key="renewal", label="Renewal", type="date")
    await _define(client, tenant, key="site", label="Site", type="url")

    unknown = await client.post(
        "/api/v1/contacts", json={"attributes": {"shoe_size": 44}}, headers=tenant.headers
    )
    assert unknown.status_code == 422
    assert unknown.json() == {
        "code": "validation_error",
        "message": "'shoe_size' is not a defined contact attribute",
        "field": "attributes.shoe_size",
    }
    for key, value in [
        ("seats", "twelve"),
        ("plan", "gold"),
        ("renewal", "next week"),
        ("site", "ftp://x.example"),
    ]:
        wrong = await client.post(
            "/api/v1/contacts", json={"attributes": {key: value}}, headers=tenant.headers
        )
        assert wrong.status_code == 422, key
        assert wrong.json()["code"] == "validation_error"
        assert wrong.json()["field"] == f"attributes.{key}"

    contact = await _create(
        client, tenant, attributes={"plan": "pro", "seats": 3, "renewal": "2026-04-01"}
    )
    assert contact["attributes"] == {"plan": "pro", "seats": 3, "renewal": "2026-04-01"}
    updated = await client.patch(
        f"/api/v1/contacts/{contact['id']}",
        json={"attributes": {"seats": 4.5, "renewal": None, "site": "https://acme.example"}},
        headers=tenant.headers,
    )
    assert updated.json()["attributes"] == {
        "plan": "pro",
        "seats": 4.5,
        "site": "https://acme.example",
    }
    wrong_update = await client.patch(
        f"/api/v1/contacts/{contact['id']}",
        json={"attributes": {"seats": True}},
        headers=tenant.headers,
    )
    assert wrong_update.status_code == 422
    assert wrong_update.json()["field"] == "attributes.seats"


# Companies ------------------------------------------------------------------------------


async def test_companies_crud_with_unique_names(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await client.post(
        "/api/v1/companies",
        json={"name": "Globex", "domain": "globex.example", "attributes": {"tier": 1}},
        headers=tenant.headers,
    )
    assert created.status_code == 201
    company = created.json()
    other = (
        await client.post("/api/v1/companies", json={"name": "Hooli"}, headers=tenant.headers)
    ).json()
    duplicate = await client.post(
        "/api/v1/companies", json={"name": "Globex"}, headers=tenant.headers
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["field"] == "name"
    rename_clash = await client.patch(
        f"/api/v1/companies/{other['id']}", json={"name": "Globex"}, headers=tenant.headers
    )
    assert rename_clash.status_code == 409
    renamed = await client.patch(
        f"/api/v1/companies/{other['id']}", json={"name": "Hooli XYZ"}, headers=tenant.headers
    )
    assert renamed.json()["name"] == "Hooli XYZ"

    found = await client.get("/api/v1/companies", params={"q": "GLOBEX.ex"}, headers=tenant.headers)
    assert [c["id"] for c in found.json()["items"]] == [company["id"]]
    everything = await client.get("/api/v1/companies", headers=tenant.headers)
    assert [c["id"] for c in everything.json()["items"]] == [other["id"], company["id"]]

    contact = await _create(client, tenant, company_id=company["id"])
    _, agent = await make_user(client, tenant, "agent")
    assert (
        await client.delete(f"/api/v1/companies/{company['id']}", headers=agent)
    ).status_code == 403
    deleted = await client.delete(f"/api/v1/companies/{company['id']}", headers=tenant.headers)
    assert deleted.status_code == 204
    assert (
        await client.get(f"/api/v1/companies/{company['id']}", headers=tenant.headers)
    ).status_code == 404
    after = await client.get(f"/api/v1/contacts/{contact['id']}", headers=tenant.headers)
    assert after.json()["company_id"] is None
    unknown_company = await client.post(
        "/api/v1/contacts", json={"company_id": company["id"]}, headers=tenant.headers
    )
    assert unknown_company.status_code == 404
    assert unknown_company.json()["field"] == "company_id"


# Merge ----------------------------------------------------------------------------------


async def _conversation_for(db: Database, account_id: int, contact_id: int) -> int:
    now = datetime.now(UTC)
    async with db.transaction() as session:
        conversation = Conversation(
            account_id=account_id,
            contact_id=contact_id,
            subject="Where is my order?",
            status="open",
            priority="normal",
            custom_fields={},
            created_at=now,
            updated_at=now,
            last_activity_at=now,
        )
        session.add(conversation)
        await session.flush()
        await events.record(
            session,
            account_id=account_id,
            type="conversation.created",
            conversation_id=conversation.id,
            contact_id=contact_id,
        )
        return conversation.id


async def _owner_ids(db: Database, model: type[Conversation | Event], ids: list[int]) -> set[int]:
    async with db.transaction() as session:
        rows = await session.scalars(select(model.contact_id).where(model.id.in_(ids)))
        return {row for row in rows if row is not None}


async def test_merge_moves_everything_and_undo_restores_exactly(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await _define(client, tenant, key="plan", label="Plan", type="list", options=["free", "pro"])
    await _define(client, tenant, key="seats", label="Seats", type="number")
    survivor = await _create(
        client,
        tenant,
        name="Jane",
        identities=[{"kind": "email", "value": "jane@example.com"}],
        attributes={"plan": "pro"},
    )
    merged = await _create(
        client,
        tenant,
        name="J. Doe",
        identities=[
            {"kind": "phone", "value": "+14155552671"},
            {"kind": "whatsapp", "value": "+14155552671"},
        ],
        attributes={"plan": "free", "seats": 5},
    )
    conversation_id = await _conversation_for(db, tenant.account_id, merged["id"])
    merged_events = [
        e["id"]
        for e in (
            await client.get(f"/api/v1/contacts/{merged['id']}/events", headers=tenant.headers)
        ).json()
    ]
    assert len(merged_events) == 2

    _, agent = await make_user(client, tenant, "agent")
    _, supervisor = await make_user(client, tenant, "supervisor")
    url = f"/api/v1/contacts/{survivor['id']}/merge"
    assert (
        await client.post(url, json={"contact_id": merged["id"]}, headers=agent)
    ).status_code == 403
    itself = await client.post(url, json={"contact_id": survivor["id"]}, headers=supervisor)
    assert itself.status_code == 422
    assert itself.json()["field"] == "contact_id"

    response = await client.post(url, json={"contact_id": merged["id"]}, headers=supervisor)
    assert response.status_code == 201, response.text
    merge = response.json()
    assert merge["moved"] == {
        "identity_ids": [i["id"] for i in merged["identities"]],
        "conversation_ids": [conversation_id],
        "event_ids": sorted(merged_events),
        "attribute_keys": ["seats"],
    }
    after = (await client.get(f"/api/v1/contacts/{survivor['id']}", headers=tenant.headers)).json()
    assert _values(after) == _values(survivor) | _values(merged)
    assert after["attributes"] == {"plan": "pro", "seats": 5}
    assert await _owner_ids(db, Conversation, [conversation_id]) == {survivor["id"]}
    timeline = (
        await client.get(f"/api/v1/contacts/{survivor['id']}/events", headers=tenant.headers)
    ).json()
    assert timeline[0]["type"] == "contact.merged"
    assert set(merged_events) <= {e["id"] for e in timeline}
    gone = (await client.get(f"/api/v1/contacts/{merged['id']}", headers=tenant.headers)).json()
    assert gone["merged_into_id"] == survivor["id"]
    assert gone["identities"] == []
    listed = (await client.get("/api/v1/contacts", headers=tenant.headers)).json()["items"]
    assert [c["id"] for c in listed] == [survivor["id"]]

    third = await _create(client, tenant, name="Third")
    again = await client.post(
        f"/api/v1/contacts/{third['id']}/merge",
        json={"contact_id": merged["id"]},
        headers=supervisor,
    )
    assert again.status_code == 409
    into_merged = await client.post(
        f"/api/v1/contacts/{merged['id']}/merge",
        json={"contact_id": third["id"]},
        headers=supervisor,
    )
    assert into_merged.status_code == 409
    edit_merged = await client.patch(
        f"/api/v1/contacts/{merged['id']}", json={"name": "x"}, headers=tenant.headers
    )
    assert edit_merged.status_code == 409

    # Something added to the survivor after the merge stays with it.
    kept = await client.post(
        f"/api/v1/contacts/{survivor['id']}/identities",
        json={"kind": "telegram", "value": "42"},
        headers=tenant.headers,
    )
    undo_url = f"/api/v1/contact-merges/{merge['id']}/undo"
    assert (await client.post(undo_url, headers=supervisor)).status_code == 403
    undone = await client.post(undo_url, headers=tenant.headers)
    assert undone.status_code == 200, undone.text
    assert undone.json()["undone_at"] is not None

    survivor_after = (
        await client.get(f"/api/v1/contacts/{survivor['id']}", headers=tenant.headers)
    ).json()
    merged_after = (
        await client.get(f"/api/v1/contacts/{merged['id']}", headers=tenant.headers)
    ).json()
    assert _values(survivor_after) == _values(survivor) | {("telegram", "42")}
    assert kept.json()["id"] in {i["id"] for i in survivor_after["identities"]}
    assert survivor_after["attributes"] == {"plan": "pro"}
    assert merged_after["merged_into_id"] is None
    assert merged_after["identities"] == merged["identities"]
    assert merged_after["attributes"] == merged["attributes"]
    assert await _owner_ids(db, Conversation, [conversation_id]) == {merged["id"]}
    assert await _owner_ids(db, Event, merged_events) == {merged["id"]}
    types = [
        e["type"]
        for e in (
            await client.get(f"/api/v1/contacts/{survivor['id']}/events", headers=tenant.headers)
        ).json()
    ]
    assert types[:2] == ["contact.merge_undone", "contact.identity_added"]
    twice = await client.post(undo_url, headers=tenant.headers)
    assert twice.status_code == 409


async def test_merges_are_undone_latest_first(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a, b, c = [
        await _create(client, tenant, identities=[{"kind": "external", "value": name}])
        for name in "abc"
    ]

    async def merge(survivor: dict[str, Any], merged: dict[str, Any]) -> int:
        response = await client.post(
            f"/api/v1/contacts/{survivor['id']}/merge",
            json={"contact_id": merged["id"]},
            headers=tenant.headers,
        )
        assert response.status_code == 201, response.text
        merge_id: int = response.json()["id"]
        return merge_id

    async def undo(merge_id: int) -> int:
        url = f"/api/v1/contact-merges/{merge_id}/undo"
        return (await client.post(url, headers=tenant.headers)).status_code

    first = await merge(a, b)
    second = await merge(c, a)
    assert await undo(first) == 409
    assert await undo(second) == 200
    assert await undo(first) == 200
    for contact in (a, b, c):
        now = (await client.get(f"/api/v1/contacts/{contact['id']}", headers=tenant.headers)).json()
        assert now["merged_into_id"] is None
        assert now["identities"] == contact["identities"]


async def test_timeline_shows_each_user_what_they_may_see(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    agent, agent_headers = await make_user(client, tenant, "agent")
    _, supervisor_headers = await make_user(client, tenant, "supervisor")
    contact = await _create(client, tenant, name="Ann")
    await client.patch(
        f"/api/v1/contacts/{contact['id']}", json={"name": "Anne"}, headers=tenant.headers
    )
    async with db.transaction() as session:
        for audience, assignee_id in [
            ("supervisors", None),
            ("conversation", tenant.admin_id),
            ("conversation", agent["id"]),
            ("conversation", None),
        ]:
            await events.record(
                session,
                account_id=tenant.account_id,
                type=f"test.{audience}.{assignee_id}",
                audience=audience,
                assignee_id=assignee_id,
                contact_id=contact["id"],
            )

    async def types(headers: dict[str, str]) -> list[str]:
        url = f"/api/v1/contacts/{contact['id']}/events"
        response = await client.get(url, headers=headers)
        assert response.status_code == 200
        return [e["type"] for e in response.json()]

    everything = await types(supervisor_headers)
    assert everything == [
        "test.conversation.None",
        f"test.conversation.{agent['id']}",
        f"test.conversation.{tenant.admin_id}",
        "test.supervisors.None",
        "contact.updated",
        "contact.created",
    ]
    assert await types(agent_headers) == [
        "test.conversation.None",
        f"test.conversation.{agent['id']}",
        "contact.updated",
        "contact.created",
    ]


# Tenant isolation -----------------------------------------------------------------------


async def test_another_account_sees_nothing_and_reaches_nothing(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    company = (
        await client.post("/api/v1/companies", json={"name": "Acme"}, headers=tenant.headers)
    ).json()
    definition = await _define(client, tenant, key="vip", label="VIP", type="boolean")
    contact = await _create(
        client,
        tenant,
        company_id=company["id"],
        identities=[{"kind": "email", "value": "secret@acme.example"}],
        attributes={"vip": True},
    )
    other = await _create(client, tenant, name="Other")
    merge = (
        await client.post(
            f"/api/v1/contacts/{contact['id']}/merge",
            json={"contact_id": other["id"]},
            headers=tenant.headers,
        )
    ).json()
    own = await _create(client, other_tenant, name="Theirs")

    c, i = contact["id"], contact["identities"][0]["id"]
    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/api/v1/contacts/{c}", None),
        ("PATCH", f"/api/v1/contacts/{c}", {"name": "pwned"}),
        ("GET", f"/api/v1/contacts/{c}/events", None),
        ("POST", f"/api/v1/contacts/{c}/identities", {"kind": "telegram", "value": "1"}),
        ("DELETE", f"/api/v1/contacts/{c}/identities/{i}", None),
        ("DELETE", f"/api/v1/contacts/{own['id']}/identities/{i}", None),
        ("POST", f"/api/v1/contacts/{c}/merge", {"contact_id": own["id"]}),
        ("POST", f"/api/v1/contacts/{own['id']}/merge", {"contact_id": c}),
        ("POST", f"/api/v1/contact-merges/{merge['id']}/undo", None),
        ("GET", f"/api/v1/companies/{company['id']}", None),
        ("PATCH", f"/api/v1/companies/{company['id']}", {"name": "pwned"}),
        ("DELETE", f"/api/v1/companies/{company['id']}", None),
        ("PATCH", f"/api/v1/contacts/{own['id']}", {"company_id": company["id"]}),
        ("GET", f"/api/v1/attribute-definitions/{definition['id']}", None),
        ("PATCH", f"/api/v1/attribute-definitions/{definition['id']}", {"label": "pwned"}),
        ("DELETE", f"/api/v1/attribute-definitions/{definition['id']}", None),
    ]
    for method, path, body in requests:
        response = await client.request(method, path, json=body, headers=other_tenant.headers)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["code"] == "not_found"

    for path, params in [
        ("/api/v1/contacts", {}),
        ("/api/v1/contacts", {"q": "secret"}),
        ("/api/v1/contacts", {"company_id": company["id"]}),
        ("/api/v1/companies", {}),
    ]:
        items = (await client.get(path, params=params, headers=other_tenant.headers)).json()[
            "items"
        ]
        assert all(item["id"] == own["id"] for item in items), (path, params)
    definitions = await client.get("/api/v1/attribute-definitions", headers=other_tenant.headers)
    assert definitions.json() == []
    untouched = await client.get(f"/api/v1/contacts/{c}", headers=tenant.headers)
    assert untouched.json()["name"] == contact["name"]
    assert untouched.json()["company"]["name"] == "Acme"


# Inbound --------------------------------------------------------------------------------


async def _count_contacts(db: Database, account_id: int) -> int:
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(Contact).where(Contact.account_id == account_id)
        )
        return int(count or 0)


async def test_resolve_contact_is_idempotent(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    async with db.transaction() as session:
        first = await resolve_contact(
            session,
            CLOCK,
            account_id=tenant.account_id,
            kind="email",
            value="Customer@Example.com",
            name=" Customer\x00 ",
            extra_identities=[("phone", "(415) 555-2671"), ("phone", "not a number")],
        )
        first_id = first.id
    async with db.transaction() as session:
        second = await resolve_contact(
            session, CLOCK, account_id=tenant.account_id, kind="email", value="customer@example.com"
        )
        assert second.id == first_id
        by_phone = await resolve_contact(
            session, CLOCK, account_id=tenant.account_id, kind="phone", value="+1 415 555 2671"
        )
        assert by_phone.id == first_id
    contact = (await client.get(f"/api/v1/contacts/{first_id}", headers=tenant.headers)).json()
    assert contact["name"] == "Customer"
    assert _values(contact) == {("email", "customer@example.com"), ("phone", "+14155552671")}
    timeline = (
        await client.get(f"/api/v1/contacts/{first_id}/events", headers=tenant.headers)
    ).json()
    assert [e["type"] for e in timeline] == ["contact.created"]
    assert await _count_contacts(db, tenant.account_id) == 1


async def test_resolve_contact_leaves_taken_extra_identities_alone(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    owner = await _create(client, tenant, identities=[{"kind": "phone", "value": "+14155552671"}])
    async with db.transaction() as session:
        contact = await resolve_contact(
            session,
            CLOCK,
            account_id=tenant.account_id,
            kind="email",
            value="new@example.com",
            extra_identities=[("phone", "+14155552671")],
        )
        new_id = contact.id
    assert new_id != owner["id"]
    created = (await client.get(f"/api/v1/contacts/{new_id}", headers=tenant.headers)).json()
    assert _values(created) == {("email", "new@example.com")}


async def test_resolve_contact_that_loses_the_race_returns_the_winner(
    tenant: Tenant, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.transaction() as session:
        winner = await resolve_contact(
            session, CLOCK, account_id=tenant.account_id, kind="telegram", value="99"
        )
    real_find = repository.find_identity
    calls = 0

    async def stale_first_read(*args: Any, **kwargs: Any) -> Identity | None:
        # The first read happens before the concurrent insert became visible.
        nonlocal calls
        calls += 1
        return None if calls == 1 else await real_find(*args, **kwargs)

    monkeypatch.setattr(repository, "find_identity", stale_first_read)
    async with db.transaction() as session:
        loser = await resolve_contact(
            session, CLOCK, account_id=tenant.account_id, kind="telegram", value="99"
        )
        assert loser.id == winner.id
    assert calls == 2
    assert await _count_contacts(db, tenant.account_id) == 1


async def test_concurrent_first_messages_create_one_contact(tenant: Tenant, db: Database) -> None:
    async def inbound() -> int:
        async with db.transaction() as session:
            contact = await resolve_contact(
                session, CLOCK, account_id=tenant.account_id, kind="whatsapp", value="447911123456"
            )
            return contact.id

    ids = await asyncio.gather(*(inbound() for _ in range(4)))
    assert len(set(ids)) == 1
    assert await _count_contacts(db, tenant.account_id) == 1
