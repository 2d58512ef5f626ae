"""Abandonment: a customer who leaves before an agent takes the work, reported through the API
channel, is removed from the queue by the real router and counted in the statistics."""

from __future__ import annotations

from typing import Any

import httpx

from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.routing.models import Offer
from tests.conftest import Tenant
from tests.routing.api.conftest import API, events_of, ok, refused
from tests.routing.embedded.support import Desk, router_of, work_items


async def _leaves(desk: Desk, email: str, status: int = 200, **extra: Any) -> dict[str, Any]:
    """The customer's system reports that its customer left; the router then takes a turn."""
    response = await desk.client.post(
        f"/api/v1/inboxes/{desk.inbox_id}/contact-left",
        json={"sender": {"email": email}, **extra},
        headers=desk.tenant.headers,
    )
    body: dict[str, Any] = ok(response, status)
    await router_of(desk.app).settled()
    return body


async def test_a_customer_who_leaves_while_waiting_is_abandoned_once(
    desk: Desk, frozen: FrozenClock, db: Database, tenant: Tenant
) -> None:
    conversation_id = await desk.customer_writes("ada@example.com")
    frozen.advance(30)

    left = await _leaves(desk, "ada@example.com", reason="closed_chat")
    assert left["conversation_id"] == conversation_id
    assert (left["conversation_status"], left["already_reported"]) == ("pending", False)
    [item] = await work_items(db, conversation_id)
    assert item.status == "abandoned"
    assert item.ended_at is not None
    [ended] = await events_of(db, tenant.account_id, "work_item.ended")
    assert (ended.data["status"], ended.data["reason"]) == ("abandoned", "contact_left")
    [reported] = await events_of(db, tenant.account_id, "conversation.contact_left")
    assert reported.data["reason"] == "closed_chat"

    # Reported again (a retry): nothing changes, and the first report's time comes back.
    frozen.advance(5)
    again = await _leaves(desk, "ada@example.com")
    assert again["already_reported"] is True
    assert again["left_at"] == left["left_at"]
    assert len(await events_of(db, tenant.account_id, "conversation.contact_left")) == 1
    assert len(await work_items(db, conversation_id)) == 1  # not routed again

    # The customer comes back: the conversation reopens and waits for an agent again.
    assert await desk.customer_writes("ada@example.com", 1) == conversation_id
    statuses = [i.status for i in await work_items(db, conversation_id)]
    assert sorted(statuses) == ["abandoned", "waiting"]
    assert (await desk.conversation(conversation_id))["status"] == "open"
    # And may leave again: a new departure.
    assert (await _leaves(desk, "ada@example.com"))["already_reported"] is False
    assert [i.status for i in await work_items(db, conversation_id)] == ["abandoned", "abandoned"]


async def test_leaving_withdraws_the_offer_made_to_an_agent(
    desk: Desk, client: httpx.AsyncClient, db: Database
) -> None:
    _agent_id, headers = await desk.agent()
    conversation_id = await desk.customer_writes("bob@example.com")
    [offer] = await desk.offers(headers)

    await _leaves(desk, "bob@example.com")
    assert await desk.offers(headers) == []
    async with db.transaction() as session:
        row = await session.get(Offer, offer["id"])
        assert row is not None
        assert (row.status, row.reason) == ("withdrawn", "abandoned")
    [item] = await work_items(db, conversation_id)
    assert (item.status, item.agent_id) == ("abandoned", None)
    refused(await client.post(f"{API}/offers/{offer['id']}/accept", headers=headers), 409)
    assert (await desk.conversation(conversation_id))["assignee_id"] is None


async def test_work_an_agent_holds_is_not_abandoned(
    desk: Desk, client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    agent_id, headers = await desk.agent()
    conversation_id = await desk.customer_writes("cyd@example.com")
    [offer] = await desk.offers(headers)
    ok(await client.post(f"{API}/offers/{offer['id']}/accept", headers=headers))
    await router_of(desk.app).settled()

    left = await _leaves(desk, "cyd@example.com")
    # The agent sees the customer go; the conversation and the work stay theirs.
    assert (left["conversation_status"], left["already_reported"]) == ("open", False)
    [item] = await work_items(db, conversation_id)
    assert (item.status, item.agent_id) == ("assigned", agent_id)
    assert len(await events_of(db, tenant.account_id, "conversation.contact_left")) == 1


async def test_resolved_by_an_agent_while_waiting_is_cancelled_not_abandoned(
    desk: Desk, client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    conversation_id = await desk.customer_writes("dee@example.com")
    ok(
        await client.patch(
            f"/api/v1/conversations/{conversation_id}",
            json={"status": "resolved"},
            headers=tenant.headers,
        )
    )
    await router_of(desk.app).settled()
    [item] = await work_items(db, conversation_id)
    assert item.status == "cancelled"
    stats = ok(await client.get(f"{API}/stats", headers=tenant.headers))
    assert [q["abandoned"] for q in stats["queues"]] == [0]


async def test_abandoned_work_counts_in_the_live_statistics(
    desk: Desk, client: httpx.AsyncClient, frozen: FrozenClock, tenant: Tenant
) -> None:
    await desk.customer_writes("eve@example.com")
    await desk.customer_writes("fin@example.com")
    frozen.advance(5)
    await _leaves(desk, "eve@example.com")  # within the 20 s threshold
    frozen.advance(25)
    await _leaves(desk, "fin@example.com")  # after 30 s
    _agent_id, headers = await desk.agent()
    answered = await desk.customer_writes("gil@example.com")
    [offer] = await desk.offers(headers)
    assert offer["conversation_id"] == answered
    frozen.advance(10)
    ok(await client.post(f"{API}/offers/{offer['id']}/accept", headers=headers))
    await router_of(desk.app).settled()

    stats = ok(await client.get(f"{API}/stats", params={"threshold_s": 20}, headers=tenant.headers))
    [queue] = stats["queues"]
    assert (queue["answered"], queue["answered_within_threshold"]) == (1, 1)
    assert (queue["abandoned"], queue["abandoned_after_threshold"]) == (2, 1)
    assert queue["waiting"] == 0
    # The customer who gave up within 20 s is not held against the centre…
    assert queue["service_level"] == 0.5  # 1 / (1 + 1)
    # …except in the abandon-inclusive service level.
    assert queue["service_level_abandon_inclusive"] == 0.3333  # 1 / (1 + 2)
    assert queue["abandon_rate"] == 0.6667


async def test_another_accounts_customer_cannot_be_reported_gone(
    desk: Desk, client: httpx.AsyncClient, db: Database, other_tenant: Tenant
) -> None:
    conversation_id = await desk.customer_writes("hal@example.com")
    body = {"sender": {"email": "hal@example.com"}}
    # Their token on our inbox: the inbox is not theirs.
    theirs = await client.post(
        f"/api/v1/inboxes/{desk.inbox_id}/contact-left", json=body, headers=other_tenant.headers
    )
    assert refused(theirs, 404) == {
        "code": "not_found",
        "message": "inbox not found",
        "field": None,
    }
    # Their own API inbox, our customer's handle: no such conversation for them.
    inbox = ok(
        await client.post(
            "/api/v1/inboxes",
            json={"name": "Theirs", "channel_type": "api"},
            headers=other_tenant.headers,
        ),
        201,
    )
    mine = await client.post(
        f"/api/v1/inboxes/{inbox['id']}/contact-left", json=body, headers=other_tenant.headers
    )
    assert refused(mine, 404)["message"] == "conversation not found"
    await router_of(desk.app).settled()
    [item] = await work_items(db, conversation_id)
    assert item.status == "waiting"
