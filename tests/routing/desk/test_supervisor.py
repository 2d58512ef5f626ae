"""Supervisor actions on the live desk: signing an agent out takes them out of routing as
their logging out would, closes their desktop's socket, and is refused to agents; a
supervisor watches any conversation of the account."""

from __future__ import annotations

from websockets.asyncio.client import ClientConnection

from omnidesk.kit.clock import FrozenClock
from tests.conftest import login_headers
from tests.realtime.conftest import close_code, receive
from tests.routing.live import Desk


async def _event_of_type(ws: ClientConnection, type_: str) -> dict[str, object]:
    while True:
        message = await receive(ws)
        if message["type"] == "event" and message["event"]["type"] == type_:
            event: dict[str, object] = message["event"]
            return event


async def test_a_signed_out_agent_loses_sessions_socket_presence_and_offers(
    desk: Desk, frozen: FrozenClock
) -> None:
    first, first_headers = await desk.agent()
    frozen.advance(1)
    _second, second_headers = await desk.agent()
    _supervisor, supervisor_headers = await desk.agent("supervisor")
    await desk.presence(_supervisor, supervisor_headers, "offline")  # not a routing target
    conversation_id = await desk.customer_writes("ada@example.com")
    assert await desk.offered(first_headers) == [conversation_id]  # idle the longest

    async with desk.socket(first_headers) as ws:
        assert (await receive(ws))["type"] == "hello"
        signed_out = await desk.client.post(
            f"/api/v1/users/{first}/sign-out", headers=supervisor_headers
        )
        assert signed_out.status_code == 204, signed_out.text
        assert await close_code(ws) == 4401
    await desk.router_caught_up()

    assert (await desk.client.get("/api/v1/auth/me", headers=first_headers)).status_code == 401
    state = await desk.state(first)
    assert (state["presence"], state["reason"]) == ("offline", "signed_out")
    assert await desk.offered(second_headers) == [conversation_id]
    [withdrawn] = await desk.offers_of(first)
    assert (withdrawn.status, withdrawn.reason) == ("withdrawn", "presence_changed")


