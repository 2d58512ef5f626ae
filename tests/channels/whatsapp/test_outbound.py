"""Replies and templates leave through the outbox to the Graph API fake: the 24-hour window,
Meta's error codes as the agent's reasons, retries, receipts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from omnidesk.conversations import service as conversations
from omnidesk.conversations.models import Conversation, Message
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from tests.channels.whatsapp.conftest import make_inbox, post_webhook, stored
from tests.channels.whatsapp.graph import GraphApi
from tests.conftest import Tenant, make_user

ORDER_VALUES = {"header.1": "#1042", "body.1": "Kerry", "body.2": "#1042", "body.3": "Friday"}


async def _open(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> tuple[int, int]:
    """A WhatsApp inbox and the conversation the customer's text opened in it."""
    inbox = await make_inbox(client, tenant)
    assert (await post_webhook(client, inbox["id"], "text.json")).status_code == 200
    [message] = await stored(db)
    return inbox["id"], message.conversation_id


async def _reply(
    client: httpx.AsyncClient, tenant: Tenant, conversation_id: int, text: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": text},
        headers=tenant.headers,
    )


async def _message(db: Database, message_id: int) -> Message:
    async with db.transaction() as session:
        message = await session.get(Message, message_id)
    assert message is not None
    return message


async def _sync(client: httpx.AsyncClient, tenant: Tenant, inbox_id: int) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/inboxes/{inbox_id}/templates/sync", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_reply_in_the_window_is_sent_and_meta_s_receipts_move_it_forward(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, runner: JobRunner, graph: GraphApi
) -> None:
    inbox_id, conversation_id = await _open(client, tenant, db)
    response = await _reply(client, tenant, conversation_id, "We are on it")
    assert response.status_code == 201, response.text
    assert await runner.run_once() == 1
    assert graph.sent() == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "16315551181",
            "type": "text",
            "text": {"preview_url": False, "body": "We are on it"},
        }
    ]
    message = await _message(db, response.json()["id"])
    assert (message.delivery_status, message.channel_message_id) == ("sent", "wamid.OUT1")
    for name in ("status_read.json", "status_delivered.json"):  # out of order
        assert (await post_webhook(client, inbox_id, name)).status_code == 200
    assert (await _message(db, message.id)).delivery_status == "read"


async def test_a_failed_receipt_says_why(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, runner: JobRunner
) -> None:
    inbox_id, conversation_id = await _open(client, tenant, db)
    sent = (await _reply(client, tenant, conversation_id, "Hello")).json()
    await runner.run_once()
    assert (await post_webhook(client, inbox_id, "status_failed.json")).status_code == 200
    message = await _message(db, sent["id"])
    assert (message.delivery_status, message.delivery_reason) == ("failed", "invalid_recipient")
    assert message.delivery_error == "Message Undeliverable. (code 131026)"


async def test_free_text_outside_the_window_is_refused_with_a_clear_code(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    frozen: FrozenClock,
    graph: GraphApi,
) -> None:
    _, conversation_id = await _open(client, tenant, db)
    frozen.advance(24 * 3600)
    response = await _reply(client, tenant, conversation_id, "Still there?")
    assert response.status_code == 422
    error = response.json()
    assert (error["code"], error["field"]) == ("outside_window", "body")
    assert "24 hours" in error["message"]
    assert "template" in error["message"]
    assert [m.direction for m in await stored(db)] == ["inbound"]
    # An internal note is not a message to the customer: always allowed.
    note = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": "customer silent for a day", "private": True},
        headers=tenant.headers,
    )
    assert note.status_code == 201
    assert graph.calls == []


async def test_an_automatic_message_outside_the_window_fails_before_any_call(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    frozen: FrozenClock,
    runner: JobRunner,
    graph: GraphApi,
) -> None:
    _, conversation_id = await _open(client, tenant, db)
    frozen.advance(25 * 3600)
    async with db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        system = await conversations.post_system_message(session, frozen, conversation, "Bye")
        assert system is not None
        message_id = system.id
    assert await runner.run_once() == 1
    message = await _message(db, message_id)
    assert (message.delivery_status, message.delivery_reason) == ("failed", "outside_window")
    assert graph.calls == []


