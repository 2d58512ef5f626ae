from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from omnidesk.app import create_app
from omnidesk.kit.clock import FrozenClock
from omnidesk.settings import Settings
from tests.conftest import Tenant, login_headers, make_user


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "up"}


async def test_login_sets_cookie_and_me_answers(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = await login_headers(client, tenant.email, tenant.password)
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200
    body = me.json()
    assert body["user"]["email"] == tenant.email
    assert body["account"]["id"] == tenant.account_id
    assert body["csrf_token"] == headers["X-CSRF-Token"]


async def test_wrong_password_is_401_in_the_error_shape(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"email": tenant.email, "password": "nope"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "code": "unauthorized",
        "message": "email or password is wrong",
        "field": None,
    }


@pytest.fixture
async def frozen_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose clock stands still: the login bucket never refills however
    slowly the machine checks the passwords."""
    application = create_app(settings, clock=FrozenClock())
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_login_is_rate_limited(frozen_client: httpx.AsyncClient) -> None:
    body = {"email": "nobody@example.com", "password": "wrong"}
    statuses = [
        (await frozen_client.post("/api/v1/auth/login", json=body)).status_code for _ in range(12)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]


async def test_cookie_requests_need_the_csrf_header(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = await login_headers(client, tenant.email, tenant.password)
    no_csrf = {"Cookie": headers["Cookie"]}
    refused = await client.post("/api/v1/teams", json={"name": "Sales"}, headers=no_csrf)
    assert refused.status_code == 403
    assert refused.json()["field"] == "X-CSRF-Token"
    wrong = await client.post(
        "/api/v1/teams", json={"name": "Sales"}, headers={**no_csrf, "X-CSRF-Token": "x"}
    )
    assert wrong.status_code == 403
    accepted = await client.post("/api/v1/teams", json={"name": "Sales"}, headers=headers)
    assert accepted.status_code == 201


async def test_logout_ends_the_session(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = await login_headers(client, tenant.email, tenant.password)
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_api_tokens_are_shown_once_hashed_and_revocable(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post("/api/v1/api-tokens", json={"name": "crm"}, headers=tenant.headers)
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("odk_")
    listed = (await client.get("/api/v1/api-tokens", headers=tenant.headers)).json()
    assert all("token" not in t for t in listed)
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/account", headers=bearer)).status_code == 200
    revoked = await client.delete(
        f"/api/v1/api-tokens/{created.json()['id']}", headers=tenant.headers
    )
    assert revoked.json()["revoked_at"] is not None
    assert (await client.get("/api/v1/account", headers=bearer)).status_code == 401


async def test_malformed_authorization_header_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/account", headers={"Authorization": "Token abc"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


async def test_roles_are_enforced(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent, agent_headers = await make_user(client, tenant, "agent")
    refused = await client.post(
        "/api/v1/users",
        json={"email": "x@example.com", "name": "X", "role": "admin", "password": "0123456789"},
        headers=agent_headers,
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    # An agent may rename themself but not promote themself.
    renamed = await client.patch(
        f"/api/v1/users/{agent['id']}", json={"name": "Agent Smith"}, headers=agent_headers
    )
    assert renamed.json()["name"] == "Agent Smith"
    promoted = await client.patch(
        f"/api/v1/users/{agent['id']}", json={"role": "admin"}, headers=agent_headers
    )
    assert promoted.status_code == 403


async def test_supervisor_signs_an_agent_out(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent, agent_headers = await make_user(client, tenant, "agent")
    _, supervisor_headers = await make_user(client, tenant, "supervisor")
    signed_out = await client.post(
        f"/api/v1/users/{agent['id']}/sign-out", headers=supervisor_headers
    )
    assert signed_out.status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=agent_headers)).status_code == 401


async def test_teams_with_members(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent, _ = await make_user(client, tenant, "agent")
    created = await client.post(
        "/api/v1/teams",
        json={"name": "Billing", "member_ids": [agent["id"]]},
        headers=tenant.headers,
    )
    assert created.status_code == 201
    assert created.json()["member_ids"] == [agent["id"]]
    duplicate = await client.post("/api/v1/teams", json={"name": "Billing"}, headers=tenant.headers)
    assert duplicate.status_code == 409
    unknown_member = await client.post(
        "/api/v1/teams", json={"name": "Ghosts", "member_ids": [999999]}, headers=tenant.headers
    )
    assert unknown_member.status_code == 404
    assert unknown_member.json()["field"] == "member_ids"


async def test_unknown_route_and_bad_json_use_the_error_shape(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    missing = await client.get("/api/v1/nothing-here", headers=tenant.headers)
    assert missing.status_code == 404
    assert set(missing.json()) == {"code", "message", "field"}
    bad = await client.post(
        "/api/v1/teams",
        content=b"{not json",
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "validation_error"


async def test_the_home_page_leads_to_the_agent_desktop_and_the_api_is_documented(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 307
    assert response.headers["location"] == "/app/"
    assert (await client.get("/docs")).status_code == 200
