"""An agent's own addressing and rich text on an email reply (To, Cc, Subject, HTML): stored
sanitised on the message, and honoured by the SMTP sender (caught by a sink on loopback)."""

from __future__ import annotations

from email.utils import getaddresses
from typing import Any

import httpx
from sqlalchemy import select

from omnidesk.conversations.models import Conversation, Message
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.db import Database
from tests.channels.email.conftest import SmtpSink, mail, make_email_inbox, smtp_send
from tests.conftest import Tenant

SUPPORT = "support@acme.example.com"


async def _conversation(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, smtp_port: int, sink: SmtpSink
) -> tuple[dict[str, Any], Conversation]:
    """Carla mailed support with Dan in copy."""
    inbox = await make_email_inbox(
        client, tenant, smtp_host="127.0.0.1", smtp_port=sink.port, smtp_security="none"
    )
    await smtp_send(
        smtp_port,
        "carla@customer.example.com",
        [inbox["forwarding_address"]],
        mail(subject="Broken kettle", extra="Cc: Dan <dan@customer.example.com>\r\n"),
    )
    async with db.sessionmaker() as session:
        message = await session.scalar(
            select(Message).where(Message.inbox_id == inbox["id"], Message.direction == "inbound")
        )
        assert message is not None
        conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None
    return inbox, conversation


async def test_the_agents_to_cc_subject_and_html_go_out_sanitised(
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    smtp_port: int,
    smtp_sink: SmtpSink,
    email_runner: JobRunner,
) -> None:
    _, conversation = await _conversation(email_client, tenant, db, smtp_port, smtp_sink)
    response = await email_client.post(
        f"/api/v1/conversations/{conversation.id}/messages",
        json={
            "body": "",
            "to": ["carla@customer.example.com"],
            # Dan dropped, Eve added; our own address is never copied; Carla only once.
            "cc": ["Eve@Partner.example.com", SUPPORT, "carla@customer.example.com"],
            "subject": "Your kettle: a new one is on its way",
            "html": '<p>Hello <b>Carla</b>,</p><ul><li>one</li></ul><a href="https://x.example/'
            '" onclick="steal()">track</a><script>alert(1)</script>',
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    sent = response.json()
    # Stored sanitised, with a plain text read from it, and the choices in its metadata.
    assert "<b>Carla</b>" in sent["body_html"]
    assert "script" not in sent["body_html"]
    assert "onclick" not in sent["body_html"]
    assert sent["body"].startswith("Hello Carla,")
    assert sent["meta"]["subject"] == "Your kettle: a new one is on its way"
    assert sent["meta"]["to"] == ["carla@customer.example.com"]

    assert await email_runner.run_once() == 1

    [caught] = smtp_sink.mails
    reply = caught.message()
    assert reply["Subject"] == "Your kettle: a new one is on its way"
    assert [a for _, a in getaddresses([reply["To"]])] == ["carla@customer.example.com"]
    assert [a for _, a in getaddresses([reply["Cc"]])] == ["Eve@partner.example.com"]
    assert sorted(caught.rcpt_tos) == ["Eve@partner.example.com", "carla@customer.example.com"]
    html = reply.get_body(preferencelist=("html",))
    text = reply.get_body(preferencelist=("plain",))
    assert html is not None
    assert text is not None
    assert "<b>Carla</b>" in html.get_content()
    assert "<li>one</li>" in html.get_content()
    assert "alert" not in html.get_content()
    assert "Hello Carla," in text.get_content()
    # Still threaded into the customer's mail.
    assert reply["In-Reply-To"] == "<m1@customer.example.com>"


async def test_an_empty_cc_copies_nobody(
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    smtp_port: int,
    smtp_sink: SmtpSink,
    email_runner: JobRunner,
) -> None:
    _, conversation = await _conversation(email_client, tenant, db, smtp_port, smtp_sink)
    response = await email_client.post(
        f"/api/v1/conversations/{conversation.id}/messages",
        json={"body": "Just you, Carla.", "cc": []},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    assert await email_runner.run_once() == 1
    reply = smtp_sink.mails[0].message()
    assert reply["Cc"] is None
    assert smtp_sink.mails[0].rcpt_tos == ["carla@customer.example.com"]
    assert reply["Subject"] == "Re: Broken kettle"


async def test_bad_addresses_and_notes_with_email_fields_are_refused(
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    smtp_port: int,
    smtp_sink: SmtpSink,
) -> None:
    _, conversation = await _conversation(email_client, tenant, db, smtp_port, smtp_sink)
    path = f"/api/v1/conversations/{conversation.id}/messages"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"body": "x", "cc": ["not an address"]}, "cc"),
        ({"body": "x", "to": []}, "to"),
        ({"body": "x", "cc": [f"a{i}@example.com" for i in range(21)]}, "cc"),
        ({"body": "x", "private": True, "subject": "Hi"}, "subject"),
        ({"body": "", "html": "<script>only()</script>"}, "body"),
    ]
    for body, field in cases:
        response = await email_client.post(path, json=body, headers=tenant.headers)
        assert response.status_code == 422, (body, response.text)
        assert field in (response.json()["field"] or ""), (body, response.json())
