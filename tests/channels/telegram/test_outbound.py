"""Replies leave through the outbox to the fake Bot API: text, files, reply threading, and
the Bot API's refusals as the message's failure reason (or a retry)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from omnidesk.conversations.models import Message
from omnidesk.jobs.models import Job
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from tests.channels.telegram.conftest import deliver_update, make_telegram_inbox, payload
from tests.channels.telegram.fake import FakeBotApi, Refusal
from tests.conftest import Tenant

CHAT = 987654321


async def _conversation(client: httpx.AsyncClient, tenant: Tenant) -> int:
    inbox = await make_telegram_inbox(client, tenant)
    response = await deliver_update(client, inbox["id"], payload("text"))
    assert response.status_code == 200, response.text
    listed = await client.get("/api/v1/conversations", headers=tenant.headers)
    [conversation] = listed.json()["items"]
    conversation_id: int = conversation["id"]
    return conversation_id


async def _reply(
    client: httpx.AsyncClient, tenant: Tenant, conversation_id: int, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json=body, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()
    return message


async def _state(db: Database, message_id: int) -> tuple[Message, Job]:
    async with db.sessionmaker() as session:
        message = await session.get(Message, message_id)
        job = await session.scalar(
            select(Job).where(Job.idempotency_key == f"message:{message_id}")
        )
    assert message is not None
    assert job is not None
    return message, job


async def test_a_reply_is_sent_as_a_message_to_the_chat(
    client: httpx.AsyncClient, tenant: Tenant, runner: JobRunner, bot_api: FakeBotApi, db: Database
) -> None:
    conversation_id = await _conversation(client, tenant)
    sent = await _reply(client, tenant, conversation_id, body="It left our warehouse today")
    assert await runner.run_once() == 1
    [call] = bot_api.sent()
    assert call.method == "sendMessage"
    assert call.params == {"chat_id": str(CHAT), "text": "It left our warehouse today"}
    message, job = await _state(db, sent["id"])
    assert (message.delivery_status, job.status) == ("sent", "done")
    assert message.channel_message_id == f"{CHAT}:101"


async def test_a_customers_reaction_to_our_reply_names_it(
    client: httpx.AsyncClient, tenant: Tenant, runner: JobRunner, db: Database
) -> None:
    conversation_id = await _conversation(client, tenant)
    sent = await _reply(client, tenant, conversation_id, body="Is it the blue parcel?")
    await runner.run_once()
    ours, _ = await _state(db, sent["id"])
    # The fake's first message id is 101, the message the recorded reaction is to.
    inbox_id = ours.inbox_id
    assert inbox_id is not None
    assert (await deliver_update(client, inbox_id, payload("reaction"))).status_code == 200
    async with db.sessionmaker() as session:
        reaction = await session.scalar(select(Message).where(Message.body == "👍"))
    assert reaction is not None
    assert reaction.meta["reaction"]["to"] == ours.channel_message_id


async def test_a_long_reply_goes_in_pieces_of_4096_characters(
    client: httpx.AsyncClient, tenant: Tenant, runner: JobRunner, bot_api: FakeBotApi
) -> None:
    conversation_id = await _conversation(client, tenant)
    body = "a" * 3000 + "\n" + "b" * 3000
    await _reply(client, tenant, conversation_id, body=body)
    await runner.run_once()
    assert [c.params["text"] for c in bot_api.sent()] == ["a" * 3000, "b" * 3000]


async def test_files_go_as_photos_and_documents(
    client: httpx.AsyncClient, tenant: Tenant, runner: JobRunner, bot_api: FakeBotApi
) -> None:
    conversation_id = await _conversation(client, tenant)
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    pdf = b"%PDF-1.4\n" + b"0" * 100
    uploaded = []
    for name, content_type, data in (
        ("map.png", "image/png", png),
        ("label.pdf", "application/pdf", pdf),
    ):
        response = await client.post(
            "/api/v1/attachments",
            files={"file": (name, data, content_type)},
            headers=tenant.headers,
        )
        assert response.status_code == 201, response.text
        uploaded.append(response.json()["id"])
    await _reply(client, tenant, conversation_id, body="Here you are", attachment_ids=uploaded)
    assert await runner.run_once() == 1
    text, photo, document = bot_api.sent()
    assert (text.method, photo.method, document.method) == (
        "sendMessage",
        "sendPhoto",
        "sendDocument",
    )
    assert photo.params == {"chat_id": str(CHAT)}
    assert photo.files == {"photo": ("map.png", "image/png", png)}
    assert document.files == {"document": ("label.pdf", "application/pdf", pdf)}


@pytest.mark.parametrize(
    ("status", "description", "reason"),
    [
        (403, "Forbidden: bot was blocked by the user", "blocked"),
        (403, "Forbidden: user is deactivated", "invalid_recipient"),
        (400, "Bad Request: chat not found", "invalid_recipient"),
        (401, "Unauthorized", "auth_failed"),
        (400, "Bad Request: message text is empty", "rejected"),
    ],
)
async def test_a_refusal_fails_the_message_with_its_reason(
    client: httpx.AsyncClient,
    tenant: Tenant,
    runner: JobRunner,
    bot_api: FakeBotApi,
    db: Database,
    status: int,
    description: str,
    reason: str,
) -> None:
    conversation_id = await _conversation(client, tenant)
    bot_api.refusals.append(Refusal("sendMessage", status, description))
    sent = await _reply(client, tenant, conversation_id, body="Hello")
    assert await runner.run_once() == 1
    message, job = await _state(db, sent["id"])
    assert (job.status, message.delivery_status, message.delivery_reason) == (
        "dead",
        "failed",
        reason,
    )
    assert description in (message.delivery_error or "")
    listed = await client.get(
        f"/api/v1/conversations/{conversation_id}/messages", headers=tenant.headers
    )
    [out] = [m for m in listed.json()["items"] if m["id"] == sent["id"]]
    assert out["delivery_reason"] == reason
    assert len(bot_api.sent()) == 1  # not retried


@pytest.mark.parametrize(
    "refusal",
    [
        Refusal("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7),
        Refusal("sendMessage", 502, "Bad Gateway"),
    ],
)
async def test_rate_limits_and_outages_are_retried_and_delivered_later(
    client: httpx.AsyncClient,
    tenant: Tenant,
    runner: JobRunner,
    bot_api: FakeBotApi,
    db: Database,
    frozen: FrozenClock,
    refusal: Refusal,
) -> None:
    conversation_id = await _conversation(client, tenant)
    bot_api.refusals.append(refusal)
    sent = await _reply(client, tenant, conversation_id, body="Hello")
    assert await runner.run_once() == 1
    message, job = await _state(db, sent["id"])
    assert (job.status, message.delivery_status) == ("pending", "queued")
    assert refusal.description in (job.last_error or "")
    frozen.advance(15)  # backoff_base_s=10 with ±20 % jitter
    assert await runner.run_once() == 1
    message, job = await _state(db, sent["id"])
    assert (job.status, job.attempts, message.delivery_status) == ("done", 2, "sent")
    assert len(bot_api.sent()) == 2


async def test_a_bot_api_that_does_not_answer_in_time_is_retried(
    client: httpx.AsyncClient,
    tenant: Tenant,
    runner: JobRunner,
    bot_api: FakeBotApi,
    db: Database,
    frozen: FrozenClock,
) -> None:
    conversation_id = await _conversation(client, tenant)
    bot_api.delay_s = 3.0  # the adapter waits 2 s
    sent = await _reply(client, tenant, conversation_id, body="Hello")
    assert await runner.run_once() == 1
    message, job = await _state(db, sent["id"])
    assert (job.status, message.delivery_status) == ("pending", "queued")
    assert "in time" in (job.last_error or "")
    bot_api.delay_s = 0.0
    frozen.advance(15)
    assert await runner.run_once() == 1
    message, job = await _state(db, sent["id"])
    assert (job.status, message.delivery_status) == ("done", "sent")
