"""SLA policies through the API: admins define them, everyone reads them; a definition that
cannot work is refused at save time with a 4xx naming the field; accounts never mix."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Tenant, make_user

URL = "/api/v1/sla/policies"
GOOD: dict[str, Any] = {
    "name": "Enterprise",
    "conditions": {"priorities": ["high", "urgent"], "contact_attributes": {"plan": "ent"}},
    "targets": {"urgent": {"first_response_s": 900, "resolution_s": 14400}},
    "warning_percent": 80,
}


async def test_admins_define_policies_and_everyone_reads_them(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(URL, json=GOOD, headers=tenant.headers)
    assert created.status_code == 201, created.text
    policy = created.json()
    assert policy["targets"] == {
        "urgent": {"first_response_s": 900, "next_response_s": None, "resolution_s": 14400}
    }
    assert policy["conditions"]["channel_types"] == []
    assert policy["active"] is True
    _, agent = await make_user(client, tenant, "agent")
    listed = await client.get(URL, headers=agent)
    assert [p["id"] for p in listed.json()] == [policy["id"]]
    assert (await client.get(f"{URL}/{policy['id']}", headers=agent)).status_code == 200
    refused = await client.post(URL, json=GOOD | {"name": "Mine"}, headers=agent)
    assert refused.status_code == 403
    assert (await client.patch(f"{URL}/{policy['id']}", json={}, headers=agent)).status_code == 403
    assert (await client.delete(f"{URL}/{policy['id']}", headers=agent)).status_code == 403

    changed = await client.patch(
        f"{URL}/{policy['id']}",
        json={"warning_before_s": 300, "active": False, "position": 3},
        headers=tenant.headers,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["warning_percent"], changed.json()["warning_before_s"]) == (None, 300)
    assert changed.json()["active"] is False
    duplicate = await client.post(URL, json=GOOD, headers=tenant.headers)
    assert (duplicate.status_code, duplicate.json()["field"]) == (409, "name")
    deleted = await client.delete(f"{URL}/{policy['id']}", headers=tenant.headers)
    assert deleted.status_code == 204
    assert (await client.get(f"{URL}/{policy['id']}", headers=tenant.headers)).status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"targets": {}}, 422, "targets"),
        ({"targets": {"urgent": {"first_response_s": None}}}, 422, "targets"),
        ({"targets": {"urgent": {"first_response_s": 10}}}, 422, "targets.urgent.first_response_s"),
        ({"targets": {"asap": {"first_response_s": 900}}}, 422, "targets.asap.[key]"),
        ({"targets": {"urgent": {"first_reply_s": 900}}}, 422, "targets.urgent.first_reply_s"),
        ({"warning_percent": 100}, 422, "warning_percent"),
        ({"warning_before_s": 60}, 422, "warning_before_s"),  # both warnings
        ({"warning_percent": None, "warning_before_s": 900}, 422, "warning_before_s"),
        ({"business_hours_id": 999999}, 404, "business_hours_id"),
        ({"conditions": {"inbox_ids": [999999]}}, 404, "conditions.inbox_ids.0"),
        ({"conditions": {"channel_types": ["pigeon"]}}, 422, "conditions.channel_types.0"),
        ({"conditions": {"priorities": ["asap"]}}, 422, "conditions.priorities.0"),
        ({"conditions": {"team_ids": [1]}}, 422, "conditions.team_ids"),
        ({"name": ""}, 422, "name"),
    ],
)
async def test_bad_definitions_are_refused_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, change: dict[str, Any], status: int, field: str
) -> None:
    response = await client.post(URL, json=GOOD | change, headers=tenant.headers)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field


async def test_a_calendar_that_never_opens_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    hours = await client.post(
        "/api/v1/routing/business-hours",
        json={"name": "Never", "timezone": "Europe/Paris", "weekly": {}, "holidays": []},
        headers=tenant.headers,
    )
    assert hours.status_code == 201, hours.text
    response = await client.post(
        URL, json=GOOD | {"business_hours_id": hours.json()["id"]}, headers=tenant.headers
    )
    assert (response.status_code, response.json()["field"]) == (422, "business_hours_id")


async def test_a_bad_change_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    policy = (await client.post(URL, json=GOOD, headers=tenant.headers)).json()
    for body, field in (
        (
            {"targets": {"urgent": {"first_response_s": 600}}, "warning_before_s": 600},
            "warning_before_s",
        ),
        ({"name": None}, "name"),
        ({"conditions": {"channel_types": ["pigeon"]}}, "conditions.channel_types.0"),
    ):
        response = await client.patch(f"{URL}/{policy['id']}", json=body, headers=tenant.headers)
        assert (response.status_code, response.json()["field"]) == (422, field), response.text
    assert (await client.get(f"{URL}/{policy['id']}", headers=tenant.headers)).json() == policy


async def test_another_accounts_policies_calendars_and_inboxes_are_not_found(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = (await client.post(URL, json=GOOD, headers=other_tenant.headers)).json()
    their_hours = await client.post(
        "/api/v1/routing/business-hours",
        json={
            "name": "Theirs",
            "timezone": "UTC",
            "weekly": {"monday": [{"start": "09:00", "end": "17:00"}]},
            "holidays": [],
        },
        headers=other_tenant.headers,
    )
    assert their_hours.status_code == 201, their_hours.text
    for method, url in (
        ("GET", f"{URL}/{theirs['id']}"),
        ("PATCH", f"{URL}/{theirs['id']}"),
        ("DELETE", f"{URL}/{theirs['id']}"),
        (
            "GET",
            f"{URL}/{theirs['id']}/report?since=2026-01-01T00:00:00Z&until=2027-01-01T00:00:00Z",
        ),
    ):
        response = await client.request(
            method, url, headers=tenant.headers, json={} if method == "PATCH" else None
        )
        assert response.status_code == 404, (method, url, response.text)
    assert (await client.get(URL, headers=tenant.headers)).json() == []
    borrowed = await client.post(
        URL,
        json=GOOD | {"business_hours_id": their_hours.json()["id"]},
        headers=tenant.headers,
    )
    assert (borrowed.status_code, borrowed.json()["field"]) == (404, "business_hours_id")
    # Theirs is untouched.
    assert (
        await client.get(f"{URL}/{theirs['id']}", headers=other_tenant.headers)
    ).json() == theirs


async def test_the_report_needs_aware_ordered_times(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    policy = (await client.post(URL, json=GOOD, headers=tenant.headers)).json()
    naive = await client.get(
        f"{URL}/{policy['id']}/report?since=2026-01-01T00:00:00&until=2027-01-01T00:00:00Z",
        headers=tenant.headers,
    )
    assert (naive.status_code, naive.json()["field"]) == (422, "since")
    recent = await client.get(f"{URL}/{policy['id']}/report", headers=tenant.headers)
    assert recent.status_code == 200, recent.text
    report = recent.json()
    assert report["until"] > report["since"]
    assert len(report["kinds"]) == 3
