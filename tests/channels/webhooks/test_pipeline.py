"""The provider webhook pipeline, through a test provider: verify, parse, fetch files, store
once, apply receipts, acknowledge — and refuse what is forged, malformed or unknown."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from omnidesk.channels.base import DeliveryFailed
from omnidesk.channels.delivery import failure_reason
from omnidesk.conversations.models import Message
from omnidesk.kit.db import Database
from tests.conftest import Tenant

TOKEN = "s3cret-relay-token"


async def make_relay_inbox(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/inboxes",
        json={"name": "Relay", "channel_type": "relay", "secrets": {"token": TOKEN}},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def post(
    client: httpx.AsyncClient, inbox_id: int, payload: Any, token: str | None = TOKEN, **kw: Any
) -> httpx.Response:
    headers = {"x-relay-token": token} if token is not None else {}
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return await client.post(
        f"/api/v1/webhooks/relay/{inbox_id}", content=content, headers=headers, **kw
    )


async def stored(db: Database) -> list[Message]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Message).order_by(Message.id)))


def hello(message_id: str = "r-1", **extra: Any) -> dict[str, Any]:
    return {"messages": [{"id": message_id, "sender": "cust-7", "text": "Hello", **extra}]}


async def test_the_inbox_shows_its_webhook_url(client: httpx.AsyncClient, tenant: Tenant) -> None:
    inbox = await make_relay_inbox(client, tenant)
    assert inbox["webhook_url"] == f"https://desk.example.com/api/v1/webhooks/relay/{inbox['id']}"


async def test_a_signed_message_is_stored_once_and_acknowledged_the_providers_way(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_relay_inbox(client, tenant)
    first = await post(client, inbox["id"], hello(), params={"a": "1"})
    again = await post(client, inbox["id"], hello(), params={"a": "1"})
    assert first.status_code == again.status_code == 200
    assert first.text == "<Response/>"
    assert first.headers["content-type"].startswith("text/xml")
    [message] = await stored(db)
    assert (message.body, message.channel_message_id) == ("Hello", "r-1")
    # What the adapter verified is the public URL the provider signed, query included.
    url = f"https://desk.example.com/api/v1/webhooks/relay/{inbox['id']}?a=1"
    assert message.meta["signed_url"] == url


@pytest.mark.parametrize("token", [None, "forged"])
async def test_a_forged_or_missing_signature_is_refused_and_nothing_stored(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, token: str | None
) -> None:
    inbox = await make_relay_inbox(client, tenant)
    response = await post(client, inbox["id"], hello(), token=token)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert await stored(db) == []


async def test_unknown_inbox_or_another_channels_inbox_is_404(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    inbox = await make_relay_inbox(client, tenant)
    assert (await post(client, inbox["id"] + 1000, hello())).status_code == 404
    other = await client.post(
        f"/api/v1/webhooks/sms/{inbox['id']}", content=b"{}", headers={"x-relay-token": TOKEN}
    )
    assert other.status_code == 404
    assert other.json()["code"] == "not_found"


async def test_malformed_and_oversize_payloads_are_4xx_in_the_error_shape(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_relay_inbox(client, tenant)
    malformed = await post(client, inbox["id"], b"{not json")
    assert malformed.status_code == 422
    assert malformed.json()["field"] == "body"
    wrong_shape = await post(client, inbox["id"], {"messages": [{"id": "r-9"}]})
    assert wrong_shape.status_code == 422
    assert wrong_shape.json()["field"] == "messages"
    huge = await post(client, inbox["id"], {"pad": "x" * (1024 * 1024)})
    assert huge.status_code == 413
    assert huge.json()["code"] == "payload_too_large"
    assert await stored(db) == []


async def test_files_are_fetched_and_one_that_cannot_be_had_is_named_not_lost(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_relay_inbox(client, tenant)
    payload = hello(media=["photo-1", "huge-1", "gone-1"])
    assert (await post(client, inbox["id"], payload)).status_code == 200
    [message] = await stored(db)
    conversation = (
        await client.get(
            f"/api/v1/conversations/{message.conversation_id}/messages", headers=tenant.headers
        )
    ).json()
    [out] = [m for m in conversation["items"] if m["id"] == message.id]
    assert [(a["filename"], a["content_type"]) for a in out["attachments"]] == [
        ("photo-1.bin", "image/png")
    ]
    assert [e["ref"] for e in message.meta["media_errors"]] == ["huge-1", "gone-1"]
    assert "1024 bytes" in message.meta["media_errors"][0]["reason"]


async def test_receipts_move_our_message_forward_never_back(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_relay_inbox(client, tenant)
    await post(client, inbox["id"], hello())
    [inbound] = await stored(db)
    reply = await client.post(
        f"/api/v1/conversations/{inbound.conversation_id}/messages",
        json={"body": "Hi there"},
        headers=tenant.headers,
    )
    assert reply.status_code == 201, reply.text
    async with db.transaction() as session:
        ours = await session.get(Message, reply.json()["id"])
        assert ours is not None
        ours.channel_message_id = "relay-out-1"  # as the delivery job records it
    receipts = [("relay-out-1", "read"), ("relay-out-1", "delivered"), ("elsewhere-9", "read")]
    statuses = {"statuses": [{"id": i, "state": s} for i, s in receipts]}
    assert (await post(client, inbox["id"], statuses)).status_code == 200
    async with db.transaction() as session:
        ours = await session.get(Message, reply.json()["id"])
        assert ours is not None
        assert ours.delivery_status == "read"


async def test_a_failure_receipt_says_why(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_relay_inbox(client, tenant)
    await post(client, inbox["id"], hello())
    [inbound] = await stored(db)
    reply = await client.post(
        f"/api/v1/conversations/{inbound.conversation_id}/messages",
        json={"body": "Hi there"},
        headers=tenant.headers,
    )
    async with db.transaction() as session:
        ours = await session.get(Message, reply.json()["id"])
        assert ours is not None
        ours.channel_message_id = "relay-out-2"
    failed = {"id": "relay-out-2", "state": "failed", "error": "30003", "reason": "blocked"}
    assert (await post(client, inbox["id"], {"statuses": [failed]})).status_code == 200
    messages = (
        await client.get(
            f"/api/v1/conversations/{inbound.conversation_id}/messages", headers=tenant.headers
        )
    ).json()["items"]
    [out] = [m for m in messages if m["id"] == reply.json()["id"]]
    assert (out["delivery_status"], out["delivery_reason"]) == ("failed", "blocked")


async def test_the_handshake_echoes_the_challenge_only_for_the_right_token(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_relay_inbox(client, tenant)
    url = f"/api/v1/webhooks/relay/{inbox['id']}"
    ok = await client.get(url, params={"token": TOKEN, "challenge": "1158201444"})
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = await client.get(url, params={"token": "nope", "challenge": "1158201444"})
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "forbidden"
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0


async def test_a_channel_without_a_handshake_answers_405(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/v1/inboxes",
        json={"name": "CRM", "channel_type": "api", "config": {}},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    answer = await client.get(f"/api/v1/webhooks/api/{response.json()['id']}")
    assert answer.status_code == 405
    assert answer.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("last_error", "reason"),
    [
        (
            "DeliveryFailed: [outside_window] more than 24 hours since the customer wrote",
            "outside_window",
        ),
        ("DeliveryFailed: [made_up] no such reason", None),
        ("DeliveryFailed: the webhook could not be reached", None),
        ("PermanentJobError: message 7 does not exist", None),
        (None, None),
    ],
)
def test_a_dead_delivery_keeps_the_reason_its_last_failure_named(
    last_error: str | None, reason: str | None
) -> None:
    assert failure_reason(last_error) == reason


def test_delivery_failed_leads_with_its_reason() -> None:
    failure = DeliveryFailed("number unreachable", permanent=True, reason="invalid_recipient")
    assert (str(failure), failure.reason) == (
        "[invalid_recipient] number unreachable",
        "invalid_recipient",
    )
    assert failure_reason(f"DeliveryFailed: {failure}") == "invalid_recipient"
