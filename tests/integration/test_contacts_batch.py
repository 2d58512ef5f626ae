"""``GET /contacts?ids=…``: a page of contacts in one request (the inbox's rows)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant


async def _create(client: httpx.AsyncClient, tenant: Tenant, name: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/contacts",
        json={"name": name, "identities": [{"kind": "email", "value": f"{name}@example.com"}]},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_contacts_by_ids_in_one_request(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ada, bob, cy = [await _create(client, tenant, n) for n in ("ada", "bob", "cy")]
    foreign = await _create(client, other_tenant, "eve")
    merged = await client.post(
        f"/api/v1/contacts/{ada['id']}/merge",
        json={"contact_id": cy["id"]},
        headers=tenant.headers,
    )
    assert merged.status_code == 201, merged.text

    response = await client.get(
        "/api/v1/contacts",
        params={"ids": [ada["id"], cy["id"], foreign["id"], ada["id"]]},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    # Another account's id gives nothing; a merged contact says where it went.
    assert {c["id"]: c["merged_into_id"] for c in items} == {ada["id"]: None, cy["id"]: ada["id"]}
    assert [i["value"] for i in next(c for c in items if c["id"] == ada["id"])["identities"]] == [
        "ada@example.com",
        "cy@example.com",
    ]
    # Without ids: the usual list (merged contacts left out).
    listed = (await client.get("/api/v1/contacts", headers=tenant.headers)).json()["items"]
    assert {c["id"] for c in listed} == {ada["id"], bob["id"]}

    too_many = await client.get(
        "/api/v1/contacts", params={"ids": list(range(1, 300))}, headers=tenant.headers
    )
    assert too_many.status_code == 422
    assert too_many.json()["field"] == "ids"
    bad = await client.get("/api/v1/contacts", params={"ids": "x"}, headers=tenant.headers)
    assert bad.status_code == 422
