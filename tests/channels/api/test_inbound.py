from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from omnidesk.contacts.models import Identity
from omnidesk.conversations.models import Message
from omnidesk.kit.db import Database
from tests.channels.api.conftest import make_api_inbox, make_email_inbox, post_inbound
from tests.conftest import Tenant


async def test_the_same_external_id_twice_is_one_message(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_api_inbox(client, tenant, None)
    first = await post_inbound(client, tenant, inbox["id"], external_id="ext-1", body="Hi")
    again = await post_inbound(client, tenant, inbox["id"], external_id="ext-1", body="Hi")
    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    message = first.json()
    assert message["direction"] == "inbound"
    assert message["channel_message_id"] == "ext-1"
    assert message["delivery_status"] == "received"
    async with db.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Message).where(Message.inbox_id == inbox["id"])
        )
    assert count == 1


async def test_sender_handles_become_identities_and_threads_group(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_api_inbox(client, tenant, None)
    sender = {"external_id": "cust-7", "email": "Ann@Example.com", "phone": "+1 415 555 0100"}
    one = await post_inbound(
        client, tenant, inbox["id"], external_id="a", sender=sender, thread_id="t-1"
    )
    two = await post_inbound(
        client, tenant, inbox["id"], external_id="b", sender=sender, thread_id="t-1"
    )
    other = await post_inbound(
        client, tenant, inbox["id"], external_id="c", sender=sender, thread_id="t-2"
    )
    assert one.json()["conversation_id"] == two.json()["conversation_id"]
    assert other.json()["conversation_id"] != one.json()["conversation_id"]
    async with db.sessionmaker() as session:
        rows = (await session.execute(select(Identity.kind, Identity.value))).all()
    assert set(rows) == {
        ("external", "cust-7"),
        ("email", "ann@example.com"),
        ("phone", "+14155550100"),
    }


async def test_another_accounts_inbox_is_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    inbox = await make_api_inbox(client, tenant, None)
    response = await post_inbound(client, other_tenant, inbox["id"])
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "inbox not found", "field": None}


async def test_a_non_api_inbox_is_422(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox_id = await make_email_inbox(db, tenant)
    response = await post_inbound(client, tenant, inbox_id)
    assert response.status_code == 422
    assert response.json()["field"] == "inbox_id"


async def test_a_token_is_required(client: httpx.AsyncClient, tenant: Tenant) -> None:
    inbox = await make_api_inbox(client, tenant, None)
    body = {"external_id": "m", "sender": {"external_id": "c"}, "body": "x"}
    response = await client.post(f"/api/v1/inboxes/{inbox['id']}/messages", json=body)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"external_id": None}, "external_id"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": "x" * 256}, "external_id"),
        ({"sender": {}}, "sender"),
        ({"sender": {"name": "Only a name"}}, "sender"),
        ({"sender": None}, "sender"),
        ({"body": ""}, "body"),
        ({"body": "x" * 65537}, "body"),
        ({"unknown": 1}, "unknown"),
        ({"thread_id": ""}, "thread_id"),
        ({"sender": {"email": "not an email"}}, "sender.email"),
        ({"sender": {"phone": "12"}}, "sender.phone"),
        ({"sender": {"external_id": "c", "phone": "+1 000"}}, "sender.phone"),
    ],
)
async def test_malformed_payloads_are_422_in_the_error_shape(
    client: httpx.AsyncClient, tenant: Tenant, change: dict[str, Any], field: str
) -> None:
    inbox = await make_api_inbox(client, tenant, None)
    body: dict[str, Any] = {"external_id": "m-1", "sender": {"external_id": "c"}, "body": "Hi"}
    for key, value in change.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    response = await client.post(
        f"/api/v1/inboxes/{inbox['id']}/messages", json=body, headers=tenant.headers
    )
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "validation_error"
    assert error["field"] == field
    assert error["message"]


async def test_a_body_that_is_not_json_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    inbox = await make_api_inbox(client, tenant, None)
    response = await client.post(
        f"/api/v1/inboxes/{inbox['id']}/messages",
        content=b"{not json",
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_ids_and_text_a_database_cannot_hold_are_422_not_500(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    inbox = await make_api_inbox(client, tenant, None)
    too_big = await post_inbound(client, tenant, 2**64)
    assert too_big.status_code == 422
    assert too_big.json()["field"] == "inbox_id"
    for change, field in (
        ({"body": "a\x00b"}, "body"),
        ({"external_id": "\x00"}, "external_id"),
        ({"sender": {"external_id": "c\x00"}}, "sender.external_id"),
    ):
        response = await post_inbound(client, tenant, inbox["id"], **change)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field


async def test_a_senders_phone_is_read_in_the_accounts_region_alongside_other_senders(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    """Only batches with a phone number read the account's region: a batch mixing senders
    by phone and by external id still reads each number in its account's region."""
    from omnidesk.accounts.models import Account

    async with db.transaction() as session:
        account = await session.get(Account, tenant.account_id)
        assert account is not None
        account.settings = {"default_phone_region": "GB"}
    inbox = await make_api_inbox(client, tenant, None)
    by_phone, by_id = await asyncio.gather(
        post_inbound(
            client, tenant, inbox["id"], external_id="p-1", sender={"phone": "020 7946 0958"}
        ),
        post_inbound(client, tenant, inbox["id"], external_id="p-2", sender={"external_id": "c-9"}),
    )
    assert by_phone.status_code == by_id.status_code == 201, (by_phone.text, by_id.text)
    async with db.sessionmaker() as session:
        phones = (
            await session.scalars(select(Identity.value).where(Identity.kind == "phone"))
        ).all()
    assert phones == ["+442079460958"]