async def test_templates_are_synced_listed_previewed_and_sent_outside_the_window(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    frozen: FrozenClock,
    runner: JobRunner,
    graph: GraphApi,
) -> None:
    inbox_id, conversation_id = await _open(client, tenant, db)
    assert await _sync(client, tenant, inbox_id) == {"fetched": 5, "usable": 3, "removed": 0}
    listed = (
        await client.get(f"/api/v1/inboxes/{inbox_id}/templates", headers=tenant.headers)
    ).json()
    assert [(t["name"], t["language"], t["usable"]) for t in listed] == [
        ("follow_up", "en_US", True),
        ("order_update", "en_US", True),
        ("order_update", "fr", True),
        ("spring_sale", "en_US", False),
        ("welcome_back", "en_US", False),
    ]
    assert listed[1]["variables"] == ["header.1", "body.1", "body.2", "body.3"]
    assert listed[4]["unusable_reason"] == "Meta has not approved it (PENDING)"

    frozen.advance(3 * 24 * 3600)
    base = f"/api/v1/conversations/{conversation_id}/templates"
    choice = {"name": "order_update", "language": "en_US", "variables": ORDER_VALUES}
    preview = await client.post(f"{base}/preview", json=choice, headers=tenant.headers)
    assert preview.status_code == 200, preview.text
    assert preview.json()["text"].startswith("Order #1042\n\nHi Kerry, your order #1042")

    missing = {**choice, "variables": {k: v for k, v in ORDER_VALUES.items() if k != "body.3"}}
    refused = await client.post(base, json=missing, headers=tenant.headers)
    assert refused.status_code == 422
    assert refused.json()["field"] == "variables.body.3"
    assert "{{3}}" in refused.json()["message"]

    sent = await client.post(base, json=choice, headers=tenant.headers)
    assert sent.status_code == 201, sent.text
    assert sent.json()["body"] == preview.json()["text"]
    assert sent.json()["delivery_status"] == "queued"
    assert await runner.run_once() == 1
    [request] = graph.sent()
    assert request["type"] == "template"
    assert request["template"]["name"] == "order_update"
    assert request["template"]["language"] == {"code": "en_US"}
    assert request["template"]["components"][1]["parameters"][2] == {
        "type": "text",
        "text": "Friday",
    }
    message = await _message(db, sent.json()["id"])
    assert message.delivery_status == "sent"


async def test_template_refusals(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, db: Database
) -> None:
    inbox_id, conversation_id = await _open(client, tenant, db)
    await _sync(client, tenant, inbox_id)
    base = f"/api/v1/conversations/{conversation_id}/templates"
    unknown = await client.post(
        base, json={"name": "nope", "language": "en_US"}, headers=tenant.headers
    )
    assert unknown.status_code == 404
    pending = await client.post(
        base,
        json={"name": "welcome_back", "language": "en_US", "variables": {"body.1": "Jo"}},
        headers=tenant.headers,
    )
    assert pending.status_code == 422
    assert pending.json()["field"] == "name"
    extra = await client.post(
        base,
        json={"name": "follow_up", "language": "en_US", "variables": {"body.9": "x"}},
        headers=tenant.headers,
    )
    assert (extra.status_code, extra.json()["field"]) == (422, "variables.body.9")
    # Another account sees neither the inbox's templates nor the conversation.
    theirs = await client.get(f"/api/v1/inboxes/{inbox_id}/templates", headers=other_tenant.headers)
    assert theirs.status_code == 404
    follow_up = {"name": "follow_up", "language": "en_US"}
    assert (
        await client.post(base, json=follow_up, headers=other_tenant.headers)
    ).status_code == 404


