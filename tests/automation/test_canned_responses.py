"""Canned responses through the API, on the real database: scopes, visibility, editing
rights, search, rendering for a conversation."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant, make_user
from tests.conversations.conftest import MakeContact

API = "/api/v1/canned-responses"


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    body.setdefault("title", body["shortcut"].title())
    body.setdefault("body", "Hello")
    response = await client.post(API, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _team(client: httpx.AsyncClient, tenant: Tenant, name: str, member: int) -> int:
    response = await client.post(
        "/api/v1/teams", json={"name": name, "member_ids": [member]}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _shortcuts(client: httpx.AsyncClient, headers: dict[str, str], q: str = "") -> list[str]:
    response = await client.get(API, params={"q": q} if q else {}, headers=headers)
    assert response.status_code == 200, response.text
    return [c["shortcut"] for c in response.json()["items"]]


async def test_each_agent_sees_the_accounts_their_teams_and_their_own(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ann, ann_h = await make_user(client, tenant, "agent", name="Ann")
    bob, bob_h = await make_user(client, tenant, "agent", name="Bob")
    billing = await _team(client, tenant, "Billing", ann["id"])
    sales = await _team(client, tenant, "Sales", bob["id"])
    await _create(client, tenant.headers, scope="account", shortcut="hello")
    await _create(client, tenant.headers, scope="team", team_id=billing, shortcut="refund")
    await _create(client, tenant.headers, scope="team", team_id=sales, shortcut="pricing")
    ann_own = await _create(client, ann_h, shortcut="ann-sig")
    await _create(client, bob_h, shortcut="bob-sig")
    assert ann_own["scope"] == "personal"
    assert ann_own["owner_id"] == ann["id"]

    assert await _shortcuts(client, ann_h) == ["ann-sig", "hello", "refund"]
    assert await _shortcuts(client, bob_h) == ["bob-sig", "hello", "pricing"]
    # The admin manages every shared one, and sees no agent's personal ones.
    assert await _shortcuts(client, tenant.headers) == ["hello", "pricing", "refund"]
    hidden = await client.get(f"{API}/{ann_own['id']}", headers=bob_h)
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "not_found"


async def test_only_admins_manage_shared_ones_and_agents_their_own(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    _, ann_h = await make_user(client, tenant, "agent")
    _, sup_h = await make_user(client, tenant, "supervisor")
    _, bob_h = await make_user(client, tenant, "agent")
    refused = await client.post(
        API, json={"scope": "account", "shortcut": "x", "title": "X", "body": "x"}, headers=ann_h
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    shared = await _create(client, tenant.headers, scope="account", shortcut="hello")
    for headers in (ann_h, sup_h):
        edit = await client.patch(f"{API}/{shared['id']}", json={"title": "x"}, headers=headers)
        assert edit.status_code == 403
        assert (await client.delete(f"{API}/{shared['id']}", headers=headers)).status_code == 403
    own = await _create(client, ann_h, shortcut="mine", body="v1")
    edited = await client.patch(
        f"{API}/{own['id']}", json={"body": "v2", "shortcut": "Mine2"}, headers=ann_h
    )
    assert edited.status_code == 200
    assert (edited.json()["body"], edited.json()["shortcut"]) == ("v2", "mine2")
    assert (
        await client.patch(f"{API}/{own['id']}", json={"body": "x"}, headers=bob_h)
    ).status_code == 404
    assert (await client.delete(f"{API}/{own['id']}", headers=ann_h)).status_code == 204
    assert (await client.get(f"{API}/{own['id']}", headers=ann_h)).status_code == 404
    renamed = await client.patch(
        f"{API}/{shared['id']}", json={"title": "Greeting"}, headers=tenant.headers
    )
    assert renamed.json()["title"] == "Greeting"


async def test_search_by_shortcut_or_title_prefix(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    h = tenant.headers
    await _create(client, h, scope="account", shortcut="refund", title="Money back")
    await _create(client, h, scope="account", shortcut="ref_code", title="Your code")
    await _create(client, h, scope="account", shortcut="hello", title="Refunds explained")
    await _create(client, h, scope="account", shortcut="bye", title="Goodbye")
    assert await _shortcuts(client, h, "REF") == ["hello", "ref_code", "refund"]
    assert await _shortcuts(client, h, "mon") == ["refund"]
    # LIKE's wildcards are searched for as written.
    assert await _shortcuts(client, h, "ref_") == ["ref_code"]
    assert await _shortcuts(client, h, "%") == []
    assert await _shortcuts(client, h, "money b") == ["refund"]


async def test_pages_follow_the_shortcuts(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for name in ("d", "a", "c", "b", "e"):
        await _create(client, tenant.headers, scope="account", shortcut=name)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(API, params=params, headers=tenant.headers)).json()
        seen += [c["shortcut"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["a", "b", "c", "d", "e"]
    bad = await client.get(API, params={"cursor": "bm9wZQ"}, headers=tenant.headers)
    assert bad.status_code == 400
    assert bad.json()["field"] == "cursor"


async def test_bad_definitions_are_refused_with_the_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    h = tenant.headers
    await _create(client, h, scope="account", shortcut="hello")

    async def refused(body: dict[str, Any]) -> dict[str, Any]:
        full = {"shortcut": "s", "title": "T", "body": "b"} | body
        response = await client.post(API, json=full, headers=h)
        assert 400 <= response.status_code < 500, response.text
        return {"status": response.status_code, **response.json()}

    duplicate = await refused({"scope": "account", "shortcut": "HELLO"})
    assert (duplicate["status"], duplicate["field"]) == (409, "shortcut")
    unknown = await refused({"body": "Hi {{contact.frist_name}} {{ 7*7 }}"})
    assert (unknown["status"], unknown["field"]) == (422, "body")
    assert "{{contact.frist_name}}" in unknown["message"]
    no_team = await refused({"scope": "team"})
    assert (no_team["status"], no_team["field"]) == (422, "team_id")
    stray_team = await refused({"scope": "account", "team_id": 1})
    assert (stray_team["status"], stray_team["field"]) == (422, "team_id")
    missing_team = await refused({"scope": "team", "team_id": 999999})
    assert (missing_team["status"], missing_team["field"]) == (404, "team_id")
    spaced = await refused({"shortcut": "two words"})
    assert spaced["status"] == 422
    assert (await refused({"scope": "everyone"}))["status"] == 422
    # The same shortcut in another scope is fine: a personal one may shadow a shared one.
    await _create(client, h, shortcut="hello")


async def test_rendering_for_a_conversation_and_the_calling_agent(
    client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact
) -> None:
    ann, ann_h = await make_user(client, tenant, "agent", name="Ann Agent")
    contact_id = await make_contact(tenant, name="Carla Customer", email="carla@example.com")
    definition = await client.post(
        "/api/v1/attribute-definitions",
        json={"key": "plan", "label": "Plan", "type": "text"},
        headers=tenant.headers,
    )
    assert definition.status_code == 201, definition.text
    patched = await client.patch(
        f"/api/v1/contacts/{contact_id}",
        json={"attributes": {"plan": "gold"}},
        headers=tenant.headers,
    )
    assert patched.status_code == 200, patched.text
    conversation = await client.post(
        "/api/v1/conversations",
        json={"contact_id": contact_id, "assignee_id": ann["id"]},
        headers=tenant.headers,
    )
    assert conversation.status_code == 201, conversation.text
    conversation_id = conversation.json()["id"]
    canned = await _create(
        client,
        tenant.headers,
        scope="account",
        shortcut="hi",
        body="Hi {{contact.first_name}} ({{contact.email}}), {{contact.attributes.plan}} plan, "
        "#{{conversation.id}}; {{contact.attributes.company_size}}— {{agent.name}}",
    )
    url = f"/api/v1/conversations/{conversation_id}/canned-responses/{canned['id']}/render"
    rendered = await client.post(url, headers=ann_h)
    assert rendered.status_code == 200, rendered.text
    assert rendered.json() == {
        "canned_response_id": canned["id"],
        "conversation_id": conversation_id,
        "text": f"Hi Carla (carla@example.com), gold plan, #{conversation_id}; — Ann Agent",
        "missing": ["contact.attributes.company_size"],
    }
    # The admin renders it as themself.
    as_admin = await client.post(url, headers=tenant.headers)
    assert as_admin.json()["text"].endswith("— Admin")


async def test_rendering_needs_both_to_be_visible(
    client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact
) -> None:
    ann, ann_h = await make_user(client, tenant, "agent")
    _, bob_h = await make_user(client, tenant, "agent")
    contact_id = await make_contact(tenant)
    conversation = await client.post(
        "/api/v1/conversations",
        json={"contact_id": contact_id, "assignee_id": ann["id"]},
        headers=tenant.headers,
    )
    conversation_id = conversation.json()["id"]
    bobs = await _create(client, bob_h, shortcut="bob")
    anns = await _create(client, ann_h, shortcut="ann")
    base = f"/api/v1/conversations/{conversation_id}/canned-responses"
    # Bob may not see Ann's conversation; Ann may not use Bob's personal response.
    assert (await client.post(f"{base}/{bobs['id']}/render", headers=bob_h)).status_code == 404
    assert (await client.post(f"{base}/{bobs['id']}/render", headers=ann_h)).status_code == 404
    assert (await client.post(f"{base}/{anns['id']}/render", headers=ann_h)).status_code == 200
    unknown = await client.post(f"{base}/999999/render", headers=ann_h)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"


async def test_variables_are_listed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(f"{API}/variables", headers=tenant.headers)
    names = [v["name"] for v in response.json()]
    assert "contact.first_name" in names
    assert "contact.attributes.<key>" in names
