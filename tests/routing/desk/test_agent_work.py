"""An agent's load on the agent list (``work``): the routed conversations they hold now,
for supervisors' agent list; other agents do not see it."""

from __future__ import annotations

from typing import Any

from omnidesk.kit.clock import FrozenClock
from tests.routing.live import Desk

API = "/api/v1/routing"


def work_of(agents: list[dict[str, Any]], user_id: int) -> list[int]:
    [agent] = [a for a in agents if a["user_id"] == user_id]
    return [w["conversation_id"] for w in agent["work"]]


async def test_the_agent_list_shows_what_each_agent_holds(desk: Desk, frozen: FrozenClock) -> None:
    agent, agent_headers = await desk.agent()
    other, other_headers = await desk.agent()
    await desk.presence(other, other_headers, "offline")  # the offer goes to `agent`
    supervisor, supervisor_headers = await desk.agent("supervisor")
    await desk.presence(supervisor, supervisor_headers, "offline")
    conversation_id = await desk.customer_writes("ada@example.com")
    [offer] = [
        o
        for o in (await desk.client.get(f"{API}/offers", headers=agent_headers)).json()
        if o["conversation_id"] == conversation_id
    ]
    # Offered is not held yet.
    agents = (await desk.client.get(f"{API}/agents", headers=supervisor_headers)).json()
    assert work_of(agents, agent) == []

    accepted = await desk.client.post(f"{API}/offers/{offer['id']}/accept", headers=agent_headers)
    assert accepted.status_code == 200, accepted.text
    await desk.router.settled()

    agents = (await desk.client.get(f"{API}/agents", headers=supervisor_headers)).json()
    assert work_of(agents, agent) == [conversation_id]
    [held] = next(a for a in agents if a["user_id"] == agent)["work"]
    assert held["channel"] == "api"
    assert held["assigned_at"] is not None
    assert work_of(agents, other) == []
    # The agent sees their own load; another agent sees nobody's.
    mine = (await desk.client.get(f"{API}/agents/{agent}", headers=agent_headers)).json()
    assert [w["conversation_id"] for w in mine["work"]] == [conversation_id]
    theirs = (await desk.client.get(f"{API}/agents", headers=other_headers)).json()
    assert work_of(theirs, agent) == []

    # Resolved: the agent holds nothing any more.
    resolved = await desk.client.patch(
        f"/api/v1/conversations/{conversation_id}",
        json={"status": "resolved"},
        headers=agent_headers,
    )
    assert resolved.status_code == 200, resolved.text
    await desk.router_caught_up()
    agents = (await desk.client.get(f"{API}/agents", headers=supervisor_headers)).json()
    assert work_of(agents, agent) == []