async def test_only_an_admin_syncs_and_a_resync_removes_what_meta_dropped(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, graph: GraphApi
) -> None:
    inbox_id, _ = await _open(client, tenant, db)
    _, agent = await make_user(client, tenant, role="agent")
    refused = await client.post(f"/api/v1/inboxes/{inbox_id}/templates/sync", headers=agent)
    assert refused.status_code == 403
    await _sync(client, tenant, inbox_id)
    graph.templates = graph.templates[:2]
    assert await _sync(client, tenant, inbox_id) == {"fetched": 2, "usable": 2, "removed": 3}


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        (400, 131047, "outside_window"),
        (400, 131026, "invalid_recipient"),
        (401, 190, "auth_failed"),
        (400, 131031, "blocked"),
        (400, 131050, "opted_out"),
    ],
)
async def test_meta_s_final_refusals_fail_the_message_with_their_reason(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    runner: JobRunner,
    graph: GraphApi,
    status: int,
    code: int,
    reason: str,
) -> None:
    _, conversation_id = await _open(client, tenant, db)
    graph.failures = [(status, code)]
    sent = (await _reply(client, tenant, conversation_id, "Hello")).json()
    assert await runner.run_once() == 1
    message = await _message(db, sent["id"])
    assert (message.delivery_status, message.delivery_reason) == ("failed", reason)
    assert f"(code {code})" in (message.delivery_error or "")
    assert len(graph.sent()) == 1  # not retried


@pytest.mark.parametrize("failure", [(500, 131000), (429, 130429), (400, 131056), "hang"])
async def test_outages_and_rate_limits_are_retried_and_delivered_later(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    runner: JobRunner,
    graph: GraphApi,
    frozen: FrozenClock,
    failure: tuple[int, int] | str,
) -> None:
    _, conversation_id = await _open(client, tenant, db)
    graph.failures = [failure]
    sent = (await _reply(client, tenant, conversation_id, "Hello")).json()
    assert await runner.run_once() == 1
    assert (await _message(db, sent["id"])).delivery_status == "queued"
    frozen.advance(60)
    assert await runner.run_once() == 1
    message = await _message(db, sent["id"])
    assert (message.delivery_status, message.channel_message_id) == ("sent", "wamid.OUT1")
    assert len(graph.sent()) == 2


async def test_a_file_is_uploaded_then_sent_with_the_text_as_its_caption(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, runner: JobRunner, graph: GraphApi
) -> None:
    _, conversation_id = await _open(client, tenant, db)
    upload = await client.post(
        "/api/v1/attachments",
        files={"file": ("label.png", b"\x89PNG\r\n\x1a\n" + b"0" * 32, "image/png")},
        headers=tenant.headers,
    )
    assert upload.status_code == 201, upload.text
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": "Your return label", "attachment_ids": [upload.json()["id"]]},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    assert await runner.run_once() == 1
    media_call = next(c for c in graph.calls if c.path.endswith("/media"))
    assert b'name="file"; filename="label.png"' in media_call.body
    [sent] = graph.sent()
    assert sent["type"] == "image"
    assert sent["image"]["caption"] == "Your return label"
    assert sent["image"]["id"].startswith("upload-")


async def test_the_inbox_check_reads_the_number_and_the_business_account(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    inbox = await make_inbox(client, tenant)
    response = await client.post(f"/api/v1/inboxes/{inbox['id']}/check", headers=tenant.headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == [
        "app secret and verify token",
        "phone number",
        "business account",
    ]
    assert report["checks"][1]["detail"] == "Acme Support +1 555-010-0199, quality GREEN"
    assert report["checks"][2]["detail"] == "5 message templates"


async def test_a_refused_token_fails_the_check_with_meta_s_words(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    inbox = await make_inbox(client, tenant)
    await client.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        json={"secrets": {"access_token": "expired"}},
        headers=tenant.headers,
    )
    report = (
        await client.post(f"/api/v1/inboxes/{inbox['id']}/check", headers=tenant.headers)
    ).json()
    assert report["ok"] is False
    assert "Session has expired" in report["checks"][1]["detail"]


async def test_templates_belong_to_whatsapp_inboxes(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    response = await client.post(
        "/api/v1/inboxes", json={"name": "CRM", "channel_type": "api"}, headers=tenant.headers
    )
    inbox_id = response.json()["id"]
    listed = await client.get(f"/api/v1/inboxes/{inbox_id}/templates", headers=tenant.headers)
    assert (listed.status_code, listed.json()["field"]) == (422, "inbox_id")
    async with db.transaction() as session:
        assert list(await session.scalars(select(Message))) == []
