"""Live statistics on the event stream: the leading router sends ``routing.stats`` — the body
of ``GET /routing/stats`` — to supervisors' and admins' websockets while the figures change.
Agents do not get it, and nobody gets it again on resuming: it is not an event.

The real app on loopback, real websockets, its embedded router on a frozen clock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection

from omnidesk.events.models import Event
from omnidesk.kit.clock import FrozenClock
from omnidesk.settings import RoutingSettings
from tests.conftest import make_user
from tests.realtime.conftest import receive
from tests.routing.api.conftest import API, ok
from tests.routing.live import Desk

EVERY_S = RoutingSettings().live_stats_s


async def supervisor(desk: Desk) -> dict[str, str]:
    """A supervisor's browser session (not routed to: no presence of their own)."""
    _user, headers = await make_user(desk.client, desk.tenant, "supervisor")
    return headers


async def until_event(ws: ClientConnection, type_: str) -> list[dict[str, Any]]:
    """The messages up to the next event of ``type_`` (that event's message last)."""
    messages = []
    while True:
        message = await receive(ws)
        messages.append(message)
        if message["type"] == "event" and message["event"]["type"] == type_:
            return messages


async def stats_at(ws: ClientConnection, frozen: FrozenClock) -> dict[str, Any]:
    """The ``routing.stats`` computed at the frozen clock's now (older ones skipped)."""
    now = frozen.now().isoformat().replace("+00:00", "Z")
    while True:
        message = await receive(ws)
        if message["type"] == "routing.stats" and message["stats"]["at"] == now:
            return dict(message["stats"])


def stats_in(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == "routing.stats"]


async def create_team(desk: Desk, name: str) -> None:
    """A change every user's socket hears of, and that does not concern the router."""
    ok(
        await desk.client.post("/api/v1/teams", json={"name": name}, headers=desk.tenant.headers),
        201,
    )


async def test_supervisors_and_admins_receive_the_statistics_and_agents_do_not(
    desk: Desk, frozen: FrozenClock
) -> None:
    supervisor_headers = await supervisor(desk)
    agent_id, agent_headers = await desk.agent()
    async with (
        desk.socket(supervisor_headers) as as_supervisor,
        desk.socket(agent_headers) as as_agent,
        desk.server.ws(headers=desk.tenant.headers) as as_admin,
    ):
        for ws in (as_supervisor, as_agent, as_admin):
            assert (await receive(ws))["type"] == "hello"
        await desk.customer_writes("eve@example.com")
        frozen.advance(EVERY_S)
        await desk.router.settled()

        sent = await stats_at(as_supervisor, frozen)
        # The same body as the API's, at the same instant.
        assert sent == ok(await desk.client.get(f"{API}/stats", headers=desk.tenant.headers))
        [queue] = [q for q in sent["queues"] if q["waiting"]]
        assert (queue["waiting"], queue["oldest_wait_s"]) == (1, EVERY_S)
        assert await stats_at(as_admin, frozen) == sent

        # Published in order: had the agent been sent the statistics, they would come before
        # the event of this later change.
        await desk.presence(agent_id, agent_headers, "away")
        heard = await until_event(as_agent, "agent.presence.changed")
        assert stats_in(heard) == []


async def test_the_statistics_are_sent_while_they_change(desk: Desk, frozen: FrozenClock) -> None:
    supervisor_headers = await supervisor(desk)
    async with desk.socket(supervisor_headers) as ws:
        await receive(ws)  # hello
        frozen.advance(EVERY_S)
        await desk.router.settled()  # what changed since the account's first figures: sent

        frozen.advance(EVERY_S)
        await desk.router.settled()  # nobody waiting, no agent: the same figures
        await create_team(desk, "Tier 1")
        heard = await until_event(ws, "team.created")
        now = frozen.now().isoformat().replace("+00:00", "Z")
        assert [s for s in stats_in(heard) if s["stats"]["at"] == now] == []

        await desk.customer_writes("fay@example.com")
        frozen.advance(EVERY_S)
        await desk.router.settled()
        sent = await stats_at(ws, frozen)
        assert [q["waiting"] for q in sent["queues"]] == [1]


async def test_the_statistics_are_not_replayed_on_resuming(desk: Desk, frozen: FrozenClock) -> None:
    supervisor_headers = await supervisor(desk)
    async with desk.socket(supervisor_headers) as ws:
        last_event_id = (await receive(ws))["last_event_id"]
        await desk.customer_writes("gus@example.com")
        frozen.advance(EVERY_S)
        await desk.router.settled()
        await stats_at(ws, frozen)

    async with desk.server.ws(
        headers={"Cookie": supervisor_headers["Cookie"]},
        origin=desk.server.base_url,
        query=f"last_event_id={last_event_id}",
    ) as ws:
        assert (await receive(ws))["type"] == "hello"
        await create_team(desk, "Tier 1")
        heard = await until_event(ws, "team.created")
    replayed = [m["event"]["type"] for m in heard if m["type"] == "event"]
    assert "conversation.created" in replayed  # the events missed, yes
    assert stats_in(heard) == []  # the statistics, no
    async with desk.server.db.transaction() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type.like("routing.stats%"))
        )
    assert stored == 0
