"""STOP and START recorded on the sender's phone identity; no SMS to an opted-out number."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from omnidesk.conversations.models import Message
from omnidesk.events.models import Event
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from tests.channels.api.conftest import reply
from tests.channels.sms.conftest import form_of, make_sms_inbox
from tests.channels.sms.fake_twilio import CUSTOMER, FakeTwilio
from tests.channels.sms.test_outbound import receive
from tests.conftest import Tenant


async def _consent_events(db: Database, account_id: int) -> list[Event]:
    async with db.sessionmaker() as session:
        found = await session.scalars(
            select(Event)
            .where(Event.account_id == account_id, Event.type == "contact.consent_changed")
            .order_by(Event.id)
        )
        return list(found)


async def _phone(client: httpx.AsyncClient, tenant: Tenant, contact_id: int) -> dict[str, object]:
    response = await client.get(f"/api/v1/contacts/{contact_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    [identity] = response.json()["identities"]
    assert identity["kind"] == "phone"
    assert identity["value"] == CUSTOMER
    found: dict[str, object] = identity
    return found


async def test_stop_is_recorded_once_and_start_undoes_it(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    twilio: FakeTwilio,
    db: Database,
    frozen: FrozenClock,
) -> None:
    inbox = await make_sms_inbox(client, tenant)
    await receive(app, tenant, twilio, inbox["id"], "inbound_sms.txt")
    conversation_id = await receive(app, tenant, twilio, inbox["id"], "inbound_stop.txt")
    conversation = (
        await client.get(f"/api/v1/conversations/{conversation_id}", headers=tenant.headers)
    ).json()
    contact_id = conversation["contact_id"]

    identity = await _phone(client, tenant, contact_id)
    assert identity["consent"] == "opt_out"
    assert identity["consent_at"] is not None
    [event] = await _consent_events(db, tenant.account_id)
    assert event.contact_id == contact_id
    assert event.data == {
        "contact_id": contact_id,
        "identity_id": identity["id"],
        "kind": "phone",
        "value": CUSTOMER,
        "consent": "opt_out",
        "source": "sms",
    }
    # The STOP is a message of the conversation like any other.
    async with db.sessionmaker() as session:
        bodies = await session.scalars(
            select(Message.body).where(Message.conversation_id == conversation_id)
        )
        assert list(bodies) == ["Hi there, my order #1234 has not arrived", "STOP"]

    # The same webhook again (Twilio retried it), or another STOP, changes nothing.
    await receive(app, tenant, twilio, inbox["id"], "inbound_stop.txt")
    again = [
        (k, "SM" + "5" * 32 if k in ("MessageSid", "SmsSid", "SmsMessageSid") else v)
        for k, v in form_of("inbound_stop.txt")
    ]
    await receive(app, tenant, twilio, inbox["id"], again)
    assert len(await _consent_events(db, tenant.account_id)) == 1
    async with db.sessionmaker() as session:
        stops = await session.scalars(select(Message.id).where(Message.body == "STOP"))
        assert len(list(stops)) == 2

    frozen.advance(60)
    await receive(app, tenant, twilio, inbox["id"], "inbound_start.txt")
    identity = await _phone(client, tenant, contact_id)
    assert identity["consent"] == "opt_in"
    assert [e.data["consent"] for e in await _consent_events(db, tenant.account_id)] == [
        "opt_out",
        "opt_in",
    ]


async def test_no_sms_goes_to_an_opted_out_number(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    twilio: FakeTwilio,
    runner: JobRunner,
    db: Database,
) -> None:
    inbox = await make_sms_inbox(client, tenant)
    conversation_id = await receive(app, tenant, twilio, inbox["id"], "inbound_stop.txt")
    sent = await reply(client, tenant, conversation_id, "Sorry to see you go")

    assert await runner.run_once() == 1

    assert twilio.requests == []  # Twilio is not even asked
    async with db.sessionmaker() as session:
        message = await session.get(Message, sent["id"])
    assert message is not None
    assert message.delivery_status == "failed"
    assert message.delivery_reason == "opted_out"
    assert message.delivery_error is not None
    assert "replied STOP" in message.delivery_error
