"""Instagram through the app: the same endpoint, outbox and Graph fake as Messenger."""

from __future__ import annotations

import httpx

from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.db import Database
from tests.channels.messenger.graph_fake import GraphFake
from tests.channels.messenger.support import (
    IG_ID,
    IGSID,
    PAGE_ID,
    make_inbox,
    message,
    payload,
    post_webhook,
    reply,
    stored,
)
from tests.conftest import Tenant

CONFIG = {"instagram_account_id": IG_ID, "page_id": PAGE_ID}


async def test_a_direct_message_is_answered_through_the_page_and_seen(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, graph: GraphFake, runner: JobRunner
) -> None:
    inbox = await make_inbox(client, tenant, "instagram", CONFIG)
    assert inbox["webhook_url"].endswith(f"/api/v1/webhooks/instagram/{inbox['id']}")
    body = payload("instagram", "text")
    for _ in range(2):
        assert (await post_webhook(client, "instagram", inbox["id"], body)).status_code == 200
    [inbound] = await stored(db)
    assert inbound.body == "Is this still available?"
    conversation = (
        await client.get(f"/api/v1/conversations/{inbound.conversation_id}", headers=tenant.headers)
    ).json()
    contact = (
        await client.get(f"/api/v1/contacts/{conversation['contact_id']}", headers=tenant.headers)
    ).json()
    assert [(i["kind"], i["value"]) for i in contact["identities"]] == [("instagram", IGSID)]

    sent = await reply(client, tenant, inbound.conversation_id, "Yes, in every size")
    assert await runner.run_once() == 1
    [call] = graph.sent
    assert call.path == f"/v21.0/{PAGE_ID}/messages"
    assert call.body["recipient"] == {"id": IGSID}
    assert call.body["messaging_type"] == "RESPONSE"
    assert (await message(db, sent["id"])).delivery_status == "sent"

    seen = await post_webhook(client, "instagram", inbox["id"], payload("instagram", "seen"))
    assert seen.status_code == 200
    assert (await message(db, sent["id"])).delivery_status == "read"


async def test_story_mentions_are_stored_without_their_media_and_echoes_not_at_all(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, graph: GraphFake
) -> None:
    inbox = await make_inbox(client, tenant, "instagram", CONFIG)
    for name in ("story_mention", "echo", "unsent"):
        response = await post_webhook(client, "instagram", inbox["id"], payload("instagram", name))
        assert response.status_code == 200
    [mention] = await stored(db)
    assert mention.meta["story_mention"]["url"].startswith("https://lookaside.fbsbx.com/")
    assert "media_errors" not in mention.meta
    assert graph.requests == []  # nothing downloaded


async def test_a_messenger_webhook_at_an_instagram_inbox_is_signed_but_refused(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_inbox(client, tenant, "instagram", CONFIG)
    response = await post_webhook(client, "instagram", inbox["id"], payload("messenger", "text"))
    assert response.status_code == 422
    assert response.json()["field"] == "object"
    assert await stored(db) == []
