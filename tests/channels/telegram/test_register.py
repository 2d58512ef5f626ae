"""Registering the webhook with the Bot API (setWebhook with the secret token and the updates
omnidesk reads), and the inbox's check (getMe, getWebhookInfo)."""

from __future__ import annotations

import httpx

from tests.channels.telegram.conftest import SECRET, deliver_update, make_telegram_inbox, payload
from tests.channels.telegram.fake import FakeBotApi, Refusal
from tests.conftest import Tenant, make_user


async def _register(client: httpx.AsyncClient, tenant: Tenant, inbox_id: int) -> httpx.Response:
    return await client.post(
        f"/api/v1/inboxes/{inbox_id}/telegram/register", headers=tenant.headers
    )


async def _check(client: httpx.AsyncClient, tenant: Tenant, inbox_id: int) -> dict[str, bool]:
    response = await client.post(f"/api/v1/inboxes/{inbox_id}/check", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return {c["name"]: c["ok"] for c in response.json()["checks"]}


async def test_registering_sets_the_webhook_and_keeps_the_bots_username(
    client: httpx.AsyncClient, tenant: Tenant, bot_api: FakeBotApi
) -> None:
    inbox = await make_telegram_inbox(client, tenant)
    assert await _check(client, tenant, inbox["id"]) == {"bot token": True, "webhook": False}

    response = await _register(client, tenant, inbox["id"])
    assert response.status_code == 200, response.text
    url = f"https://desk.example.com/api/v1/webhooks/telegram/{inbox['id']}"
    assert response.json() == {
        "inbox_id": inbox["id"],
        "bot_id": 123456789,
        "bot_username": "acme_support_bot",
        "webhook_url": url,
        "allowed_updates": ["message", "edited_message", "message_reaction"],
    }
    assert bot_api.webhook == {
        "url": url,
        "secret_token": SECRET,
        "allowed_updates": ["message", "edited_message", "message_reaction"],
    }
    shown = await client.get(f"/api/v1/inboxes/{inbox['id']}", headers=tenant.headers)
    assert shown.json()["config"] == {"bot_username": "acme_support_bot"}
    assert await _check(client, tenant, inbox["id"]) == {"bot token": True, "webhook": True}
    # What Telegram will send with the registered secret is taken.
    accepted = await deliver_update(client, inbox["id"], payload("text"), secret=SECRET)
    assert accepted.status_code == 200


async def test_a_generated_secret_token_is_what_telegram_is_given(
    client: httpx.AsyncClient, tenant: Tenant, bot_api: FakeBotApi
) -> None:
    response = await client.post(
        "/api/v1/inboxes",
        json={
            "name": "Telegram",
            "channel_type": "telegram",
            "secrets": {"bot_token": bot_api.token},
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    inbox = response.json()
    assert (await _register(client, tenant, inbox["id"])).status_code == 200
    generated = bot_api.webhook["secret_token"]
    assert isinstance(generated, str)
    assert len(generated) >= 32
    ok = await deliver_update(client, inbox["id"], payload("text"), secret=generated)
    assert ok.status_code == 200
    forged = await deliver_update(client, inbox["id"], payload("text"), secret=SECRET)
    assert forged.status_code == 403


async def test_a_token_telegram_does_not_know_is_a_422_on_the_token(
    client: httpx.AsyncClient, tenant: Tenant, bot_api: FakeBotApi
) -> None:
    inbox = await make_telegram_inbox(
        client, tenant, bot_token="42:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    )
    response = await _register(client, tenant, inbox["id"])
    assert response.status_code == 422
    assert response.json()["field"] == "secrets.bot_token"
    assert await _check(client, tenant, inbox["id"]) == {"bot token": False}
    assert bot_api.webhook == {}


async def test_telegram_refusing_the_webhook_says_why(
    client: httpx.AsyncClient, tenant: Tenant, bot_api: FakeBotApi
) -> None:
    bot_api.refusals.append(
        Refusal("setWebhook", 400, "Bad Request: bad webhook: Failed to resolve host")
    )
    inbox = await make_telegram_inbox(client, tenant)
    response = await _register(client, tenant, inbox["id"])
    assert response.status_code == 422
    assert "Failed to resolve host" in response.json()["message"]


async def test_telegram_unreachable_is_a_503(
    client: httpx.AsyncClient, tenant: Tenant, bot_api: FakeBotApi
) -> None:
    inbox = await make_telegram_inbox(client, tenant)
    await bot_api.stop()
    response = await _register(client, tenant, inbox["id"])
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"


async def test_only_an_admin_registers_and_only_a_telegram_inbox_of_their_account(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    inbox = await make_telegram_inbox(client, tenant)
    _, agent = await make_user(client, tenant, "agent")
    refused = await client.post(f"/api/v1/inboxes/{inbox['id']}/telegram/register", headers=agent)
    assert refused.status_code == 403
    assert (await _register(client, other_tenant, inbox["id"])).status_code == 404
    api_inbox = await client.post(
        "/api/v1/inboxes",
        json={"name": "CRM", "channel_type": "api", "config": {}},
        headers=tenant.headers,
    )
    response = await _register(client, tenant, api_inbox.json()["id"])
    assert response.status_code == 422
    assert response.json()["field"] == "inbox_id"


async def test_secrets_are_checked_when_the_inbox_is_made(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for secrets, field in (
        ({}, "secrets.bot_token"),
        ({"bot_token": "not a token"}, "secrets.bot_token"),
        (
            {"bot_token": "123:AAAAAAAAAAAAAAAAAAAAAAAA", "webhook_secret": "has spaces in it!!"},
            "secrets.webhook_secret",
        ),
    ):
        response = await client.post(
            "/api/v1/inboxes",
            json={"name": "Telegram", "channel_type": "telegram", "secrets": secrets},
            headers=tenant.headers,
        )
        assert response.status_code == 422, secrets
        assert response.json()["field"] == field
        assert "AAAAAAAA" not in response.text


async def test_the_check_says_when_the_bots_webhook_points_elsewhere(
    client: httpx.AsyncClient, tenant: Tenant, bot_api: FakeBotApi
) -> None:
    inbox = await make_telegram_inbox(client, tenant)
    bot_api.webhook = {"url": "https://other-tool.example.com/hook"}
    response = await client.post(f"/api/v1/inboxes/{inbox['id']}/check", headers=tenant.headers)
    checks = {c["name"]: c for c in response.json()["checks"]}
    assert checks["webhook"]["ok"] is False
    assert "points at https://other-tool.example.com/hook" in checks["webhook"]["detail"]
