"""Messenger through the app: the webhook endpoint, the outbox and the Graph fake."""

from __future__ import annotations

import json

import httpx
import pytest

from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from tests.channels.messenger.graph_fake import GraphError, GraphFake
from tests.channels.messenger.support import (
    APP_SECRET,
    PAGE_ID,
    PSID,
    make_inbox,
    message,
    payload,
    post_webhook,
    reply,
    stored,
)
from tests.conftest import Tenant

CONFIG = {"page_id": PAGE_ID}


async def test_the_inbox_shows_its_webhook_url_and_its_verify_token_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    inbox = await make_inbox(client, tenant, "messenger", CONFIG)
    assert inbox["webhook_url"] == (
        f"https://desk.example.com/api/v1/webhooks/messenger/{inbox['id']}"
    )
    assert inbox["secret"].startswith("vt_")
    assert inbox["secret_keys"] == ["app_secret", "page_access_token", "verify_token"]
    listed = (await client.get(f"/api/v1/inboxes/{inbox['id']}", headers=tenant.headers)).json()
    assert listed.get("secret") is None
    assert APP_SECRET not in str(listed)

    url = f"/api/v1/webhooks/messenger/{inbox['id']}"
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    good = await client.get(url, params={**query, "hub.verify_token": inbox["secret"]})
    assert (good.status_code, good.text) == (200, "1158201444")
    bad = await client.get(url, params={**query, "hub.verify_token": "a-guess"})
    assert bad.status_code == 403


