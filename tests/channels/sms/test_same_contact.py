"""An SMS sender is found by their E.164 phone identity, whoever made it first."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from omnidesk.channels.base import Inbound, InboundSender
from omnidesk.conversations.service import InboundItem
from tests.channels.sms.conftest import make_sms_inbox
from tests.channels.sms.fake_twilio import CUSTOMER, FakeTwilio
from tests.channels.sms.test_outbound import receive
from tests.conftest import Tenant


async def test_a_text_from_a_number_known_from_whatsapp_reaches_the_same_contact(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, twilio: FakeTwilio
) -> None:
    # Another channel (WhatsApp) met the customer first and noted their phone number.
    other = await client.post(
        "/api/v1/inboxes",
        json={"name": "Partner feed", "channel_type": "api"},
        headers=tenant.headers,
    )
    assert other.status_code == 201, other.text
    whatsapp = Inbound(
        channel_message_id="wamid.1",
        sender=InboundSender(
            kind="whatsapp",
            value=CUSTOMER.lstrip("+"),
            name="Carla",
            extra_identities=(("phone", CUSTOMER),),
        ),
        body="Hola",
    )
    first = await app.state.container.inbound.receive(
        InboundItem(tenant.account_id, other.json()["id"], whatsapp)
    )
    contact_id = first.conversation.contact_id

    inbox = await make_sms_inbox(client, tenant)
    conversation_id = await receive(app, tenant, twilio, inbox["id"], "inbound_sms.txt")

    conversation = await client.get(
        f"/api/v1/conversations/{conversation_id}", headers=tenant.headers
    )
    assert conversation.json()["contact_id"] == contact_id
    contact = await client.get(f"/api/v1/contacts/{contact_id}", headers=tenant.headers)
    assert sorted((i["kind"], i["value"]) for i in contact.json()["identities"]) == [
        ("phone", CUSTOMER),
        ("whatsapp", CUSTOMER),
    ]
