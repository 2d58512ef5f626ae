"""The fast lane answers exactly as the FastAPI route does, and leaves it what it does not take.

Integrations (a bearer token, a JSON body) are served in the lane; a browser session goes
through FastAPI's route, with its CSRF check. Both must give the same answers.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from omnidesk.channels.api import endpoints
from tests.channels.api.conftest import make_api_inbox
from tests.conftest import Tenant, login_headers


def _served_in_lane(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith("omnidesk_fast_lane_requests_total{") and "inbox_id" in line:
            return float(line.rpartition(" ")[2])
    return 0.0


async def _lane_count(client: httpx.AsyncClient) -> float:
    return _served_in_lane((await client.get("/metrics")).text)


def _message(external_id: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "sender": {"external_id": "cust-1"}, "body": "Hi", **extra}


CASES: list[tuple[str, Any, int, str | None]] = [
    # (what, body, status, error field)
    ("no handle", {"external_id": "x", "sender": {"name": "Ann"}, "body": "Hi"}, 422, "sender"),
    ("unknown field", {**_message("y"), "colour": "red"}, 422, "colour"),
    ("empty body", {**_message("z"), "body": ""}, 422, "body"),
    ("not an object", ["a", "list"], 422, None),
    ("bad email", {**_message("w"), "sender": {"email": "not an email"}}, 422, "sender.email"),
]


@pytest.mark.parametrize(("what", "body", "status", "field"), CASES, ids=[c[0] for c in CASES])
async def test_the_lane_and_the_route_refuse_alike(
    client: httpx.AsyncClient,
    tenant: Tenant,
    what: str,
    body: Any,
    status: int,
    field: str | None,
) -> None:
    inbox = await make_api_inbox(client, tenant, None)
    path = f"/api/v1/inboxes/{inbox['id']}/messages"
    session = await login_headers(client, tenant.email, tenant.password)
    before = await _lane_count(client)
    in_lane = await client.post(path, json=body, headers=tenant.headers)
    assert await _lane_count(client) == before + 1
    by_route = await client.post(path, json=body, headers=session)
    assert await _lane_count(client) == before + 1  # the session went to FastAPI's route
    for response in (in_lane, by_route):
        assert response.status_code == status, (what, response.text)
        assert response.json()["code"] == "validation_error"
        assert response.json()["field"] == field
    assert in_lane.json() == by_route.json()


async def test_the_lane_and_the_route_store_and_deduplicate_alike(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    inbox = await make_api_inbox(client, tenant, None)
    path = f"/api/v1/inboxes/{inbox['id']}/messages"
    session = await login_headers(client, tenant.email, tenant.password)
    first = await client.post(path, json=_message("m-1"), headers=tenant.headers)
    again_by_route = await client.post(path, json=_message("m-1"), headers=session)
    other_by_route = await client.post(path, json=_message("m-2"), headers=session)
    again_in_lane = await client.post(path, json=_message("m-2"), headers=tenant.headers)
    assert (first.status_code, again_by_route.status_code) == (201, 200)
    assert (other_by_route.status_code, again_in_lane.status_code) == (201, 200)
    assert first.json() == again_by_route.json()
    assert other_by_route.json() == again_in_lane.json()
    assert first.headers["content-type"] == again_in_lane.headers["content-type"]
    assert first.headers["x-request-id"]  # the request-context middleware wraps the lane
    assert first.json()["conversation_id"] == other_by_route.json()["conversation_id"]


async def test_the_lane_refuses_what_fastapi_would(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    inbox = await make_api_inbox(client, tenant, None)
    path = f"/api/v1/inboxes/{inbox['id']}/messages"
    wrong_token = {"Authorization": "Bearer odk_not_a_token"}
    cases = {
        "unknown token": (await client.post(path, json=_message("a"), headers=wrong_token), 401),
        "another account's inbox": (
            await client.post(path, json=_message("b"), headers=other_tenant.headers),
            404,
        ),
        "unknown inbox": (
            await client.post(
                "/api/v1/inboxes/999999/messages", json=_message("c"), headers=tenant.headers
            ),
            404,
        ),
        "malformed JSON": (
            await client.post(
                path,
                content=b'{"external_id": ',
                headers={**tenant.headers, "Content-Type": "application/json"},
            ),
            422,
        ),
    }
    session = await login_headers(client, tenant.email, tenant.password)
    by_route = await client.post(
        path, content=b'{"external_id": ', headers={**session, "Content-Type": "application/json"}
    )
    assert by_route.json() == cases["malformed JSON"][0].json()
    for what, (response, status) in cases.items():
        assert response.status_code == status, (what, response.text)
        assert set(response.json()) >= {"code", "message", "field"}, what
    no_csrf = {"Cookie": session["Cookie"]}
    refused = await client.post(path, json=_message("d"), headers=no_csrf)
    assert refused.status_code == 403  # a session still needs its CSRF token: FastAPI's route


async def test_what_the_lane_does_not_take_goes_to_fastapi(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    inbox = await make_api_inbox(client, tenant, None)
    before = await _lane_count(client)
    # Not a row id: FastAPI's validation answers, in the one error shape.
    not_an_id = await client.post(
        "/api/v1/inboxes/abc/messages", json=_message("e"), headers=tenant.headers
    )
    assert not_an_id.status_code == 422
    assert not_an_id.json()["field"] == "inbox_id"
    # A form is not JSON: FastAPI's route refuses it as it always has.
    form = await client.post(
        f"/api/v1/inboxes/{inbox['id']}/messages",
        data={"external_id": "f"},
        headers=tenant.headers,
    )
    assert form.status_code == 422
    assert await _lane_count(client) == before


def test_every_lane_route_is_a_documented_operation(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    for lane_route in endpoints.LANE:
        operation = paths[lane_route.path][lane_route.method.lower()]
        assert operation["summary"]
        assert "requestBody" in operation
