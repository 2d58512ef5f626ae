"""Meta's webhooks through the app: signed, stored once, files fetched from the Graph API
fake, statuses applied, the subscription handshake."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from omnidesk.contacts.models import Identity
from omnidesk.conversations.models import Attachment
from omnidesk.kit.db import Database
from tests.channels.whatsapp.conftest import VERIFY_TOKEN, make_inbox, post_webhook, stored
from tests.channels.whatsapp.graph import GraphApi
from tests.conftest import Tenant


async def test_the_inbox_shows_its_webhook_url_and_capabilities(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    inbox = await make_inbox(client, tenant)
    assert inbox["webhook_url"] == (
        f"https://desk.example.com/api/v1/webhooks/whatsapp/{inbox['id']}"
    )
    assert inbox["capabilities"]["reply_window_hours"] == 24
    assert sorted(inbox["secret_keys"]) == ["access_token", "app_secret", "verify_token"]


async def test_the_handshake_echoes_the_challenge_only_for_the_verify_token(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    inbox = await make_inbox(client, tenant)
    url = f"/api/v1/webhooks/whatsapp/{inbox['id']}"
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    ok = await client.get(url, params=query)
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = await client.get(url, params={**query, "hub.verify_token": "guess"})
    assert wrong.status_code == 403


async def test_a_text_is_stored_once_with_its_sender_s_two_identities(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_inbox(client, tenant)
    first = await post_webhook(client, inbox["id"], "text.json")
    again = await post_webhook(client, inbox["id"], "text.json")
    assert first.status_code == again.status_code == 200
    [message] = await stored(db)
    assert message.body == "Hi, my order hasn't arrived yet"
    async with db.transaction() as session:
        identities = {
            (i.kind, i.value)
            for i in await session.scalars(
                select(Identity).where(Identity.account_id == tenant.account_id)
            )
        }
    assert identities == {("whatsapp", "+16315551181"), ("phone", "+16315551181")}


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "forged"])
async def test_a_forged_or_missing_signature_is_403_and_nothing_is_stored(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, signature: str | None
) -> None:
    inbox = await make_inbox(client, tenant)
    response = await post_webhook(client, inbox["id"], "text.json", signature=signature)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert await stored(db) == []


async def test_a_malformed_payload_is_422(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_inbox(client, tenant)
    response = await post_webhook(client, inbox["id"], {"object": "page", "entry": []})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert await stored(db) == []


async def test_an_image_is_fetched_from_meta_with_the_token(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, graph: GraphApi
) -> None:
    graph.media["1002394537846301"] = ("image/jpeg", b"\xff\xd8\xff\xe0" + b"j" * 100)
    inbox = await make_inbox(client, tenant)
    assert (await post_webhook(client, inbox["id"], "image.json")).status_code == 200
    [message] = await stored(db)
    assert message.body == "The box was damaged"
    async with db.transaction() as session:
        [attachment] = await session.scalars(
            select(Attachment).where(Attachment.message_id == message.id)
        )
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "image.jpg",
        "image/jpeg",
        104,
    )
    # The id is looked up, then the short-lived URL downloaded, both with the token.
    assert [c.path for c in graph.calls] == [
        "/v21.0/1002394537846301",
        "/download/1002394537846301",
    ]


async def test_a_file_too_large_or_gone_is_named_and_the_message_kept(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, graph: GraphApi
) -> None:
    graph.media["1002394537846302"] = ("application/pdf", b"%PDF" + b"0" * (64 * 1024))
    inbox = await make_inbox(client, tenant)
    assert (await post_webhook(client, inbox["id"], "document.json")).status_code == 200
    assert (await post_webhook(client, inbox["id"], "audio.json")).status_code == 200
    document, audio = await stored(db)
    assert document.body == "Invoice"
    [too_large] = document.meta["media_errors"]
    assert "allowed" in str(too_large)
    assert len(audio.meta["media_errors"]) == 1  # Meta no longer has it


@pytest.mark.parametrize(
    ("name", "body", "key"),
    [
        ("location.json", "📍 Main office, 1 Hacker Way, Menlo Park, CA 94025", "location"),
        ("reply.json", "Yes, that one", "reply_to"),
        ("reaction.json", "👍", "reaction"),
        ("interactive_button_reply.json", "Track my order", "choice"),
    ],
)
async def test_locations_replies_reactions_and_choices_are_stored(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, name: str, body: str, key: str
) -> None:
    inbox = await make_inbox(client, tenant)
    assert (await post_webhook(client, inbox["id"], name)).status_code == 200
    [message] = await stored(db)
    assert message.body.startswith(body)
    assert key in message.meta


async def test_shared_contacts_are_stored_with_their_vcard(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_inbox(client, tenant)
    assert (await post_webhook(client, inbox["id"], "contacts.json")).status_code == 200
    [message] = await stored(db)
    async with db.transaction() as session:
        [card] = await session.scalars(
            select(Attachment).where(Attachment.message_id == message.id)
        )
    assert (card.filename, card.content_type) == ("contacts.vcf", "text/vcard")
