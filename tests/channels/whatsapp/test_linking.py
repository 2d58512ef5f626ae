"""One phone number on SMS and WhatsApp is one contact, unless the account says otherwise."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from omnidesk.contacts.models import Contact, Identity
from omnidesk.kit.db import Database
from tests.channels.whatsapp.conftest import make_inbox, post_webhook, stored
from tests.conftest import Tenant

NUMBER = "+16315551181"


async def _texter(client: httpx.AsyncClient, tenant: Tenant) -> int:
    """A contact known by the number they texted from (as SMS makes them)."""
    response = await client.post(
        "/api/v1/contacts",
        json={"name": "Kerry (SMS)", "identities": [{"kind": "phone", "value": NUMBER}]},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    contact_id: int = response.json()["id"]
    return contact_id


async def _identities(db: Database, account_id: int) -> set[tuple[int, str, str]]:
    async with db.transaction() as session:
        rows = await session.scalars(select(Identity).where(Identity.account_id == account_id))
        return {(i.contact_id, i.kind, i.value) for i in rows}


async def test_a_whatsapp_sender_joins_the_contact_who_texted_from_the_same_number(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    assert (await client.get("/api/v1/account", headers=tenant.headers)).json()[
        "link_phone_channels"
    ] is True
    texter = await _texter(client, tenant)
    inbox = await make_inbox(client, tenant)
    assert (await post_webhook(client, inbox["id"], "text.json")).status_code == 200
    [message] = await stored(db)
    assert message.sender_id == texter
    assert await _identities(db, tenant.account_id) == {
        (texter, "phone", NUMBER),
        (texter, "whatsapp", NUMBER),
    }


async def test_an_account_that_does_not_link_keeps_them_apart(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    changed = await client.patch(
        "/api/v1/account", json={"link_phone_channels": False}, headers=tenant.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["link_phone_channels"] is False
    texter = await _texter(client, tenant)
    inbox = await make_inbox(client, tenant)
    assert (await post_webhook(client, inbox["id"], "text.json")).status_code == 200
    [message] = await stored(db)
    assert message.sender_id != texter
    assert await _identities(db, tenant.account_id) == {
        (texter, "phone", NUMBER),
        (message.sender_id, "whatsapp", NUMBER),
    }
    async with db.transaction() as session:
        contacts = list(
            await session.scalars(select(Contact).where(Contact.account_id == tenant.account_id))
        )
    assert len(contacts) == 2
