"""A scripted hour of a contact centre, played through the real API and router on a frozen
clock: the figures the reports must give are worked out by hand in test_summary.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from omnidesk.kit.clock import FrozenClock
from tests.channels.webchat.conftest import make_webchat_inbox, start_session
from tests.conftest import Tenant, make_user
from tests.routing.api.conftest import API, ok
from tests.routing.embedded.support import Desk, router_of


@dataclass
class Agent:
    id: int
    headers: dict[str, str]


@dataclass
class Day:
    start: datetime
    ann: Agent
    bob: Agent
    conversations: dict[str, int]


class Script:
    def __init__(self, desk: Desk, frozen: FrozenClock) -> None:
        self.desk, self.frozen = desk, frozen
        self.start = frozen.now()
        self.client: httpx.AsyncClient = desk.client

    async def at(self, second: float) -> None:
        """Move the clock to ``second`` after the start, and let the router take a turn."""
        moved = second - (self.frozen.now() - self.start).total_seconds()
        assert moved >= 0, f"the script went back in time to {second}"
        self.frozen.advance(moved)
        await router_of(self.desk.app).settled()

    async def agent(self, name: str) -> Agent:
        user, headers = await make_user(self.client, self.desk.tenant, "agent", name=name)
        await self.desk.presence(user["id"], headers, "available")
        return Agent(user["id"], headers)

    async def presence(self, agent: Agent, presence: str) -> None:
        await self.desk.presence(agent.id, agent.headers, presence)

    async def accept(self, agent: Agent, conversation_id: int) -> None:
        offers = await self.desk.offers(agent.headers)
        [offer] = [o for o in offers if o["conversation_id"] == conversation_id]
        ok(await self.client.post(f"{API}/offers/{offer['id']}/accept", headers=agent.headers))
        await router_of(self.desk.app).settled()

    async def reply(self, agent: Agent, conversation_id: int) -> None:
        ok(
            await self.client.post(
                f"/api/v1/conversations/{conversation_id}/messages",
                json={"body": "Happy to help."},
                headers=agent.headers,
            ),
            201,
        )

    async def resolve(self, agent: Agent, conversation_id: int) -> None:
        ok(
            await self.client.patch(
                f"/api/v1/conversations/{conversation_id}",
                json={"status": "resolved"},
                headers=agent.headers,
            )
        )
        await router_of(self.desk.app).settled()

    async def transfer(self, agent: Agent, conversation_id: int, to: Agent) -> None:
        ok(
            await self.client.post(
                f"{API}/transfers",
                json={"conversation_id": conversation_id, "to_agent_id": to.id},
                headers=agent.headers,
            ),
            202,
        )
        await router_of(self.desk.app).settled()

    async def leaves(self, email: str) -> None:
        ok(
            await self.client.post(
                f"/api/v1/inboxes/{self.desk.inbox_id}/contact-left",
                json={"sender": {"email": email}},
                headers=self.desk.tenant.headers,
            )
        )
        await router_of(self.desk.app).settled()


async def play_day(desk: Desk, frozen: FrozenClock, app: FastAPI, tenant: Tenant) -> Day:
    """Seconds after 09:00 (hand-computed figures in test_summary.py):

    - 0: Ann available; Ada writes (A), offered to Ann; 10: Ann accepts; 30: replies;
      300: resolves; wrap-up to 360.
    - 400: Bob available; Bea writes (B), offered to Ann (idle longest); 430: Ann accepts;
      440: transfers it to Bob; 450: Bob accepts; 470: replies; 600: resolves; wrap-up to 660.
    - 680: both away. 700: Cid writes (C); 745: Cid leaves. 750: Dan writes (D); 760: leaves.
    - 800: Ann available; 810: Bob available.
    - 900: a web-chat visitor writes (E), offered to Ann; 905: accepted; 915: reply;
      1000: resolved; wrap-up to 1060; 1100: the visitor rates it 5.
    - 1200: Fay writes (F), offered to Bob (idle longest); 1215: Bob accepts; 1220: replies.
      1250: Ada writes again: A's conversation reopens, still Ann's, who replies at 1260 and
      resolves it at 1300 (no routing: A's figures stay, but A was reopened).
      1500: Bob resolves F; wrap-up to 1560.
    - 1600: both offline. The clock then goes on to 10:30.

    The queue has 60 s of wrap-up, no sticky agent and offers that wait for an answer.
    """
    script = Script(desk, frozen)
    queues = ok(await desk.client.get(f"{API}/queues", headers=tenant.headers))
    [default] = [q for q in queues if q["is_default"]]
    ok(
        await desk.client.patch(
            f"{API}/queues/{default['id']}",
            json={"offer_timeout_s": 3600, "wrap_up_s": 60, "sticky_days": 0},
            headers=tenant.headers,
        )
    )
    widget = await make_webchat_inbox(desk.client, tenant)
    conversations: dict[str, int] = {}

    ann = await script.agent("Ann")
    a = conversations["A"] = await desk.customer_writes("ada@example.com")
    await script.at(10)
    await script.accept(ann, a)
    await script.at(30)
    await script.reply(ann, a)
    await script.at(300)
    await script.resolve(ann, a)
    await script.at(360)  # Ann's wrap-up ends

    await script.at(400)
    bob = await script.agent("Bob")
    b = conversations["B"] = await desk.customer_writes("bea@example.com")
    await script.at(430)
    await script.accept(ann, b)
    await script.at(440)
    await script.transfer(ann, b, bob)
    await script.at(450)
    await script.accept(bob, b)
    await script.at(470)
    await script.reply(bob, b)
    await script.at(600)
    await script.resolve(bob, b)
    await script.at(660)

    await script.at(680)
    await script.presence(ann, "away")
    await script.presence(bob, "away")
    await script.at(700)
    conversations["C"] = await desk.customer_writes("cid@example.com")
    await script.at(745)
    await script.leaves("cid@example.com")
    await script.at(750)
    conversations["D"] = await desk.customer_writes("dan@example.com")
    await script.at(760)
    await script.leaves("dan@example.com")

    await script.at(800)
    await script.presence(ann, "available")
    await script.at(810)
    await script.presence(bob, "available")

    await script.at(900)
    visitor, _ = await start_session(desk.client, widget)
    said: dict[str, Any] = await visitor.say("Hello?")
    e = conversations["E"] = said["conversation_id"]
    await router_of(app).settled()
    await script.at(905)
    await script.accept(ann, e)
    await script.at(915)
    await script.reply(ann, e)
    await script.at(1000)
    await script.resolve(ann, e)
    await script.at(1060)
    await script.at(1100)
    rated = await visitor.post("csat", json={"conversation_id": e, "rating": 5})
    assert rated.status_code == 204, rated.text

    await script.at(1200)
    f = conversations["F"] = await desk.customer_writes("fay@example.com")
    await script.at(1215)
    await script.accept(bob, f)
    await script.at(1220)
    await script.reply(bob, f)
    await script.at(1250)
    # Ada writes again: her resolved conversation reopens, still Ann's (no new routing).
    assert await desk.customer_writes("ada@example.com", 1) == a
    await script.at(1260)
    await script.reply(ann, a)
    await script.at(1300)
    await script.resolve(ann, a)
    await script.at(1500)
    await script.resolve(bob, f)
    await script.at(1560)

    await script.at(1600)
    await script.presence(ann, "offline")
    await script.presence(bob, "offline")
    await script.at(5400)  # 10:30
    return Day(script.start, ann, bob, conversations)
