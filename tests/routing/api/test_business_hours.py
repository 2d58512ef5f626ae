"""Business-hours calendars through the API."""

from __future__ import annotations

from typing import Any

import httpx

from omnidesk.kit.db import Database
from tests.conftest import Tenant, make_user
from tests.routing.api.conftest import API, events_of, ok, refused

OFFICE = {
    day: [{"start": "09:00", "end": "12:30"}, {"start": "13:30", "end": "17:00"}]
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}


def calendar(**changes: Any) -> dict[str, Any]:
    return {
        "name": "London office",
        "timezone": "Europe/London",
        "weekly": OFFICE,
        "holidays": [
            {"name": "Christmas", "start": "2026-12-25", "end": "2026-12-26"},
            {"start": "2026-12-24", "open": [{"start": "09:00", "end": "12:00"}]},
        ],
        **changes,
    }


async def test_admins_create_and_everyone_reads_calendars(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    created = ok(
        await client.post(f"{API}/business-hours", json=calendar(), headers=tenant.headers), 201
    )
    assert created["timezone"] == "Europe/London"
    assert created["weekly"]["monday"] == OFFICE["monday"]
    assert created["weekly"]["sunday"] == []
    # Holidays come back in date order, a single day with its end filled in.
    assert [(h["start"], h["end"]) for h in created["holidays"]] == [
        ("2026-12-24", "2026-12-24"),
        ("2026-12-25", "2026-12-26"),
    ]
    _, agent = await make_user(client, tenant, "agent")
    listed = ok(await client.get(f"{API}/business-hours", headers=agent))
    assert [c["id"] for c in listed] == [created["id"]]
    refused(await client.post(f"{API}/business-hours", json=calendar(name="x"), headers=agent), 403)
    refused(
        await client.patch(
            f"{API}/business-hours/{created['id']}", json={"name": "y"}, headers=agent
        ),
        403,
    )
    assert [e.type for e in await events_of(db, tenant.account_id, "routing.business_hours")] == [
        "routing.business_hours.created"
    ]


async def test_status_says_open_and_when_that_changes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = ok(
        await client.post(f"{API}/business-hours", json=calendar(), headers=tenant.headers), 201
    )
    url = f"{API}/business-hours/{created['id']}/status"
    # Monday 1 June 2026, 10:00 BST.
    status = ok(
        await client.get(url, params={"at": "2026-06-01T10:00:00+01:00"}, headers=tenant.headers)
    )
    assert status["open"] is True
    assert status["next_close"] == "2026-06-01T11:30:00Z"
    # Christmas Eve afternoon: closed until Monday the 28th, 09:00 GMT.
    status = ok(
        await client.get(url, params={"at": "2026-12-24T13:00:00Z"}, headers=tenant.headers)
    )
    assert status == {
        "at": "2026-12-24T13:00:00Z",
        "open": False,
        "next_open": "2026-12-28T09:00:00Z",
        "next_close": "2026-12-24T13:00:00Z",
    }
    # Without `at`: the app's clock (a Monday, 09:00 UTC = 09:00 GMT in January).
    assert ok(await client.get(url, headers=tenant.headers))["open"] is True
    refused(
        await client.get(url, params={"at": "2026-06-01T10:00:00"}, headers=tenant.headers),
        422,
        "at",
    )
    refused(
        await client.get(url, params={"at": "0001-01-01T00:00:00Z"}, headers=tenant.headers),
        422,
        "at",
    )


async def test_invalid_calendars_are_refused_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    async def post(body: dict[str, Any]) -> httpx.Response:
        return await client.post(f"{API}/business-hours", json=body, headers=tenant.headers)

    refused(await post(calendar(timezone="Mars/Olympus_Mons")), 422, "timezone")
    refused(await post(calendar(timezone="localtime")), 422, "timezone")
    overlapping = {
        "monday": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}]
    }
    body = refused(await post(calendar(weekly=overlapping)), 422, "weekly.monday")
    assert "overlaps" in body["message"]
    crossing = {"friday": [{"start": "22:00", "end": "02:00"}]}
    body = refused(await post(calendar(weekly=crossing)), 422, "weekly.friday.0.end")
    assert "use two" in body["message"]
    empty = {"friday": [{"start": "10:00", "end": "10:00"}]}
    refused(await post(calendar(weekly=empty)), 422, "weekly.friday.0.end")
    refused(await post(calendar(weekly={"friday": [{"start": "9:00", "end": "10:00"}]})), 422)
    refused(await post(calendar(weekly={"friday": [{"start": "24:00", "end": "24:00"}]})), 422)
    refused(await post(calendar(weekly={"fryday": []})), 422, "weekly.fryday")
    holidays = [{"start": "2026-12-24", "end": "2026-12-26"}, {"start": "2026-12-26"}]
    refused(await post(calendar(holidays=holidays)), 422, "holidays")
    refused(
        await post(calendar(holidays=[{"start": "2026-12-26", "end": "2026-12-24"}])),
        422,
        "holidays.0.end",
    )
    refused(await post(calendar(holidays=[{"start": "0001-01-01"}])), 422, "holidays.0.start")
    refused(await post(calendar(name="x" * 201)), 422, "name")
    ok(await post(calendar()), 201)
    refused(await post(calendar()), 409, "name")


async def test_names_are_stored_as_text(client: httpx.AsyncClient, tenant: Tenant) -> None:
    name = '<img src=x onerror="alert(1)"> & co'
    created = ok(
        await client.post(
            f"{API}/business-hours", json=calendar(name=name), headers=tenant.headers
        ),
        201,
    )
    assert created["name"] == name
    got = await client.get(f"{API}/business-hours/{created['id']}", headers=tenant.headers)
    assert got.headers["content-type"] == "application/json"
    assert got.json()["name"] == name


async def test_update_replaces_and_delete_is_refused_while_a_queue_uses_it(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    h = tenant.headers
    created = ok(await client.post(f"{API}/business-hours", json=calendar(), headers=h), 201)
    url = f"{API}/business-hours/{created['id']}"
    changed = ok(
        await client.patch(
            url,
            json={
                "timezone": "America/New_York",
                "holidays": [],
                "weekly": {"sunday": OFFICE["monday"]},
            },
            headers=h,
        )
    )
    assert changed["timezone"] == "America/New_York"
    assert changed["holidays"] == []
    assert changed["weekly"]["monday"] == []
    assert changed["weekly"]["sunday"] == OFFICE["monday"]
    refused(await client.patch(url, json={"timezone": "Nowhere"}, headers=h), 422, "timezone")
    queue = ok(
        await client.post(
            f"{API}/queues", json={"name": "Sales", "business_hours_id": created["id"]}, headers=h
        ),
        201,
    )
    body = refused(await client.delete(url, headers=h), 409)
    assert "Sales" in body["message"]
    ok(
        await client.patch(
            f"{API}/queues/{queue['id']}", json={"business_hours_id": None}, headers=h
        )
    )
    ok(await client.delete(url, headers=h), 204)
    refused(await client.get(url, headers=h), 404)
    types = [e.type for e in await events_of(db, tenant.account_id, "routing.business_hours")]
    assert types == [
        "routing.business_hours.created",
        "routing.business_hours.updated",
        "routing.business_hours.deleted",
    ]
