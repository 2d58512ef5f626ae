from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from omnidesk.inboxes.models import Inbox
from omnidesk.kit.db import Database
from tests.channels.api.conftest import make_api_inbox
from tests.conftest import Tenant, make_user


async def test_create_returns_the_generated_secret_once(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    created = await make_api_inbox(client, tenant, "https://crm.example.com/hook")
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert created["secret_keys"] == ["secret"]
    assert created["config"] == {"webhook_url": "https://crm.example.com/hook"}
    assert (
        created["webhook_url"] == f"http://127.0.0.1:8000/api/v1/inboxes/{created['id']}/messages"
    )
    assert created["capabilities"]["subject"] is True

    fetched = await client.get(f"/api/v1/inboxes/{created['id']}", headers=tenant.headers)
    listed = await client.get("/api/v1/inboxes", headers=tenant.headers)
    assert "secret" not in fetched.json()
    assert secret not in fetched.text
    assert secret not in listed.text
    async with db.sessionmaker() as session:
        stored = await session.scalar(select(Inbox).where(Inbox.id == created["id"]))
    assert stored is not None
    assert secret not in stored.secrets_encrypted  # encrypted at rest


async def test_a_given_secret_is_not_echoed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await make_api_inbox(
        client, tenant, None, secrets={"secret": "a-secret-of-our-own-choosing"}
    )
    assert created["secret"] is None
    assert created["secret_keys"] == ["secret"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"channel_type": "carrier-pigeon"}, "channel_type"),
        ({"config": {"webhook_url": "ftp://crm.example.com/"}}, "config.webhook_url"),
        ({"config": {"webhook_url": "https://crm.example.com", "x": 1}}, "config.x"),
        ({"secrets": {"secret": "short"}}, "secrets.secret"),
        ({"name": ""}, "name"),
    ],
)
async def test_invalid_inboxes_are_422_with_the_field(
    client: httpx.AsyncClient, tenant: Tenant, payload: dict[str, object], field: str
) -> None:
    body = {"name": "CRM", "channel_type": "api", **payload}
    response = await client.post("/api/v1/inboxes", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert response.json()["field"] == field
    assert "short" not in response.text  # a secret's value never comes back, even in errors


async def test_private_webhook_targets_are_refused_unless_allowed(
    app: object, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    settings = app.state.container.settings  # type: ignore[attr-defined]
    settings.webhooks_allow_private_addresses = False
    for url in ("http://127.0.0.1:9/hook", "http://[::1]/hook", "http://localhost/x"):
        body = {"name": "CRM", "channel_type": "api", "config": {"webhook_url": url}}
        response = await client.post("/api/v1/inboxes", json=body, headers=tenant.headers)
        assert response.status_code == 422, url
        assert response.json()["field"] == "config.webhook_url"


async def test_agents_read_but_only_admins_change(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await make_api_inbox(client, tenant, None)
    _, agent = await make_user(client, tenant, "agent")
    assert (await client.get("/api/v1/inboxes", headers=agent)).status_code == 200
    assert (await client.get(f"/api/v1/inboxes/{created['id']}", headers=agent)).status_code == 200
    body = {"name": "x", "channel_type": "api"}
    assert (await client.post("/api/v1/inboxes", json=body, headers=agent)).status_code == 403
    patch = await client.patch(
        f"/api/v1/inboxes/{created['id']}", json={"name": "y"}, headers=agent
    )
    assert patch.status_code == 403
    rotate = await client.post(f"/api/v1/inboxes/{created['id']}/rotate-secret", headers=agent)
    assert rotate.status_code == 403


async def test_another_accounts_inbox_is_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    created = await make_api_inbox(client, tenant, None)
    url = f"/api/v1/inboxes/{created['id']}"
    other = other_tenant.headers
    assert (await client.get(url, headers=other)).status_code == 404
    assert (await client.patch(url, json={"name": "mine"}, headers=other)).status_code == 404
    assert (await client.post(f"{url}/rotate-secret", headers=other)).status_code == 404
    assert (await client.delete(url, headers=other)).status_code == 404
    assert (await client.get("/api/v1/inboxes", headers=other)).json() == []


async def test_rotate_update_and_delete(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await make_api_inbox(client, tenant, None)
    url = f"/api/v1/inboxes/{created['id']}"
    rotated = await client.post(f"{url}/rotate-secret", headers=tenant.headers)
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != created["secret"]

    updated = await client.patch(
        url,
        json={"name": "CRM 2", "config": {"webhook_url": "https://crm.example.com/v2"}},
        headers=tenant.headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "CRM 2"
    assert updated.json()["config"]["webhook_url"] == "https://crm.example.com/v2"
    assert "secret" not in updated.json()
    bad = await client.patch(url, json={"secrets": {"secret": "tiny"}}, headers=tenant.headers)
    assert bad.status_code == 422
    assert bad.json()["field"] == "secrets.secret"

    assert (await client.delete(url, headers=tenant.headers)).status_code == 204
    assert (await client.get(url, headers=tenant.headers)).status_code == 404


async def test_ids_and_text_a_database_cannot_hold_are_422_not_500(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    huge = 2**64
    for method, url in (
        ("GET", f"/api/v1/inboxes/{huge}"),
        ("PATCH", f"/api/v1/inboxes/{huge}"),
        ("DELETE", f"/api/v1/inboxes/{huge}"),
        ("POST", f"/api/v1/inboxes/{huge}/rotate-secret"),
    ):
        response = await client.request(method, url, json={}, headers=tenant.headers)
        assert response.status_code == 422, (method, url, response.text)
        assert response.json()["field"] == "inbox_id"
    for body, field in (
        ({"name": "C\x00RM", "channel_type": "api"}, "name"),
        ({"name": "CRM", "channel_type": "api", "config": {"x": "\x00"}}, "config"),
    ):
        response = await client.post("/api/v1/inboxes", json=body, headers=tenant.headers)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field
