"""The visitor protocol over HTTP (docs/channels/webchat.md), on the real app and database."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from omnidesk.channels.webchat import tokens
from omnidesk.conversations.models import Conversation, Message
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.db import Database
from tests.channels.webchat.conftest import (
    agent_reply,
    make_webchat_inbox,
    start_session,
)
from tests.conftest import Tenant


def _runner(app: FastAPI) -> JobRunner:
    runner: JobRunner = app.state.container.jobs
    return runner


async def test_an_inbox_has_a_widget_key_an_identity_secret_shown_once_and_a_snippet(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    widget = await make_webchat_inbox(client, tenant)
    assert len(widget.key) >= 22
    assert widget.identity_secret
    assert widget.identity_secret.startswith("wcid_")
    shown = (await client.get(f"/api/v1/inboxes/{widget.inbox_id}", headers=tenant.headers)).json()
    assert shown["secret_keys"] == ["identity_secret"]
    assert widget.identity_secret not in str(shown)
    embed = await client.get(f"/api/v1/inboxes/{widget.inbox_id}/webchat", headers=tenant.headers)
    assert embed.status_code == 200, embed.text
    assert embed.json()["snippet"] == (
        f'<script src="http://127.0.0.1:8000/widget.js" data-inbox="{widget.key}" async></script>'
    )
    rotated = await client.post(
        f"/api/v1/inboxes/{widget.inbox_id}/rotate-secret", headers=tenant.headers
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] not in (None, widget.identity_secret)


async def test_editing_the_config_keeps_the_widget_key_already_embedded_in_pages(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    widget = await make_webchat_inbox(client, tenant, title="Help")
    edited = await client.patch(
        f"/api/v1/inboxes/{widget.inbox_id}",
        json={"config": {"title": "Chat with us"}},
        headers=tenant.headers,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["config"]["title"] == "Chat with us"
    assert edited.json()["config"]["widget_key"] == widget.key
    visitor, _ = await start_session(client, widget)
    assert visitor.token


async def test_a_session_makes_a_visitor_and_gives_the_widget_its_settings(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    widget = await make_webchat_inbox(
        client,
        tenant,
        title="Help",
        colour="#FF0000",
        pre_chat_form={
            "enabled": True,
            "fields": [{"name": "email", "label": "Email", "type": "email", "required": True}],
        },
    )
    visitor, answer = await start_session(client, widget)
    assert answer["visitor"] == {"name": None, "email": None}
    assert answer["conversation"] is None
    settings = answer["settings"]
    assert settings["title"] == "Help"
    assert settings["colour"] == "#ff0000"
    assert settings["online"] is True
    assert settings["csat"] is True
    assert settings["pre_chat_form"]["fields"][0]["required"] is True
    assert settings["attachments"]["max_bytes"] > 0
    # The same token resumes the same visitor.
    again = await client.post(f"{widget.base}/session", json={"visitor_token": visitor.token})
    assert again.json()["visitor_token"] == visitor.token


async def test_unknown_keys_forged_tokens_and_other_inboxes_tokens_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, app: FastAPI
) -> None:
    widget = await make_webchat_inbox(client, tenant)
    other = await make_webchat_inbox(client, tenant, name="Other site")
    visitor, _ = await start_session(client, widget)

    unknown = await client.post("/widget/v1/" + "x" * 24 + "/session", json={})
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"

    body = {"client_id": str(uuid.uuid4()), "body": "hi"}
    no_token = await client.post(f"{widget.base}/messages", json=body)
    assert no_token.status_code == 401
    forged = visitor.token[:-4] + "AAAA"
    refused = await client.post(
        f"{widget.base}/messages", json=body, headers={"Authorization": f"Visitor {forged}"}
    )
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthorized"
    elsewhere = await client.post(
        f"{other.base}/messages", json=body, headers={"Authorization": f"Visitor {visitor.token}"}
    )
    assert elsewhere.status_code == 401
    # A session with another inbox's token makes a new visitor there.
    fresh = await client.post(f"{other.base}/session", json={"visitor_token": visitor.token})
    assert fresh.status_code == 200
    claims = tokens.read(
        app.state.container.settings.secret_key.get_secret_value(), fresh.json()["visitor_token"]
    )
    assert claims.inbox_id == other.inbox_id


async def test_messages_are_idempotent_fill_the_contact_and_hide_notes(
    client: httpx.AsyncClient, tenant: Tenant, app: FastAPI
) -> None:
    await client.post(
        "/api/v1/attribute-definitions",
        json={"key": "plan", "label": "Plan", "type": "list", "options": ["free", "pro"]},
        headers=tenant.headers,
    )
    widget = await make_webchat_inbox(
        client,
        tenant,
        pre_chat_form={
            "enabled": True,
            "fields": [
                {"name": "name", "label": "Name"},
                {"name": "email", "label": "Email", "type": "email", "required": True},
                {"name": "plan", "label": "Plan", "type": "select", "options": ["free", "pro"]},
            ],
        },
    )
    visitor, _ = await start_session(client, widget)
    client_id = str(uuid.uuid4())
    missing = await visitor.post(
        "messages", json={"client_id": client_id, "body": "Hi", "pre_chat": {"name": "Ann"}}
    )
    assert missing.status_code == 422
    assert missing.json()["field"] == "pre_chat.fields.email"

    pre_chat = {"name": "Ann", "email": "Ann@Example.com", "fields": {"plan": "pro"}}
    first = await visitor.post(
        "messages",
        json={"client_id": client_id, "body": "<b>Hi</b> there", "pre_chat": pre_chat},
    )
    assert first.status_code == 201, first.text
    message = first.json()
    assert message["client_id"] == client_id
    assert message["body"] == "<b>Hi</b> there"  # stored and shown as text
    assert message["direction"] == "inbound"
    assert message["sender"] == {"type": "contact", "name": None}
    assert message["status"] == "sent"
    resent = await visitor.post(
        "messages", json={"client_id": client_id, "body": "<b>Hi</b> there"}
    )
    assert resent.status_code == 200
    assert resent.json()["id"] == message["id"]

    conversation = (
        await client.get(
            f"/api/v1/conversations/{message['conversation_id']}", headers=tenant.headers
        )
    ).json()
    contact = (
        await client.get(f"/api/v1/contacts/{conversation['contact_id']}", headers=tenant.headers)
    ).json()
    assert contact["name"] == "Ann"
    assert contact["attributes"] == {"plan": "pro"}
    kinds = {i["kind"]: i["value"] for i in contact["identities"]}
    assert kinds["email"] == "ann@example.com"
    assert "webchat" in kinds

    await agent_reply(client, tenant, message["conversation_id"], "secret note", private=True)
    reply = await agent_reply(client, tenant, message["conversation_id"], "Hello Ann")
    history = (await visitor.get("messages")).json()
    assert [m["body"] for m in history["messages"]] == ["<b>Hi</b> there", "Hello Ann"]
    assert history["messages"][1]["sender"] == {"type": "user", "name": "Admin"}
    assert history["conversation"]["id"] == message["conversation_id"]
    after = (await visitor.get("messages", params={"after": message["id"]})).json()
    assert [m["id"] for m in after["messages"]] == [reply["id"]]

    # The reply goes out through the outbox: the adapter confirms it as sent.
    assert await _runner(app).run_once() == 1
    history = (await visitor.get("messages")).json()
    assert history["messages"][1]["status"] == "sent"
    read = await visitor.post("read", json={"message_id": reply["id"]})
    assert read.status_code == 204, read.text
    history = (await visitor.get("messages")).json()
    assert history["messages"][1]["status"] == "read"
    session = (
        await client.post(f"{widget.base}/session", json={"visitor_token": visitor.token})
    ).json()
    assert session["visitor"] == {"name": "Ann", "email": "ann@example.com"}
    assert session["conversation"]["id"] == message["conversation_id"]


async def test_a_client_id_of_another_visitor_is_a_conflict(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    widget = await make_webchat_inbox(client, tenant)
    alice, _ = await start_session(client, widget)
    mallory, _ = await start_session(client, widget)
    client_id = str(uuid.uuid4())
    await alice.say("private words", client_id)
    stolen = await mallory.post("messages", json={"client_id": client_id, "body": "x"})
    assert stolen.status_code == 409
    assert "private words" not in stolen.text


async def test_identity_verification_follows_the_user_across_devices(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    widget = await make_webchat_inbox(client, tenant)
    assert widget.identity_secret is not None
    user = {"id": "user-42", "hash": tokens.user_hash(widget.identity_secret, "user-42")}

    wrong = await client.post(f"{widget.base}/session", json={"user": {**user, "hash": "0" * 64}})
    assert wrong.status_code == 403
    assert wrong.json()["field"] == "user.hash"

    laptop, answer = await start_session(
        client, widget, user={**user, "name": "Uma", "email": "uma@example.com"}
    )
    assert answer["visitor"] == {"name": "Uma", "email": "uma@example.com"}
    said = await laptop.say("from my laptop")

    phone, answer = await start_session(client, widget, user=user)
    assert phone.token != laptop.token
    assert answer["conversation"]["id"] == said["conversation_id"]
    history = (await phone.get("messages")).json()
    assert [m["body"] for m in history["messages"]] == ["from my laptop"]
    said_too = await phone.say("and from my phone")
    assert said_too["conversation_id"] == said["conversation_id"]

    # An anonymous visitor who chatted, then logs in as a known user, is a new visitor of
    # that user: the anonymous chat stays with its own contact.
    anonymous, _ = await start_session(client, widget)
    await anonymous.say("before logging in")
    logged_in, answer = await start_session(
        client, widget, visitor_token=anonymous.token, user=user
    )
    assert logged_in.token != anonymous.token
    assert answer["conversation"]["id"] == said["conversation_id"]


async def test_origins_outside_the_allow_list_are_refused_and_cors_names_the_allowed_one(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    shop = "https://shop.example.com"
    widget = await make_webchat_inbox(client, tenant, allowed_origins=[shop + "/"])
    refused = await client.post(
        f"{widget.base}/session", json={}, headers={"Origin": "https://evil.example.net"}
    )
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    assert refused.json()["field"] == "Origin"

    visitor, _ = await start_session(client, widget, origin=shop)
    answer = await visitor.get("messages")
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == shop
    # Errors carry it too, so that the widget can read them.
    bad = await visitor.post("messages", json={"body": "no client id"})
    assert bad.status_code == 422
    assert bad.headers["access-control-allow-origin"] == shop

    preflight = await client.options(
        f"{widget.base}/messages",
        headers={
            "Origin": shop,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == shop
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    assert "POST" in preflight.headers["access-control-allow-methods"]
    evil = await client.options(
        f"{widget.base}/messages",
        headers={"Origin": "https://evil.example.net", "Access-Control-Request-Method": "POST"},
    )
    assert evil.status_code == 403
    assert "access-control-allow-origin" not in evil.headers


async def test_visitors_are_rate_limited_and_long_messages_refused(
    client: httpx.AsyncClient, tenant: Tenant, app: FastAPI
) -> None:
    limits = app.state.container.settings.webchat
    limits.messages_per_minute = 2
    limits.max_message_chars = 20
    widget = await make_webchat_inbox(client, tenant)
    visitor, _ = await start_session(client, widget)
    too_long = await visitor.post("messages", json={"client_id": "c-0", "body": "x" * 21})
    assert too_long.status_code == 413
    assert too_long.json()["code"] == "payload_too_large"
    await visitor.say("one")
    limited = await visitor.post("messages", json={"client_id": "c-2", "body": "two"})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["code"] == "rate_limited"
    # Another visitor has budget of their own.
    other, _ = await start_session(client, widget)
    await other.say("mine")


async def test_attachments_keep_to_the_limits_and_download_by_signed_link(
    client: httpx.AsyncClient, tenant: Tenant, app: FastAPI
) -> None:
    widget = await make_webchat_inbox(client, tenant)
    visitor, _ = await start_session(client, widget)
    sent = await visitor.post(
        "attachments",
        files={"file": ("notes.txt", b"hello file", "text/plain")},
        data={"client_id": "att-1", "body": "see file"},
    )
    assert sent.status_code == 201, sent.text
    [attachment] = sent.json()["attachments"]
    assert attachment["filename"] == "notes.txt"
    assert attachment["size"] == 10
    path = attachment["url"].removeprefix("http://127.0.0.1:8000")
    download = await client.get(path)
    assert download.status_code == 200
    assert download.content == b"hello file"
    forged = await client.get(path[: path.index("sig=") + 4] + "x" * 43)
    assert forged.status_code == 404

    attachments = app.state.container.settings.attachments
    attachments.allowed_types = ["image/*"]
    wrong_type = await visitor.post(
        "attachments",
        files={"file": ("x.txt", b"x", "text/plain")},
        data={"client_id": "att-2"},
    )
    assert wrong_type.status_code == 415
    attachments.max_bytes = 4
    too_big = await visitor.post(
        "attachments",
        files={"file": ("x.png", b"12345", "image/png")},
        data={"client_id": "att-3"},
    )
    assert too_big.status_code == 413


async def test_csat_is_stored_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    widget = await make_webchat_inbox(client, tenant)
    visitor, _ = await start_session(client, widget)
    said = await visitor.say("help")
    body = {"conversation_id": said["conversation_id"], "rating": 5, "comment": "great"}
    first = await visitor.post("csat", json=body)
    assert first.status_code == 204, first.text
    second = await visitor.post("csat", json={**body, "rating": 1})
    assert second.status_code == 409
    conversation = (
        await client.get(f"/api/v1/conversations/{said['conversation_id']}", headers=tenant.headers)
    ).json()
    assert (conversation["csat_rating"], conversation["csat_comment"]) == (5, "great")
    stranger, _ = await start_session(client, widget)
    assert (await stranger.post("csat", json=body)).status_code == 404


async def test_page_views_and_rage_clicks_are_on_the_contacts_timeline(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    widget = await make_webchat_inbox(client, tenant)
    visitor, _ = await start_session(client, widget)
    sent = await visitor.post(
        "events",
        json={
            "events": [
                {
                    "kind": "page_view",
                    "url": "https://shop.example.com/pricing",
                    "title": "Pricing",
                    "at": "2026-01-05T09:00:00Z",
                },
                {
                    "kind": "rage_click",
                    "url": "https://shop.example.com/cart",
                    "x": 10,
                    "y": 20,
                    "selector": "button.pay",
                    "at": "2026-01-05T09:01:00Z",
                },
            ]
        },
    )
    assert sent.status_code == 204, sent.text
    said = await visitor.say("the pay button does nothing")
    conversation = (
        await client.get(f"/api/v1/conversations/{said['conversation_id']}", headers=tenant.headers)
    ).json()
    timeline = (
        await client.get(
            f"/api/v1/contacts/{conversation['contact_id']}/events", headers=tenant.headers
        )
    ).json()
    types = [e["type"] for e in timeline]
    assert "contact.page_viewed" in types
    assert "contact.rage_clicked" in types
    rage = next(e for e in timeline if e["type"] == "contact.rage_clicked")
    assert rage["data"]["selector"] == "button.pay"
    too_many = await visitor.post(
        "events",
        json={
            "events": [
                {"kind": "page_view", "url": "https://x.example", "at": "2026-01-05T09:00:00Z"}
            ]
            * 21
        },
    )
    assert too_many.status_code == 422


async def test_leaving_while_waiting_is_an_abandonment(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    widget = await make_webchat_inbox(client, tenant)
    visitor, _ = await start_session(client, widget)
    nothing = await visitor.post("left", json={})
    assert nothing.status_code == 204  # no conversation yet: nothing to leave
    said = await visitor.say("anyone?")
    left = await visitor.post("left", json={})
    assert left.status_code == 204, left.text
    conversation = (
        await client.get(f"/api/v1/conversations/{said['conversation_id']}", headers=tenant.headers)
    ).json()
    assert conversation["status"] == "pending"


async def test_an_offline_message_without_an_email_inbox_fails_its_replies_clearly(
    client: httpx.AsyncClient, tenant: Tenant, app: FastAPI, db: Database
) -> None:
    widget = await make_webchat_inbox(client, tenant)
    visitor, _ = await start_session(client, widget)
    body = {"name": "Olga", "email": "olga@example.com", "body": "call me", "client_id": "off-1"}
    left = await visitor.post("offline", json=body)
    assert left.status_code == 201, left.text
    again = await visitor.post("offline", json=body)
    assert again.status_code == 200
    assert again.json()["id"] == left.json()["id"]
    live = await visitor.say("actually I'm here")
    assert live["conversation_id"] != left.json()["conversation_id"]

    reply = await agent_reply(client, tenant, left.json()["conversation_id"], "Hello Olga")
    await _runner(app).run_once()
    async with db.sessionmaker() as session:
        message = await session.get(Message, reply["id"])
    assert message is not None
    assert message.delivery_status == "failed"
    assert "offline_email_inbox_id" in (message.delivery_error or "")


async def test_an_offline_message_moves_to_the_email_inbox_whose_adapter_replies(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    from datetime import UTC, datetime

    from omnidesk.inboxes.models import Inbox
    from omnidesk.jobs.models import Job

    now = datetime.now(UTC)
    async with db.transaction() as session:
        # Made directly: the email channel's configuration is another engineer's work.
        email_inbox = Inbox(
            account_id=tenant.account_id,
            name="Support mail",
            channel_type="email",
            config={},
            secrets_encrypted="",
            created_at=now,
            updated_at=now,
        )
        session.add(email_inbox)
        await session.flush()
        email_inbox_id = email_inbox.id
    widget = await make_webchat_inbox(client, tenant, offline_email_inbox_id=email_inbox_id)
    visitor, _ = await start_session(client, widget)
    left = await visitor.post(
        "offline",
        json={"email": "olga@example.com", "body": "call me", "client_id": "off-1"},
    )
    assert left.status_code == 201, left.text
    conversation_id = left.json()["conversation_id"]
    async with db.sessionmaker() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        assert conversation.inbox_id == email_inbox_id
    reply = await agent_reply(client, tenant, conversation_id, "Hello Olga")
    assert reply["inbox_id"] == email_inbox_id
    async with db.sessionmaker() as session:
        job = await session.scalar(
            select(Job).where(Job.idempotency_key == f"message:{reply['id']}")
        )
    assert job is not None
    assert job.kind == "channel.deliver"
    contact = (
        await client.get(f"/api/v1/contacts/{conversation.contact_id}", headers=tenant.headers)
    ).json()
    assert "olga@example.com" in [i["value"] for i in contact["identities"]]


async def test_the_bundle_is_served_or_a_clear_503(client: httpx.AsyncClient) -> None:
    from omnidesk.channels.webchat import endpoints

    response = await client.get("/widget.js")
    if endpoints.BUNDLE.is_file():
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=300"
    else:
        assert response.status_code == 503
        assert response.json()["code"] == "unavailable"


async def test_agents_typing_and_reading_need_a_visible_conversation(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    widget = await make_webchat_inbox(client, tenant)
    visitor, _ = await start_session(client, widget)
    said = await visitor.say("hi")
    path = f"/api/v1/conversations/{said['conversation_id']}"
    ok = await client.post(f"{path}/typing", json={"typing": True}, headers=tenant.headers)
    assert ok.status_code == 204
    read = await client.post(
        f"{path}/read", json={"message_id": said["id"]}, headers=tenant.headers
    )
    assert read.status_code == 204
    foreign = await client.post(
        f"{path}/typing", json={"typing": True}, headers=other_tenant.headers
    )
    assert foreign.status_code == 404
    embed = await client.get(
        f"/api/v1/inboxes/{widget.inbox_id}/webchat", headers=other_tenant.headers
    )
    assert embed.status_code == 404


async def test_out_of_hours_the_widget_is_offline_with_the_next_opening(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    hours = await client.post(
        "/api/v1/routing/business-hours",
        json={"name": "Never", "timezone": "Europe/London", "weekly": {}},
        headers=tenant.headers,
    )
    assert hours.status_code == 201, hours.text
    widget = await make_webchat_inbox(
        client, tenant, business_hours_id=hours.json()["id"], offline_reply="Back soon"
    )
    _, answer = await start_session(client, widget)
    assert answer["settings"]["online"] is False
    assert answer["settings"]["next_open_at"] is None
    assert answer["settings"]["expected_reply"] == "Back soon"


async def test_one_address_is_rate_limited_across_visitors(
    client: httpx.AsyncClient, tenant: Tenant, app: FastAPI
) -> None:
    widget = await make_webchat_inbox(client, tenant)
    app.state.container.settings.webchat.ip_calls_per_minute = 3
    answers = [(await client.post(f"{widget.base}/session", json={})).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
