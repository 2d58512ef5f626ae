"""The built-in SMTP listener, spoken to by the standard library's SMTP client."""

from __future__ import annotations

import asyncio
import smtplib
import socket
from email import policy
from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy import select

from omnidesk.app import create_app
from omnidesk.channels.email import addressing, ids
from omnidesk.channels.email.receiving import EmailReceiver
from omnidesk.contacts.models import Identity
from omnidesk.conversations.models import Attachment, Conversation, Message
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.settings import AttachmentSettings, Settings
from tests.channels.email.conftest import (
    INBOUND_DOMAIN,
    MAX_MESSAGE_BYTES,
    mail,
    make_email_inbox,
    smtp_send,
)
from tests.conftest import Tenant


async def _messages(db: Database, inbox_id: int) -> list[Message]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(Message).where(Message.inbox_id == inbox_id).order_by(Message.id)
        )
        return list(rows)


async def test_the_inbox_shows_its_forwarding_address_and_hides_its_passwords(
    email_client: httpx.AsyncClient, tenant: Tenant, email_settings: Settings
) -> None:
    inbox = await make_email_inbox(
        email_client, tenant, smtp_host="smtp.acme.example.com", secrets={"smtp_password": "pw-1"}
    )
    forwarding = inbox["forwarding_address"]
    assert forwarding.endswith(f"@{INBOUND_DOMAIN}")
    assert forwarding.startswith(f"inbox-{inbox['id']}-")
    assert forwarding == addressing.forwarding_address(inbox["id"], email_settings)
    assert inbox["secret_keys"] == ["imap_password", "smtp_password"]
    assert "pw-1" not in str(inbox)
    assert inbox["config"]["smtp_security"] == "starttls"
    assert inbox["capabilities"]["subject"] is True


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"address": "not an address"}, "config.address"),
        ({"address": "a@acme.example.com", "smtp_security": "ssl"}, "config.smtp_security"),
        ({"address": "a@acme.example.com", "imap_host": "imap.acme.example.com"}, "config"),
        ({"address": "a@acme.example.com", "smtp_port": 70000}, "config.smtp_port"),
        ({"address": "a@acme.example.com", "smtp_host": "bad host\r\nX: y"}, "config.smtp_host"),
        ({"address": "a@acme.example.com", "imap_mailbox": 'a"b'}, "config.imap_mailbox"),
        ({"address": "a@acme.example.com", "unknown": 1}, "config.unknown"),
        ({"address": "a@acme.example.com", "display_name": "A\r\nBcc: x"}, "config.display_name"),
        ({"address": "a@acme.example.com", "smtp_username": "u\nRCPT"}, "config.smtp_username"),
        ({}, "config.address"),
    ],
)
async def test_a_bad_configuration_is_a_422_naming_the_field(
    email_client: httpx.AsyncClient, tenant: Tenant, config: dict[str, object], field: str
) -> None:
    response = await email_client.post(
        "/api/v1/inboxes",
        json={"name": "Support", "channel_type": "email", "config": config},
        headers=tenant.headers,
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["field"] == field


async def test_an_unknown_secret_is_a_422(email_client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await email_client.post(
        "/api/v1/inboxes",
        json={
            "name": "Support",
            "channel_type": "email",
            "config": {"address": "a@acme.example.com"},
            "secrets": {"smtp_pasword": "typo"},
        },
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["field"] == "secrets.smtp_pasword"


async def test_a_forwarded_mail_is_stored_before_the_250(
    email_client: httpx.AsyncClient, tenant: Tenant, db: Database, smtp_port: int
) -> None:
    inbox = await make_email_inbox(email_client, tenant)
    refused = await smtp_send(
        smtp_port, "carla@customer.example.com", [inbox["forwarding_address"]], mail()
    )
    assert refused == {}
    # The 250 came after the commit: the message is there, without waiting.
    [message] = await _messages(db, inbox["id"])
    assert message.direction == "inbound"
    assert message.channel_message_id == "m1@customer.example.com"
    assert message.body.strip() == "Where is my parcel?"
    async with db.sessionmaker() as session:
        conversation = await session.get(Conversation, message.conversation_id)
        identity = await session.scalar(
            select(Identity).where(Identity.value == "carla@customer.example.com")
        )
    assert conversation is not None
    assert conversation.subject == "Order 1234"
    assert conversation.account_id == tenant.account_id
    assert identity is not None

    # The same mail again (a sender retrying after a lost 250): accepted, stored once.
    await smtp_send(smtp_port, "carla@customer.example.com", [inbox["forwarding_address"]], mail())
    assert len(await _messages(db, inbox["id"])) == 1


async def test_the_configured_address_and_plus_tags_reach_the_inbox(
    email_client: httpx.AsyncClient, tenant: Tenant, db: Database, smtp_port: int
) -> None:
    inbox = await make_email_inbox(email_client, tenant)
    local, _ = inbox["forwarding_address"].split("@")
    await smtp_send(
        smtp_port,
        "carla@customer.example.com",
        ["Support@ACME.example.com"],
        mail(message_id="<a@c.test>"),
    )
    await smtp_send(
        smtp_port,
        "carla@customer.example.com",
        [f"{local}+anything@{INBOUND_DOMAIN}"],
        mail(message_id="<b@c.test>"),
    )
    assert [m.channel_message_id for m in await _messages(db, inbox["id"])] == [
        "a@c.test",
        "b@c.test",
    ]


async def test_an_unknown_or_forged_recipient_is_a_550(
    email_client: httpx.AsyncClient, tenant: Tenant, db: Database, smtp_port: int
) -> None:
    inbox = await make_email_inbox(email_client, tenant)
    forged = f"inbox-{inbox['id']}-0000000000@{INBOUND_DOMAIN}"
    for recipient in ("nobody@acme.example.com", forged, f"inbox-999-abcdef0123@{INBOUND_DOMAIN}"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await smtp_send(smtp_port, "carla@customer.example.com", [recipient], mail())
        code, _ = refused.value.recipients[recipient]
        assert code == 550
    # One good and one unknown recipient: the mail is taken for the good one.
    answer = await smtp_send(
        smtp_port,
        "carla@customer.example.com",
        [inbox["forwarding_address"], "nobody@acme.example.com"],
        mail(),
    )
    assert answer["nobody@acme.example.com"][0] == 550
    assert len(await _messages(db, inbox["id"])) == 1


async def test_an_oversized_mail_is_a_552_and_nothing_is_stored(
    email_client: httpx.AsyncClient, tenant: Tenant, db: Database, smtp_port: int
) -> None:
    inbox = await make_email_inbox(email_client, tenant)
    big = mail(body=("x" * 70 + "\r\n") * (MAX_MESSAGE_BYTES // 70 + 10))
    # A client that announces the size (SIZE=…) is refused at MAIL FROM.
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await smtp_send(smtp_port, "carla@customer.example.com", [inbox["forwarding_address"]], big)
    assert refused.value.smtp_code == 552

    # One that does not is refused after its data.
    def without_size() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            client.helo("client.example.com")  # HELO: no SIZE extension
            client.mail("carla@customer.example.com")
            client.rcpt(inbox["forwarding_address"])
            return client.data(big)

    code, _ = await asyncio.to_thread(without_size)
    assert code == 552
    assert await _messages(db, inbox["id"]) == []


async def test_bad_input_is_refused_and_the_listener_keeps_serving(
    email_client: httpx.AsyncClient, tenant: Tenant, db: Database, smtp_port: int
) -> None:
    inbox = await make_email_inbox(email_client, tenant)
    address = inbox["forwarding_address"]
    # No sender address at all: refused with a 5xx, never a crash nor a silent 250.
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await smtp_send(smtp_port, "x@y.test", [address], b"Subject: no from\r\n\r\nhi\r\n")
    assert 500 <= refused.value.smtp_code < 600

    def raw_session() -> list[bytes]:
        answers = []
        with socket.create_connection(("127.0.0.1", smtp_port), timeout=5) as sock:
            reader = sock.makefile("rb")
            answers.append(reader.readline())
            for line in (
                b"\xff\xfe garbage\r\n",
                b"EHLO x\r\n",
                b"MAIL FROM:<not an address\r\n",
                b"RCPT TO:<" + b"a" * 2000 + b">\r\n",
                b"DATA\r\n",
            ):
                sock.sendall(line)
                answer = reader.readline()
                while answer[3:4] == b"-":  # a multi-line EHLO answer
                    answer = reader.readline()
                answers.append(answer)
            # A client that vanishes in the middle of a mail.
            sock.sendall(b"RSET\r\n")
            answers.append(reader.readline())
            sock.sendall(b"MAIL FROM:<a@b.test>\r\n")
            answers.append(reader.readline())
            sock.sendall(f"RCPT TO:<{address}>\r\n".encode())
            answers.append(reader.readline())
            sock.sendall(b"DATA\r\n")
            answers.append(reader.readline())
            sock.sendall(b"From: a@b.test\r\nSubject: cut")
        return answers

    answers = await asyncio.to_thread(raw_session)
    assert answers[0].startswith(b"220")
    assert all(a[:1] in (b"5", b"2", b"3") for a in answers), answers
    assert answers[-3].startswith(b"250")  # MAIL
    assert answers[-2].startswith(b"250")  # RCPT
    assert answers[-1].startswith(b"354")  # DATA, then the client is gone

    # Binary junk after the headers: stored as well as it can be, the listener still up.
    junk = mail(message_id="<junk@c.test>", body="caf\u00e9 \u2603")
    await smtp_send(smtp_port, "carla@customer.example.com", [address], junk + b"\x00\x01\xfe\r\n")
    await smtp_send(
        smtp_port, "carla@customer.example.com", [address], mail(message_id="<ok@c.test>")
    )
    ids_ = [m.channel_message_id for m in await _messages(db, inbox["id"])]
    assert ids_ == ["junk@c.test", "ok@c.test"]


async def test_a_mail_without_message_id_is_deduplicated_on_its_bytes(
    email_client: httpx.AsyncClient, tenant: Tenant, db: Database, smtp_port: int
) -> None:
    inbox = await make_email_inbox(email_client, tenant)
    raw = b"From: carla@customer.example.com\r\nSubject: hi\r\n\r\nno id\r\n"
    for _ in range(2):
        await smtp_send(smtp_port, "carla@customer.example.com", [inbox["forwarding_address"]], raw)
    [message] = await _messages(db, inbox["id"])
    assert message.channel_message_id
    other = b"From: carla@customer.example.com\r\nSubject: hi\r\n\r\nanother\r\n"
    await smtp_send(smtp_port, "carla@customer.example.com", [inbox["forwarding_address"]], other)
    assert len(await _messages(db, inbox["id"])) == 2


async def test_a_conversation_token_in_any_recipient_is_the_conversation_hint(
    email_settings: Settings, email_app: object, db: Database
) -> None:
    key = addressing.email_key(email_settings)
    token = ids.conversation_token(42, key)
    receiver = EmailReceiver(db, None, email_settings)  # type: ignore[arg-type]
    carriers = {
        "to": {"to": f"support+{token}@acme.example.com"},
        "cc": {"extra": f"Cc: Someone <support+{token}@acme.example.com>\r\n"},
        "delivered": {"extra": f"Delivered-To: support+{token}@acme.example.com\r\n"},
        "original": {"extra": f"X-Original-To: support+{token}@acme.example.com\r\n"},
    }
    for name, parts in carriers.items():
        assert receiver.inbound(mail(**parts)).conversation_hint == 42, name
    # In the SMTP envelope only (a Bcc, or a forwarder that rewrote the headers).
    envelope_only = receiver.inbound(mail(), [f"support+{token}@acme.example.com"])
    assert envelope_only.conversation_hint == 42
    assert receiver.inbound(mail()).conversation_hint is None
    forged = receiver.inbound(mail(to="support+c42.00000000@acme.example.com"))
    assert forged.conversation_hint is None
    other_key = ids.conversation_token(42, "another installation")
    foreign = receiver.inbound(mail(to=f"support+{other_key}@acme.example.com"))
    assert foreign.conversation_hint is None


async def test_the_listener_runs_with_the_app_and_stops_with_it(
    email_settings: Settings, email_clock: FrozenClock
) -> None:
    port = email_settings.email.smtp_port
    assert port
    app = create_app(email_settings, clock=email_clock, run_jobs=False)
    async with app.router.lifespan_context(app):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert (await reader.readline()).startswith(b"220")
        writer.close()
        await writer.wait_closed()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_a_mails_attachments_are_stored_before_the_250(
    email_client: httpx.AsyncClient, tenant: Tenant, db: Database, smtp_port: int
) -> None:
    inbox = await make_email_inbox(email_client, tenant)
    composed = EmailMessage()
    composed["From"] = "carla@customer.example.com"
    composed["To"] = "support@acme.example.com"
    composed["Subject"] = "Photo"
    composed["Message-ID"] = "<photo@customer.example.com>"
    composed.set_content("See the photo.")
    composed.add_attachment(
        b"\x89PNG\r\n\x1a\nfake", maintype="image", subtype="png", filename="kettle.png"
    )
    await smtp_send(
        smtp_port, "carla@customer.example.com", [inbox["forwarding_address"]], composed.as_bytes()
    )
    [message] = await _messages(db, inbox["id"])
    async with db.sessionmaker() as session:
        [attachment] = (
            await session.scalars(select(Attachment).where(Attachment.message_id == message.id))
        ).all()
    assert (attachment.filename, attachment.content_type) == ("kettle.png", "image/png")
    response = await email_client.get(
        f"/api/v1/attachments/{attachment.id}", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    assert response.content == b"\x89PNG\r\n\x1a\nfake"


async def test_the_installations_attachment_limits_drop_a_file_and_keep_the_mail(
    email_settings: Settings, email_clock: FrozenClock, tenant: Tenant, db: Database
) -> None:
    limits = AttachmentSettings(max_bytes=1024, allowed_types=["text/plain"])
    app = create_app(email_settings.model_copy(update={"attachments": limits}), clock=email_clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        inbox = await make_email_inbox(client, tenant)
        composed = EmailMessage()
        composed["From"] = "carla@customer.example.com"
        composed["To"] = "support@acme.example.com"
        composed["Subject"] = "Photos"
        composed["Message-ID"] = "<photos@customer.example.com>"
        composed.set_content("Two photos and the receipt.")
        composed.add_attachment(
            b"0123456789abcdef\n" * 128, maintype="text", subtype="plain", filename="big.txt"
        )
        composed.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="k.png")
        composed.add_attachment(b"ok", maintype="text", subtype="plain", filename="receipt.txt")
        await smtp_send(
            email_settings.email.smtp_port or 0,
            "carla@customer.example.com",
            [inbox["forwarding_address"]],
            composed.as_bytes(policy=policy.SMTP),  # CRLF: the SMTP line length holds
        )
        [message] = await _messages(db, inbox["id"])
        async with db.sessionmaker() as session:
            stored = (
                await session.scalars(select(Attachment).where(Attachment.message_id == message.id))
            ).all()
    assert message.body.startswith("Two photos and the receipt.")
    assert [a.filename for a in stored] == ["receipt.txt"]
    assert sorted(d["filename"] for d in message.meta["dropped_attachments"]) == [
        "big.txt",
        "k.png",
    ]
