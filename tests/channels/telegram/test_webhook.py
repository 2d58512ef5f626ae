"""Updates through the webhook pipeline: the secret token is checked before anything is
stored, each message is stored once, files are downloaded from the fake Bot API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from omnidesk.kit.db import Database
from tests.channels.telegram.conftest import (
    deliver_update,
    make_telegram_inbox,
    payload,
    stored,
)
from tests.channels.telegram.fake import FakeBotApi
from tests.conftest import Tenant


async def _messages(
    client: httpx.AsyncClient, tenant: Tenant, conversation_id: int
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/conversations/{conversation_id}/messages", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_the_inbox_shows_its_webhook_url(client: httpx.AsyncClient, tenant: Tenant) -> None:
    inbox = await make_telegram_inbox(client, tenant)
    assert inbox["webhook_url"] == (
        f"https://desk.example.com/api/v1/webhooks/telegram/{inbox['id']}"
    )
    assert inbox["secret_keys"] == ["bot_token", "webhook_secret"]


@pytest.mark.parametrize("secret", [None, "forged-secret-0123456789"])
async def test_a_forged_or_missing_secret_token_is_403_and_nothing_is_stored(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, secret: str | None
) -> None:
    inbox = await make_telegram_inbox(client, tenant)
    response = await deliver_update(client, inbox["id"], payload("text"), secret=secret)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert await stored(db) == []


async def test_a_text_message_is_stored_once_however_often_telegram_sends_it(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_telegram_inbox(client, tenant)
    for _ in range(2):
        response = await deliver_update(client, inbox["id"], payload("text"))
        assert response.status_code == 200, response.text
    [message] = await stored(db)
    assert (message.body, message.channel_message_id) == (
        "Hello, my order #1234 has not arrived",
        "987654321:1365",
    )
    contact = await client.get(
        f"/api/v1/conversations/{message.conversation_id}", headers=tenant.headers
    )
    assert contact.status_code == 200, contact.text


async def test_a_photo_is_downloaded_into_the_message(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, bot_api: FakeBotApi
) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 2000
    bot_api.files["AgACAgQAAxkBAAIBY2cPhotoLarge"] = ("photos/file_7.jpg", jpeg)
    inbox = await make_telegram_inbox(client, tenant)
    assert (await deliver_update(client, inbox["id"], payload("photo"))).status_code == 200
    [message] = await stored(db)
    [out] = await _messages(client, tenant, message.conversation_id)
    assert out["body"] == "This is what I got"
    [attachment] = out["attachments"]
    assert (attachment["filename"], attachment["content_type"], attachment["size"]) == (
        "photo-AQADlarge.jpg",
        "image/jpeg",
        len(jpeg),
    )
    assert [c.params for c in bot_api.calls if c.method == "getFile"] == [
        {"file_id": "AgACAgQAAxkBAAIBY2cPhotoLarge"}
    ]


async def test_a_file_telegram_will_not_serve_is_named_not_lost(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, bot_api: FakeBotApi
) -> None:
    bot_api.files["BQACAgQAAxkBAAIBZGcDocument"] = ("documents/file_9.pdf", None)  # over 20 MB
    inbox = await make_telegram_inbox(client, tenant)
    assert (await deliver_update(client, inbox["id"], payload("document"))).status_code == 200
    [message] = await stored(db)
    [error] = message.meta["media_errors"]
    assert error["ref"] == "BQACAgQAAxkBAAIBZGcDocument"
    assert "file is too big" in error["reason"]


async def test_location_contact_reply_reaction_and_edit_reach_the_conversation(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_telegram_inbox(client, tenant)
    names = ["text", "location", "contact", "reply", "reaction", "edited"]
    for name in names:
        response = await deliver_update(client, inbox["id"], payload(name))
        assert response.status_code == 200, (name, response.text)
    messages = await stored(db)
    assert len({m.conversation_id for m in messages}) == 1  # one chat, one conversation
    by_id = {m.channel_message_id: m for m in messages}
    assert by_id["987654321:1370"].meta["location"]["latitude"] == 52.520008
    assert by_id["987654321:1373"].meta["reply_to"] == "987654321:101"
    reaction = by_id["987654321:101:reaction:987654321:1736067700"]
    assert (reaction.body, reaction.meta["reaction"]["to"]) == ("👍", "987654321:101")
    assert by_id["987654321:1365:edit:1736067660"].meta["edit_of"] == "987654321:1365"
    items = await _messages(client, tenant, messages[0].conversation_id)
    [card] = next(m for m in items if m["body"].startswith("👤"))["attachments"]
    assert (card["filename"], card["content_type"]) == ("contact.vcf", "text/vcard")


async def test_a_group_chat_message_is_acknowledged_and_not_stored(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_telegram_inbox(client, tenant)
    response = await deliver_update(client, inbox["id"], payload("group"))
    assert response.status_code == 200
    assert await stored(db) == []


async def test_a_malformed_update_is_422_in_the_error_shape(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_telegram_inbox(client, tenant)
    response = await deliver_update(client, inbox["id"], {"update_id": 5, "message": {}})
    assert response.status_code == 422
    assert response.json()["field"] == "message.message_id"
    assert await stored(db) == []


async def test_another_tenants_secret_does_not_open_this_inbox(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, db: Database
) -> None:
    ours = await make_telegram_inbox(client, tenant)
    await make_telegram_inbox(client, other_tenant, webhook_secret="theirs-0123456789abcdef")
    response = await deliver_update(
        client, ours["id"], payload("text"), secret="theirs-0123456789abcdef"
    )
    assert response.status_code == 403
    assert await stored(db) == []
