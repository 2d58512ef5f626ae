"""Agents who leave — by logging out or by losing their connection — lose their open offers
to the others (docs/routing.md, "Presence and lost connections").

The real app served by uvicorn on loopback, real websockets, and its embedded router on a
frozen clock: tests move the clock and wait for the router's rounds instead of sleeping.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
from sqlalchemy import event

from omnidesk.kit.clock import FrozenClock
from omnidesk.settings import Settings
from tests.conftest import login_headers, make_tenant
from tests.realtime.conftest import receive, serve
from tests.routing.live import GRACE_S, Desk, equals, eventually, routed


async def test_an_agent_who_logs_out_loses_their_offer_to_another_agent(
    desk: Desk, frozen: FrozenClock
) -> None:
    first, first_headers = await desk.agent()
    frozen.advance(1)
    _second, second_headers = await desk.agent()
    conversation_id = await desk.customer_writes("ada@example.com")
    assert await desk.offered(first_headers) == [conversation_id]  # idle the longest

    logout = await desk.client.post("/api/v1/auth/logout", headers=first_headers)
    assert logout.status_code == 204
    await desk.router_caught_up()

    assert await desk.offered(second_headers) == [conversation_id]
    state = await desk.state(first)
    assert (state["presence"], state["reason"]) == ("offline", "logged_out")
    [withdrawn] = await desk.offers_of(first)
    assert (withdrawn.status, withdrawn.reason) == ("withdrawn", "presence_changed")


async def test_logging_out_of_one_browser_keeps_an_agent_logged_in_elsewhere_working(
    desk: Desk, frozen: FrozenClock
) -> None:
    first, first_headers = await desk.agent()
    other_browser = await login_headers(desk.client, desk.emails[first], "agent password 1")
    frozen.advance(1)
    await desk.agent()
    conversation_id = await desk.customer_writes("bea@example.com")

    logout = await desk.client.post("/api/v1/auth/logout", headers=first_headers)
    assert logout.status_code == 204
    await desk.router_caught_up()

    assert (await desk.state(first))["presence"] == "available"
    assert await desk.offered(other_browser) == [conversation_id]


async def test_an_agent_whose_socket_is_gone_past_the_grace_goes_offline_and_their_offer_on(
    desk: Desk, frozen: FrozenClock
) -> None:
    first, first_headers = await desk.agent()
    frozen.advance(1)
    # The second agent never opened a socket: not watched, never set offline for it.
    _second, second_headers = await desk.agent()
    signs_of_life = desk.server.hub.signs_of_life
    assert signs_of_life is not None
    async with desk.socket(first_headers) as ws:
        assert (await receive(ws))["type"] == "hello"
        await eventually(lambda: desk.last_seen(first))  # seen as the socket opened
        conversation_id = await desk.customer_writes("cid@example.com")
        assert await desk.offered(first_headers) == [conversation_id]
    await eventually(lambda: first not in signs_of_life.user_ids)

    frozen.advance(GRACE_S - 20)
    await desk.router_caught_up()
    assert (await desk.state(first))["presence"] == "available"  # within the grace
    assert await desk.offered(first_headers) == [conversation_id]

    frozen.advance(21)  # unseen for longer than the grace (and looked at again: > 15 s)
    await desk.router_caught_up()
    state = await desk.state(first)
    assert (state["presence"], state["reason"]) == ("offline", "connection_lost")
    assert await desk.offered(second_headers) == [conversation_id]
    [withdrawn] = await desk.offers_of(first)
    assert (withdrawn.status, withdrawn.reason) == ("withdrawn", "presence_changed")


async def test_an_agent_who_reconnects_within_the_grace_keeps_their_offer(
    desk: Desk, frozen: FrozenClock
) -> None:
    first, first_headers = await desk.agent()
    frozen.advance(1)
    _second, second_headers = await desk.agent()
    signs_of_life = desk.server.hub.signs_of_life
    assert signs_of_life is not None
    async with desk.socket(first_headers) as ws:
        await receive(ws)  # hello
        await eventually(lambda: desk.last_seen(first))
        conversation_id = await desk.customer_writes("dan@example.com")
    await eventually(lambda: first not in signs_of_life.user_ids)

    frozen.advance(GRACE_S / 2)  # a train through a tunnel
    async with desk.socket(first_headers) as ws:
        await receive(ws)  # hello
        back = frozen.now()
        await eventually(lambda: equals(desk.last_seen(first), back))
        frozen.advance(GRACE_S / 2 + 10)  # past the first grace, within the second
        await desk.router_caught_up()

        assert (await desk.state(first))["presence"] == "available"
        assert await desk.offered(first_headers) == [conversation_id]
        assert await desk.offered(second_headers) == []


async def test_setting_ones_presence_is_a_sign_of_life(desk: Desk, frozen: FrozenClock) -> None:
    first, first_headers = await desk.agent()
    async with desk.socket(first_headers) as ws:
        await receive(ws)  # hello
        await eventually(lambda: desk.last_seen(first))
    frozen.advance(GRACE_S - 1)
    await desk.presence(first, first_headers, "available")  # the desktop, still there
    frozen.advance(GRACE_S - 1)
    await desk.router_caught_up()
    assert (await desk.state(first))["presence"] == "available"


async def test_each_process_refreshes_its_sockets_agents_in_one_update_per_period(
    settings: Settings, frozen: FrozenClock
) -> None:
    async with (
        serve(routed(settings, heartbeat_s=0.05), frozen) as server,
        httpx.AsyncClient(base_url=server.base_url, trust_env=False) as client,
    ):
        tenant = await make_tenant(server.db, "Acme")
        desk = Desk(server, client, tenant)
        await desk.open()
        first, first_headers = await desk.agent()
        second, second_headers = await desk.agent()
        signs_of_life = server.hub.signs_of_life
        assert signs_of_life is not None
        # The refresh under way when each UPDATE of the agents' rows ran.
        during: list[int] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip().upper().startswith("UPDATE ROUTING_AGENTS"):
                during.append(signs_of_life.refreshes)

        # Two desktops of one agent and one of another: three sockets.
        async with (
            desk.socket(first_headers) as a,
            desk.socket(first_headers) as b,
            desk.socket(second_headers) as c,
        ):
            for ws in (a, b, c):
                await receive(ws)  # hello
            await eventually(lambda: signs_of_life.user_ids == {first, second})
            moved = frozen.advance(7)
            event.listen(server.db.engine.sync_engine, "before_cursor_execute", record)
            try:
                await eventually(lambda: equals(desk.last_seen(first), moved))
                await eventually(lambda: equals(desk.last_seen(second), moved))
                await eventually(lambda: len(set(during)) >= 3)
            finally:
                event.remove(server.db.engine.sync_engine, "before_cursor_execute", record)
        # One statement per refresh, whatever the number of sockets and agents.
        assert set(Counter(during).values()) == {1}
