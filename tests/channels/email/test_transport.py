"""Where the transport runs (serve or worker), and composing replies without a network."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from omnidesk.app import create_app
from omnidesk.channels.base import AdapterContext, DeliveryFailed, Outbound
from omnidesk.channels.email import ids
from omnidesk.channels.email.adapter import MAX_REFERENCES, EmailChannel
from omnidesk.jobs.worker import run_worker
from omnidesk.kit.clock import FrozenClock
from omnidesk.settings import Settings

KEY = "k" * 64


async def _answers(port: int) -> bool:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    greeting = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return greeting.startswith(b"220")


async def test_the_worker_runs_the_listener_when_serve_does_not(
    email_settings: Settings, email_clock: FrozenClock
) -> None:
    email = email_settings.email.model_copy(update={"embedded": False})
    settings = email_settings.model_copy(update={"email": email})
    port = email.smtp_port
    assert port

    app = create_app(settings, clock=email_clock, run_jobs=False)
    async with app.router.lifespan_context(app):
        assert not await _answers(port)  # serve leaves it to the workers

    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, stop=stop, shutdown_timeout_s=5))
    try:
        for _ in range(200):
            if await _answers(port):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the worker never listened")
    finally:
        stop.set()
        assert await asyncio.wait_for(worker, 15) == 0
    assert not await _answers(port)


async def test_a_taken_port_leaves_the_app_serving_without_listener(
    email_settings: Settings, email_clock: FrozenClock
) -> None:
    port = email_settings.email.smtp_port
    assert port
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        app = create_app(email_settings, clock=email_clock, run_jobs=False)
        async with app.router.lifespan_context(app):
            assert app.state.container.email.listener is None


def _channel(channel_key: str = KEY, **config: Any) -> EmailChannel:
    return EmailChannel(
        AdapterContext(
            inbox_id=1,
            account_id=1,
            config={"address": "support@acme.example.com", "display_name": "Acme", **config},
            secrets={},
            public_url="http://testserver",
            channel_key=channel_key,
        )
    )


def _outbound(**meta: Any) -> Outbound:
    return Outbound(
        message_id=9,
        conversation_id=42,
        idempotency_key="message:9",
        recipient_kind="email",
        recipient="carla@customer.example.com",
        body="Hello",
        subject="Order\r\nBcc: everyone@example.com",
        sender_name="Alex\r\nBcc: x@example.com",
        meta={
            "sender_type": "user",
            "created_at": "2026-01-05T09:00:00+00:00",
            **meta,
        },
    )


def test_a_new_thread_keeps_its_subject_and_headers_stay_one_line() -> None:
    message, recipients = _channel().compose(_outbound(last_inbound=None))
    assert recipients == ["carla@customer.example.com"]
    assert message["Subject"] == "Order Bcc: everyone@example.com"
    assert message["In-Reply-To"] is None
    assert message["Bcc"] is None
    assert "\n" not in str(message["From"])
    assert message["Date"] == "Mon, 05 Jan 2026 09:00:00 +0000"
    expected = ids.stable_message_id("message:9", KEY, "acme.example.com")
    assert message["Message-ID"] == f"<{expected}>"


def test_a_follow_up_without_customer_mail_threads_on_our_last_one() -> None:
    message, _ = _channel().compose(_outbound(last_inbound=None, last_outbound_id="ours@acme"))
    assert message["In-Reply-To"] == "<ours@acme>"
    assert message["Subject"].startswith("Re: Order")


def test_a_customer_message_that_was_not_a_mail_is_not_a_parent() -> None:
    # An offline web chat continued by email: the customer's message has the widget's id.
    chat = {"channel_message_id": "3f1c9a52-widget-id", "meta": {}}
    message, _ = _channel().compose(_outbound(last_inbound=chat))
    assert message["In-Reply-To"] is None
    assert message["References"] is None
    assert message["Subject"] == "Order Bcc: everyone@example.com"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Order", "Re: Order"),
        ("Re: Order", "Re: Order"),
        ("RE: re: AW: Order", "Re: Order"),
        ("Re[2]: Order", "Re: Order"),
        ("", "Re: (no subject)"),
        ("Regarding Order", "Re: Regarding Order"),
    ],
)
def test_a_reply_subject_has_one_re(subject: str, expected: str) -> None:
    outbound = _outbound(last_inbound={"channel_message_id": "m@c", "meta": {"message_id": "m@c"}})
    outbound = Outbound(**{**outbound.__dict__, "subject": subject})
    message, _ = _channel().compose(outbound)
    assert message["Subject"] == expected


def test_a_long_reference_chain_keeps_its_first_and_latest_messages() -> None:
    chain = [f"<r{n}@c>" for n in range(50)]
    last = {"channel_message_id": "m@c", "meta": {"message_id": "m@c", "references": chain}}
    message, _ = _channel().compose(_outbound(last_inbound=last))
    kept = message["References"].split()
    assert len(kept) == MAX_REFERENCES
    assert kept[0] == "<r0@c>"
    assert kept[-2:] == ["<r49@c>", "<m@c>"]


def test_an_unusable_inbox_fails_for_good() -> None:
    broken = EmailChannel(
        AdapterContext(
            inbox_id=1,
            account_id=1,
            config={},
            secrets={},
            public_url="http://testserver",
            channel_key=KEY,
        )
    )
    with pytest.raises(DeliveryFailed) as failed:
        broken.compose(_outbound())
    assert failed.value.permanent
    with pytest.raises(DeliveryFailed) as failed:
        _channel(channel_key="").compose(_outbound())
    assert failed.value.permanent


def test_the_listener_port_defaults_by_environment(settings: Settings) -> None:
    assert settings.email_listener_port == 0  # tests: off unless asked
    assert not settings.email_imap_enabled
    development = settings.model_copy(update={"environment": "development"})
    assert development.email_listener_port == 2525
    assert development.email_imap_enabled
