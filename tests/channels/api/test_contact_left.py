"""``POST /api/v1/inboxes/{id}/contact-left``: your system reports a customer who left.

The router's side (the work abandoned, the statistics) is in tests/routing/embedded/test_abandon.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from omnidesk.events.models import Event
from omnidesk.kit.db import Database
from tests.channels.api.conftest import make_api_inbox, make_email_inbox, post_inbound
from tests.conftest import Tenant


async def _leave(
    client: httpx.AsyncClient, tenant: Tenant, inbox_id: int, **body: Any
) -> httpx.Response:
    payload = {"sender": {"external_id": "cust-1"}, **body}
    return await client.post(
        f"/api/v1/inboxes/{inbox_id}/contact-left", json=payload, headers=tenant.headers
    )


async def _departures(db: Database) -> list[Event]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(Event).where(Event.type == "conversation.contact_left").order_by(Event.id)
        )
        return list(rows)


async def test_the_conversation_is_found_by_sender_and_thread_and_reported_once(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_api_inbox(client, tenant, None)
    one = (await post_inbound(client, tenant, inbox["id"], external_id="a", thread_id="t-1")).json()
    two = (await post_inbound(client, tenant, inbox["id"], external_id="b", thread_id="t-2")).json()

    first = await _leave(client, tenant, inbox["id"], thread_id="t-1")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["conversation_id"] == one["conversation_id"] != two["conversation_id"]
    assert (body["conversation_status"], body["already_reported"]) == ("pending", False)
    assert datetime.fromisoformat(body["left_at"]).tzinfo is not None

    again = await _leave(client, tenant, inbox["id"], thread_id="t-1")
    assert again.status_code == 200, again.text
    assert again.json() == {**body, "already_reported": True}
    [event] = await _departures(db)
    assert event.conversation_id == one["conversation_id"]
    assert event.data == {"reason": None, "status": "open", "waiting": True}


async def test_unknown_customers_threads_and_inboxes_are_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, db: Database
) -> None:
    inbox = await make_api_inbox(client, tenant, None)
    await post_inbound(client, tenant, inbox["id"], thread_id="t-1")
    await post_inbound(
        client, tenant, inbox["id"], external_id="m-2", sender={"external_id": "cust-2"}
    )
    not_found = {"code": "not_found", "message": "conversation not found", "field": None}
    for body in (
        {"sender": {"external_id": "nobody"}},
        {"thread_id": "no-such-thread"},
        # Another customer's thread is not theirs to leave.
        {"sender": {"external_id": "cust-2"}, "thread_id": "t-1"},
    ):
        response = await _leave(client, tenant, inbox["id"], **body)
        assert response.status_code == 404, body
        assert response.json() == not_found
    theirs = await _leave(client, other_tenant, inbox["id"])
    assert theirs.status_code == 404
    assert theirs.json() == {"code": "not_found", "message": "inbox not found", "field": None}
    missing = await _leave(client, tenant, 999_999)
    assert missing.status_code == 404
    assert await _departures(db) == []


async def test_bad_input_is_a_4xx_in_the_one_error_shape(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_api_inbox(client, tenant, None)
    bad_email = await _leave(client, tenant, inbox["id"], sender={"email": "not an email"})
    assert bad_email.status_code == 422
    assert bad_email.json()["field"] == "sender.email"
    no_handle = await _leave(client, tenant, inbox["id"], sender={"name": "Ann"})
    assert no_handle.status_code == 422
    unknown_field = await _leave(client, tenant, inbox["id"], when="now")
    assert unknown_field.status_code == 422
    anonymous = await client.post(
        f"/api/v1/inboxes/{inbox['id']}/contact-left", json={"sender": {"external_id": "c"}}
    )
    assert anonymous.status_code == 401

    mail_id = await make_email_inbox(db, tenant)
    not_api = await _leave(client, tenant, mail_id)
    assert not_api.status_code == 422
    assert not_api.json()["field"] == "inbox_id"