async def test_a_message_is_stored_once_from_a_messenger_contact(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_inbox(client, tenant, "messenger", CONFIG)
    body = payload("messenger", "text")
    first = await post_webhook(client, "messenger", inbox["id"], body)
    again = await post_webhook(client, "messenger", inbox["id"], body)
    assert first.status_code == again.status_code == 200
    [stored_message] = await stored(db)
    assert stored_message.body == "hello, world!"
    contact = (
        await client.get(
            f"/api/v1/conversations/{stored_message.conversation_id}", headers=tenant.headers
        )
    ).json()["contact_id"]
    identities = (await client.get(f"/api/v1/contacts/{contact}", headers=tenant.headers)).json()[
        "identities"
    ]
    assert [(i["kind"], i["value"]) for i in identities] == [("messenger", PSID)]


@pytest.mark.parametrize("secret", [None, "a-forged-app-secret-0000"])
async def test_a_forged_or_missing_signature_is_403_and_nothing_is_stored(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, secret: str | None
) -> None:
    inbox = await make_inbox(client, tenant, "messenger", CONFIG)
    response = await post_webhook(
        client, "messenger", inbox["id"], payload("messenger", "text"), secret=secret
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert await stored(db) == []


async def test_a_malformed_webhook_is_422(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_inbox(client, tenant, "messenger", CONFIG)
    response = await post_webhook(client, "messenger", inbox["id"], b'{"object":"page"}')
    assert response.status_code == 422
    assert response.json()["field"] == "entry"
    assert await stored(db) == []


async def test_files_are_downloaded_and_an_expired_one_is_named(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, graph: GraphFake
) -> None:
    graph.files["v/t1.15752-9/photo.jpg"] = ("image/jpeg", b"\xff\xd8\xff a photo")
    inbox = await make_inbox(client, tenant, "messenger", CONFIG)
    body = payload("messenger", "image", cdn=graph.cdn(""))
    assert (await post_webhook(client, "messenger", inbox["id"], body)).status_code == 200
    [stored_message] = await stored(db)
    page = (
        await client.get(
            f"/api/v1/conversations/{stored_message.conversation_id}/messages",
            headers=tenant.headers,
        )
    ).json()
    [out] = page["items"]
    assert [(a["filename"], a["content_type"]) for a in out["attachments"]] == [
        ("photo.jpg", "image/jpeg")
    ]
    [error] = stored_message.meta["media_errors"]
    assert "invoice.pdf" in error["ref"]
    assert "gone" in error["reason"]


async def test_replies_reactions_locations_and_postbacks_keep_their_meaning(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_inbox(client, tenant, "messenger", CONFIG)
    for name in ("reply", "reaction", "location", "postback", "quick_reply"):
        response = await post_webhook(client, "messenger", inbox["id"], payload("messenger", name))
        assert response.status_code == 200, response.text
    replied, reacted, located, tapped, quick = await stored(db)
    assert replied.meta["reply_to"] == "m_sent-1"
    assert reacted.meta["reaction"]["emoji"] == "❤️"
    assert located.meta["location"]["latitude"] == 52.516275
    assert tapped.meta["postback"]["payload"] == "HUMAN_HANDOFF"
    assert quick.meta["quick_reply"] == "PICK_RED"
    assert len({m.conversation_id for m in (replied, reacted, located, tapped, quick)}) == 1


async def test_echoes_are_acknowledged_and_not_stored(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_inbox(client, tenant, "messenger", CONFIG)
    response = await post_webhook(client, "messenger", inbox["id"], payload("messenger", "echo"))
    assert response.status_code == 200
    assert await stored(db) == []


async def test_a_reply_is_sent_then_delivered_then_read(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, graph: GraphFake, runner: JobRunner
) -> None:
    inbox = await make_inbox(client, tenant, "messenger", CONFIG)
    await post_webhook(client, "messenger", inbox["id"], payload("messenger", "text"))
    [inbound] = await stored(db)
    sent = await reply(client, tenant, inbound.conversation_id, "We are on it")

    assert await runner.run_once() == 1
    [call] = graph.sent
    assert call.body == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "We are on it"},
    }
    ours = await message(db, sent["id"])
    assert (ours.delivery_status, ours.channel_message_id) == ("sent", "m_sent-1")

    await post_webhook(client, "messenger", inbox["id"], payload("messenger", "delivery"))
    assert (await message(db, sent["id"])).delivery_status == "delivered"


@pytest.mark.parametrize("trouble", [GraphError(503, 2, "Service temporarily unavailable"), "hang"])
async def test_an_outage_is_retried_and_the_reply_delivered_later(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    graph: GraphFake,
    runner: JobRunner,
    frozen: FrozenClock,
    trouble: GraphError | str,
) -> None:
    inbox = await make_inbox(client, tenant, "messenger", CONFIG)
    await post_webhook(client, "messenger", inbox["id"], payload("messenger", "text"))
    [inbound] = await stored(db)
    graph.answers = [trouble]
    sent = await reply(client, tenant, inbound.conversation_id, "Hello")

    assert await runner.run_once() == 1
    assert (await message(db, sent["id"])).delivery_status == "queued"
    frozen.advance(15)
    assert await runner.run_once() == 1
    ours = await message(db, sent["id"])
    assert (ours.delivery_status, ours.delivery_reason) == ("sent", None)
    assert ours.channel_message_id is not None


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (GraphError(400, 551, "This person isn't available right now.", 1545041), "blocked"),
        (
            GraphError(400, 10, "This message is sent outside of allowed window.", 2018278),
            "outside_window",
        ),
        (GraphError(400, 100, "No matching user found", 2018001), "invalid_recipient"),
        (GraphError(400, 190, "Error validating access token"), "auth_failed"),
    ],
)
async def test_meta_refusals_fail_the_reply_with_their_reason(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    graph: GraphFake,
    runner: JobRunner,
    error: GraphError,
    reason: str,
) -> None:
    inbox = await make_inbox(client, tenant, "messenger", CONFIG)
    await post_webhook(client, "messenger", inbox["id"], payload("messenger", "text"))
    [inbound] = await stored(db)
    graph.answers = [error]
    sent = await reply(client, tenant, inbound.conversation_id, "Hello")

    assert await runner.run_once() == 1
    ours = await message(db, sent["id"])
    assert (ours.delivery_status, ours.delivery_reason) == ("failed", reason)
    assert error.message in (ours.delivery_error or "")
    assert await runner.run_once() == 0  # final: not retried
    assert len(graph.sent) == 1


async def test_the_check_reads_the_page(
    client: httpx.AsyncClient, tenant: Tenant, graph: GraphFake
) -> None:
    inbox = await make_inbox(client, tenant, "messenger", CONFIG)
    report = (
        await client.post(f"/api/v1/inboxes/{inbox['id']}/check", headers=tenant.headers)
    ).json()
    assert report["ok"] is True
    assert {c["name"]: c["detail"] for c in report["checks"]}["Page"] == (
        f"Acme Support ({PAGE_ID})"
    )


async def test_a_read_watermark_reads_what_was_sent_before_it(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    graph: GraphFake,
    runner: JobRunner,
    frozen: FrozenClock,
) -> None:
    inbox = await make_inbox(client, tenant, "messenger", CONFIG)
    await post_webhook(client, "messenger", inbox["id"], payload("messenger", "text"))
    [inbound] = await stored(db)
    first = await reply(client, tenant, inbound.conversation_id, "One")
    await runner.run_once()
    watermark = frozen.now()
    frozen.advance(60)
    later = await reply(client, tenant, inbound.conversation_id, "Two")
    await runner.run_once()

    read = json.loads(payload("messenger", "read"))
    read["entry"][0]["messaging"][0]["read"]["watermark"] = int(watermark.timestamp() * 1000)
    body = json.dumps(read).encode()
    assert (await post_webhook(client, "messenger", inbox["id"], body)).status_code == 200
    assert (await message(db, first["id"])).delivery_status == "read"
    assert (await message(db, later["id"])).delivery_status == "sent"


async def test_the_human_agent_tag_keeps_the_composer_open_for_a_week(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    graph: GraphFake,
    runner: JobRunner,
    frozen: FrozenClock,
) -> None:
    tagged = await make_inbox(client, tenant, "messenger", {**CONFIG, "human_agent_tag": True})
    await post_webhook(client, "messenger", tagged["id"], payload("messenger", "text"))
    [inbound] = await stored(db)
    frozen.advance(3 * 24 * 3600)  # past the standard 24 hours, within the tag's 7 days

    sent = await reply(client, tenant, inbound.conversation_id, "Your refund went out")
    assert await runner.run_once() == 1
    [call] = graph.sent
    assert (call.body["messaging_type"], call.body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    assert (await message(db, sent["id"])).delivery_status == "sent"

    frozen.advance(5 * 24 * 3600)  # a week and a day: closed for the tag too
    late = await client.post(
        f"/api/v1/conversations/{inbound.conversation_id}/messages",
        json={"body": "Anything else?"},
        headers=tenant.headers,
    )
    assert late.status_code == 422
    assert late.json()["code"] == "outside_window"