async def test_agents_may_not_sign_others_out_nor_set_their_presence(
    desk: Desk, frozen: FrozenClock
) -> None:
    _, first_headers = await desk.agent()
    second, second_headers = await desk.agent()
    refused = await desk.client.post(f"/api/v1/users/{second}/sign-out", headers=first_headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    presence = await desk.client.put(
        f"/api/v1/routing/agents/{second}/presence",
        json={"presence": "away", "reason": "nap"},
        headers=first_headers,
    )
    assert presence.status_code == 403
    assert (await desk.client.get("/api/v1/auth/me", headers=second_headers)).status_code == 200
    assert (await desk.state(second))["presence"] == "available"
    unknown = await desk.client.post("/api/v1/users/999999/sign-out", headers=desk.tenant.headers)
    assert unknown.status_code == 404


async def test_a_supervisor_sets_an_agents_presence_with_a_reason(
    desk: Desk, frozen: FrozenClock
) -> None:
    agent, _ = await desk.agent()
    _, supervisor_headers = await desk.agent("supervisor")
    changed = await desk.client.put(
        f"/api/v1/routing/agents/{agent}/presence",
        json={"presence": "away", "reason": "coaching"},
        headers=supervisor_headers,
    )
    assert changed.status_code == 200, changed.text
    state = await desk.state(agent)
    assert (state["presence"], state["reason"]) == ("away", "coaching")


async def test_a_supervisor_watches_any_conversation_live(desk: Desk, frozen: FrozenClock) -> None:
    agent, agent_headers = await desk.agent()
    supervisor, supervisor_headers = await desk.agent("supervisor")
    team = await desk.client.post(
        "/api/v1/teams", json={"name": "Tier 2", "member_ids": [agent]}, headers=desk.tenant.headers
    )
    conversation_id = await desk.customer_writes("bo@example.com")
    assigned = await desk.client.patch(
        f"/api/v1/conversations/{conversation_id}",
        json={"assignee_id": agent, "team_id": team.json()["id"]},
        headers=desk.tenant.headers,
    )
    assert assigned.status_code == 200, assigned.text
    path = f"/api/v1/conversations/{conversation_id}"
    # Neither assignee nor in the team, the supervisor reads it all...
    assert (await desk.client.get(path, headers=supervisor_headers)).status_code == 200
    messages = await desk.client.get(f"{path}/messages", headers=supervisor_headers)
    assert [m["body"] for m in messages.json()["items"]] == ["Help!"]
    async with desk.socket(supervisor_headers) as ws:
        assert (await receive(ws))["type"] == "hello"
        # ...shows in the agent's collision indicator as a supervisor...
        watching = await desk.client.post(
            f"{path}/viewing", json={"viewing": True}, headers=supervisor_headers
        )
        assert [(v["user_id"], v["role"]) for v in watching.json()["viewers"]] == [
            (supervisor, "supervisor")
        ]
        # ...and sees the agent's reply live on the socket.
        reply = await desk.client.post(
            f"{path}/messages", json={"body": "On it"}, headers=agent_headers
        )
        assert reply.status_code == 201, reply.text
        event = await _event_of_type(ws, "message.created")
        assert event["conversation_id"] == conversation_id


async def test_a_deactivated_agent_is_signed_out_everywhere(
    desk: Desk, frozen: FrozenClock
) -> None:
    agent, agent_headers = await desk.agent()
    async with desk.socket(agent_headers) as ws:
        assert (await receive(ws))["type"] == "hello"
        changed = await desk.client.patch(
            f"/api/v1/users/{agent}", json={"active": False}, headers=desk.tenant.headers
        )
        assert changed.status_code == 200, changed.text
        assert await close_code(ws) == 4401
    await desk.router_caught_up()
    assert (await desk.client.get("/api/v1/auth/me", headers=agent_headers)).status_code == 401
    # No longer an agent the router knows: offline, whatever the reason recorded last.
    assert (await desk.state(agent))["presence"] == "offline"


async def test_a_new_password_keeps_only_the_browser_that_set_it(
    desk: Desk, frozen: FrozenClock
) -> None:
    agent, this_browser = await desk.agent()
    other_browser = await login_headers(desk.client, desk.emails[agent], "agent password 1")
    async with desk.socket(other_browser) as other, desk.socket(this_browser) as this:
        assert (await receive(other))["type"] == "hello"
        assert (await receive(this))["type"] == "hello"
        changed = await desk.client.patch(
            f"/api/v1/users/{agent}",
            json={"password": "a much better password"},
            headers=this_browser,
        )
        assert changed.status_code == 200, changed.text
        assert await close_code(other) == 4401
        # The kept socket hears the sign-out of the other browser and stays open.
        event = await _event_of_type(this, "user.signed_out")
        assert event["data"] == {
            "user_id": agent,
            "reason": "password_changed",
            "kept_session_id": event["data"]["kept_session_id"],  # type: ignore[index]
        }
        assert (await desk.client.get("/api/v1/auth/me", headers=this_browser)).status_code == 200
    assert (await desk.client.get("/api/v1/auth/me", headers=other_browser)).status_code == 401
    await desk.router_caught_up()
    assert (await desk.state(agent))["presence"] == "available"


async def test_an_admin_setting_an_agents_password_signs_them_out(
    desk: Desk, frozen: FrozenClock
) -> None:
    agent, agent_headers = await desk.agent()
    changed = await desk.client.patch(
        f"/api/v1/users/{agent}",
        json={"password": "reset by the admin"},
        headers=desk.tenant.headers,
    )
    assert changed.status_code == 200, changed.text
    await desk.router_caught_up()
    assert (await desk.client.get("/api/v1/auth/me", headers=agent_headers)).status_code == 401
    assert (await desk.state(agent))["presence"] == "offline"
