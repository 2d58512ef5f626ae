"""The router at work: customers' conversations offered to agents through the real app.

The app runs its embedded router on a frozen clock; tests move the clock and wait for the
router's rounds instead of sleeping.
"""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from omnidesk.bootstrap import make_router
from omnidesk.conversations.models import Conversation
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.routing.models import Offer, WorkItem
from omnidesk.settings import Settings
from tests.conftest import Tenant
from tests.routing.api.conftest import API, events_of, ok, refused
from tests.routing.embedded.support import Desk, router_of, work_items


async def test_a_new_conversation_is_offered_to_an_available_agent_who_accepts_it(
    desk: Desk, client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    agent_id, headers = await desk.agent()
    conversation_id = await desk.customer_writes("carla@example.com")

    [offer] = await desk.offers(headers)
    assert (offer["conversation_id"], offer["agent_id"], offer["status"]) == (
        conversation_id,
        agent_id,
        "pending",
    )
    assert offer["channel"] == "api"
    accepted = ok(await client.post(f"{API}/offers/{offer['id']}/accept", headers=headers))
    assert accepted["status"] == "accepted"
    # Assigned in the answer's own transaction: the agent sees it at once.
    assert (await desk.conversation(conversation_id))["assignee_id"] == agent_id
    await router_of(desk.app).settled()
    [item] = await work_items(db, conversation_id)
    assert (item.status, item.agent_id) == ("assigned", agent_id)
    types = [e.type for e in await events_of(db, tenant.account_id)]
    for kind in ("work_item.queued", "offer.made", "offer.accepted", "conversation.assigned"):
        assert kind in types


async def test_nobody_available_means_the_work_waits_until_someone_is(
    desk: Desk, db: Database
) -> None:
    agent_id, headers = await desk.agent(presence="away")
    conversation_id = await desk.customer_writes("dan@example.com")
    [item] = await work_items(db, conversation_id)
    assert item.status == "waiting"
    assert await desk.offers(headers) == []

    await desk.presence(agent_id, headers, "available")
    [offer] = await desk.offers(headers)
    assert offer["conversation_id"] == conversation_id


async def test_a_declined_offer_goes_to_another_agent_and_only_its_agent_may_answer(
    desk: Desk, client: httpx.AsyncClient, frozen: FrozenClock
) -> None:
    first, first_headers = await desk.agent()
    frozen.advance(1)
    second, second_headers = await desk.agent()
    frozen.advance(1)
    conversation_id = await desk.customer_writes("erin@example.com")
    offered = {
        a: await desk.offers(h) for a, h in ((first, first_headers), (second, second_headers))
    }
    holder = next(a for a, offers in offered.items() if offers)
    assert holder == first  # idle the longest
    other = second if holder == first else first
    holder_headers, other_headers = (
        (first_headers, second_headers) if holder == first else (second_headers, first_headers)
    )
    [offer] = offered[holder]
    # The other agent cannot answer it, nor learn that it exists.
    refused(await client.post(f"{API}/offers/{offer['id']}/accept", headers=other_headers), 404)

    declined = ok(
        await client.post(
            f"{API}/offers/{offer['id']}/decline",
            json={"reason": "not my language"},
            headers=holder_headers,
        )
    )
    assert (declined["status"], declined["reason"]) == ("declined", "not my language")
    await router_of(desk.app).settled()
    # The one who declined is now the one idle the shortest: the other agent gets it.
    [again] = await desk.offers(other_headers)
    assert (again["conversation_id"], again["agent_id"]) == (conversation_id, other)
    # Answered once: a second answer is a conflict, not a second assignment.
    refused(
        await client.post(f"{API}/offers/{offer['id']}/accept", headers=holder_headers),
        409,
        "offer_id",
    )


async def test_an_offer_not_answered_in_time_is_withdrawn_and_cannot_be_accepted(
    desk: Desk, client: httpx.AsyncClient, frozen: FrozenClock, db: Database
) -> None:
    _agent_id, headers = await desk.agent()
    conversation_id = await desk.customer_writes("fay@example.com")
    [offer] = await desk.offers(headers)

    frozen.advance(31)  # the default queue's offers last 30 s
    refused(await client.post(f"{API}/offers/{offer['id']}/accept", headers=headers), 409)
    await router_of(desk.app).settled()
    async with db.transaction() as session:
        row = await session.get(Offer, offer["id"])
        assert row is not None
        assert row.status == "timed_out"
    # Offered again: the agent is still the only one available.
    [again] = await desk.offers(headers)
    assert again["id"] != offer["id"]
    assert again["conversation_id"] == conversation_id
    assert (await desk.conversation(conversation_id))["assignee_id"] is None


async def test_resolving_frees_the_agent_for_the_next_customer(
    desk: Desk, client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    # One API conversation at a time for this agent.
    profile = ok(
        await client.post(
            f"{API}/profiles",
            json={"name": "One at a time", "capacity": {"api": 1}},
            headers=tenant.headers,
        ),
        201,
    )
    agent_id, headers = await desk.agent()
    ok(
        await client.put(
            f"{API}/agents/{agent_id}/profile",
            json={"profile_id": profile["id"]},
            headers=tenant.headers,
        )
    )
    first = await desk.customer_writes("gus@example.com")
    second = await desk.customer_writes("hal@example.com")
    [offer] = await desk.offers(headers)
    assert offer["conversation_id"] == first  # oldest first, and capacity 1
    ok(await client.post(f"{API}/offers/{offer['id']}/accept", headers=headers))
    await router_of(desk.app).settled()
    assert await desk.offers(headers) == []

    ok(
        await client.patch(
            f"/api/v1/conversations/{first}", json={"status": "resolved"}, headers=headers
        )
    )
    await router_of(desk.app).settled()
    [item] = await work_items(db, first)
    assert item.status == "completed"
    [offer] = await desk.offers(headers)
    assert offer["conversation_id"] == second


async def test_a_router_that_restarts_rebuilds_from_the_rows(
    desk: Desk, client: httpx.AsyncClient, db: Database, app: FastAPI
) -> None:
    agent_id, headers = await desk.agent()
    held = await desk.customer_writes("ivy@example.com")
    [offer] = await desk.offers(headers)
    ok(await client.post(f"{API}/offers/{offer['id']}/accept", headers=headers))
    waiting = await desk.customer_writes("jon@example.com")
    [pending] = await desk.offers(headers)
    assert pending["conversation_id"] == waiting

    router = router_of(app)
    await router.stop()
    await router.start()
    await router.settled()
    # The assignment stands; the open offer was withdrawn and the work offered afresh.
    assert (await desk.conversation(held))["assignee_id"] == agent_id
    [again] = await desk.offers(headers)
    assert again["conversation_id"] == waiting
    assert again["id"] != pending["id"]
    async with db.transaction() as session:
        conversation = await session.get(Conversation, held)
        assert conversation is not None
        assert conversation.assignee_id == agent_id
        statuses = {i.conversation_id: i.status for i in await session.scalars(select(WorkItem))}
    assert statuses == {held: "assigned", waiting: "offered"}


async def test_routing_rules_choose_the_queue_and_a_queue_with_work_stays(
    desk: Desk, client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    h = tenant.headers
    queue = ok(await client.post(f"{API}/queues", json={"name": "API desk"}, headers=h), 201)
    rule = ok(
        await client.post(
            f"{API}/rules",
            json={
                "name": "API inbox",
                "conditions": {"inbox_ids": [desk.inbox_id]},
                "queue_id": queue["id"],
                "priority": "urgent",
            },
            headers=h,
        ),
        201,
    )
    conversation_id = await desk.customer_writes("kim@example.com")
    [item] = await work_items(db, conversation_id)
    assert (item.queue_id, item.priority, item.rule_id) == (queue["id"], 3, rule["id"])

    ok(await client.delete(f"{API}/rules/{rule['id']}", headers=h), 204)
    refused(await client.delete(f"{API}/queues/{queue['id']}", headers=h), 409)


async def test_a_returning_customer_goes_first_to_the_agent_who_served_them(
    desk: Desk, client: httpx.AsyncClient, frozen: FrozenClock, tenant: Tenant
) -> None:
    queues = ok(await client.get(f"{API}/queues", headers=tenant.headers))
    [default] = [q for q in queues if q["is_default"]]
    ok(
        await client.patch(
            f"{API}/queues/{default['id']}",
            json={"sticky_days": 7, "sticky_window_s": 60},
            headers=tenant.headers,
        )
    )
    _first, first_headers = await desk.agent()
    frozen.advance(1)
    second, second_headers = await desk.agent()
    frozen.advance(1)
    conversation_id = await desk.customer_writes("lea@example.com")
    [offer] = await desk.offers(first_headers)  # idle the longest
    ok(await client.post(f"{API}/offers/{offer['id']}/accept", headers=first_headers))
    ok(
        await client.patch(
            f"/api/v1/conversations/{conversation_id}",
            json={"status": "closed"},
            headers=first_headers,
        )
    )
    frozen.advance(86_400)
    await desk.presence(second, second_headers, "away")
    await desk.presence(second, second_headers, "available")  # now idle the longest
    returning = await desk.customer_writes("lea@example.com", 1)
    assert returning != conversation_id
    # Back a day later: the agent who served her gets first refusal, not the longest idle.
    [again] = await desk.offers(first_headers)
    assert again["conversation_id"] == returning
    assert await desk.offers(second_headers) == []

    # Their refusal ends the first refusal: the next agent gets it at once.
    ok(await client.post(f"{API}/offers/{again['id']}/decline", json={}, headers=first_headers))
    await router_of(desk.app).settled()
    assert [o["conversation_id"] for o in await desk.offers(second_headers)] == [returning]


async def test_live_statistics_per_queue_and_agents_by_presence(
    desk: Desk, client: httpx.AsyncClient, frozen: FrozenClock, tenant: Tenant
) -> None:
    _agent_id, headers = await desk.agent()
    first = await desk.customer_writes("mia@example.com")
    second = await desk.customer_writes("ned@example.com")
    await desk.customer_writes("oli@example.com")
    frozen.advance(5)
    for conversation_id in (first, second):
        [offer] = [o for o in await desk.offers(headers) if o["conversation_id"] == conversation_id]
        ok(await client.post(f"{API}/offers/{offer['id']}/accept", headers=headers))
        frozen.advance(20)  # the second is answered after 25 s
    await router_of(desk.app).settled()

    refused(await client.get(f"{API}/stats", headers=headers), 403)
    stats = ok(await client.get(f"{API}/stats", params={"threshold_s": 20}, headers=tenant.headers))
    [queue] = [q for q in stats["queues"] if q["answered"]]
    assert (queue["answered"], queue["answered_within_threshold"], queue["abandoned"]) == (2, 1, 0)
    assert queue["service_level"] == 0.5
    assert queue["service_level_abandon_inclusive"] == 0.5
    assert queue["asa_s"] == 15.0  # (5 + 25) / 2
    # The third is still offered to the agent (capacity 3): waiting since the start.
    assert (queue["waiting"], queue["oldest_wait_s"]) == (1, 45.0)
    # Every active user counts, as the agent list shows them: the account's admin never set
    # a presence (offline); a deactivated agent is no agent any more.
    assert {a["presence"]: a["agents"] for a in stats["agents"]} == {"available": 1, "offline": 1}
    gone, _ = await desk.agent()
    ok(await client.patch(f"/api/v1/users/{gone}", json={"active": False}, headers=tenant.headers))
    stats = ok(await client.get(f"{API}/stats", headers=tenant.headers))
    assert {a["presence"]: a["agents"] for a in stats["agents"]} == {"available": 1, "offline": 1}


async def test_one_router_leads_and_a_standby_takes_over_when_it_stops(
    desk: Desk, app: FastAPI, db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    leader = router_of(app)
    standby = make_router(settings, db, frozen)  # another process's router, on the same lease
    await standby.start()
    try:
        _agent_id, headers = await desk.agent()
        first = await desk.customer_writes("pia@example.com")
        assert (leader.leading, standby.leading) == (True, False)
        [offer] = await desk.offers(headers)
        assert offer["conversation_id"] == first

        await leader.stop()  # its process ends: the lease goes with it
        for _ in range(100):
            if standby.leading:
                break
            await asyncio.sleep(0.1)
        assert standby.leading
        await standby.settled()
        # The new leader rebuilt from the rows: the open offer made afresh, nothing twice.
        [again] = await desk.offers(headers)
        assert again["conversation_id"] == first
        assert again["id"] != offer["id"]
        async with db.transaction() as session:
            items = list(await session.scalars(select(WorkItem)))
        assert [(i.conversation_id, i.status) for i in items] == [(first, "offered")]
    finally:
        await standby.stop()


async def test_a_deactivated_agent_loses_their_offers_to_the_others(
    desk: Desk, client: httpx.AsyncClient, frozen: FrozenClock, tenant: Tenant
) -> None:
    first, first_headers = await desk.agent()
    frozen.advance(1)
    _second, second_headers = await desk.agent()
    conversation_id = await desk.customer_writes("rae@example.com")
    assert len(await desk.offers(first_headers)) == 1

    ok(await client.patch(f"/api/v1/users/{first}", json={"active": False}, headers=tenant.headers))
    await router_of(desk.app).settled()
    [offer] = await desk.offers(second_headers)
    assert offer["conversation_id"] == conversation_id


async def test_an_agent_transfers_a_conversation_with_a_note_and_it_is_counted(
    desk: Desk, client: httpx.AsyncClient, frozen: FrozenClock, db: Database, tenant: Tenant
) -> None:
    first, first_headers = await desk.agent()
    frozen.advance(1)
    second, second_headers = await desk.agent()
    conversation_id = await desk.customer_writes("sam@example.com")
    [offer] = await desk.offers(first_headers)
    ok(await client.post(f"{API}/offers/{offer['id']}/accept", headers=first_headers))
    await router_of(desk.app).settled()

    body = {"conversation_id": conversation_id, "to_agent_id": second, "note": "wants a refund"}
    # Only the conversation's agent (or a supervisor) hands it on, once, somewhere that exists.
    refused(await client.post(f"{API}/transfers", json=body, headers=second_headers), 403)
    refused(
        await client.post(
            f"{API}/transfers", json={**body, "to_agent_id": 999_999}, headers=first_headers
        ),
        404,
        "to_agent_id",
    )
    refused(
        await client.post(
            f"{API}/transfers", json={**body, "to_queue_id": 1}, headers=first_headers
        ),
        422,
    )
    ok(await client.post(f"{API}/transfers", json=body, headers=first_headers), 202)
    await router_of(desk.app).settled()

    [offer] = await desk.offers(second_headers)
    assert offer["conversation_id"] == conversation_id
    assert (await desk.conversation(conversation_id))["assignee_id"] is None
    ok(await client.post(f"{API}/offers/{offer['id']}/accept", headers=second_headers))
    await router_of(desk.app).settled()
    [item] = await work_items(db, conversation_id)
    assert (item.status, item.agent_id, item.transfer_count) == ("assigned", second, 1)
    [moved] = await events_of(db, tenant.account_id, "work_item.transferred")
    assert moved.data["note"] == "wants a refund"
    assert moved.data["from_agent_id"] == first
