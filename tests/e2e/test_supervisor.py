"""The supervisor's screens (``/app/supervisor``) in real Chromium, against ``omnidesk serve``.

A supervisor opens the wallboard; a customer writes in through an API inbox and the queue's
waiting count changes on the open page, without a reload. From the wallboard the supervisor
watches that conversation read-only — the customer's next message shows live, and the API
lists the supervisor among its viewers — then, from the agent list, sets an agent away with
a reason (the API confirms it) and signs the agent out (their session ends: ``/auth/me``
answers 401). axe-core finds no serious or critical violation on the wallboard, in the light
and the dark theme, at 1280 by 720, nor while watching; screenshots go to
``$E2E_SCREENSHOTS_DIR`` when set.

Skips and databases as ``test_agent_desktop.py``; the browser fixtures are in ``conftest.py``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.support import VIEWPORT, WAIT_MS, Server, eventually, no_serious_violations, ok

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

# The agent desktop test's browser fixtures (found by name) and its axe-core check.

pytestmark = pytest.mark.slow


@dataclass
class User:
    id: int
    name: str
    email: str
    password: str


@dataclass
class Floor:
    server: Server
    api: httpx.AsyncClient  # the admin's API token
    supervisor: User
    agent: User
    inbox_id: int
    queue_id: int

    async def customer_writes(self, who: str, text: str) -> int:
        message = {"external_id": uuid.uuid4().hex, "sender": {"external_id": who, "name": who}}
        response = await self.api.post(
            f"/api/v1/inboxes/{self.inbox_id}/messages", json={**message, "body": text}
        )
        assert response.status_code in (200, 201, 202), response.text
        return int(response.json()["conversation_id"])


async def _user(api: httpx.AsyncClient, name: str, role: str) -> User:
    password = f"{role} password " + uuid.uuid4().hex[:8]
    email = f"{role}-{uuid.uuid4().hex[:8]}@e2e.example.com"
    body = {"email": email, "name": name, "role": role, "password": password}
    created = ok(await api.post("/api/v1/users", json=body), 201)
    return User(created["id"], name, email, password)


@pytest.fixture
async def floor(chromium: Path, database_url: str, tmp_path: Path) -> AsyncIterator[Floor]:
    # Agents without a desktop open stay in the state the test gives them.
    server = Server(
        database_url,
        tmp_path / "data",
        tmp_path / "serve.log",
        OMNIDESK_ROUTING__CONNECTION_GRACE_S="3600",
    )
    try:
        await server.start()
        token = await server.admin_token("E2E Floor")
        async with httpx.AsyncClient(
            base_url=server.url, timeout=15, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            supervisor = await _user(api, "Sam Supervisor", "supervisor")
            agent = await _user(api, "Ada Agent", "agent")
            inbox = ok(
                await api.post(
                    "/api/v1/inboxes", json={"name": "CRM", "channel_type": "api", "config": {}}
                ),
                201,
            )
            queues = ok(await api.get("/api/v1/routing/queues"))
            [default] = [q for q in queues if q["is_default"]]
            ok(await api.post("/api/v1/routing/away-reasons", json={"name": "Coaching"}), 201)
            yield Floor(server, api, supervisor, agent, inbox["id"], default["id"])
    finally:
        await server.stop()
        print(f"--- omnidesk serve (warnings and errors) ---\n{server.tail()}")


async def _agent_session(floor: Floor) -> httpx.AsyncClient:
    """The agent logged in (a browser session, as their desktop would hold)."""
    client = httpx.AsyncClient(base_url=floor.server.url, timeout=15)
    login = ok(
        await client.post(
            "/api/v1/auth/login",
            json={"email": floor.agent.email, "password": floor.agent.password},
        )
    )
    client.headers["X-CSRF-Token"] = login["csrf_token"]
    return client


async def _log_in(page: Page, floor: Floor) -> None:
    await page.goto(f"{floor.server.url}/app/login")
    await page.get_by_label("Email").fill(floor.supervisor.email)
    await page.get_by_label("Password").fill(floor.supervisor.password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r"/app/$"))
    await page.get_by_role("status").filter(has_text="Live").wait_for()


async def test_the_wallboard_changes_live_and_the_supervisor_acts_on_agents(
    floor: Floor, browser: Browser, shots: Path
) -> None:
    api = floor.api
    agent_path = f"/api/v1/routing/agents/{floor.agent.id}"
    agent = await _agent_session(floor)
    try:
        ok(await agent.put(agent_path + "/presence", json={"presence": "available"}))

        errors: list[str] = []
        context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        context.set_default_timeout(WAIT_MS)
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await _log_in(page, floor)

        # The wallboard, from the header's navigation (the screen loads on first visit).
        await page.get_by_role("link", name="Wallboard").click()
        await page.wait_for_url(re.compile(r"/app/supervisor$"))
        queue = page.locator(f'[data-queue="{floor.queue_id}"]')
        waiting = queue.get_by_test_id("waiting")
        await waiting.filter(has_text=re.compile(r"^\s*0\s*$")).wait_for()
        ada = page.locator(f'[data-agent="{floor.agent.id}"]')
        await ada.get_by_test_id("presence").filter(has_text="Available").wait_for()
        await page.get_by_test_id("updated").wait_for()
        # Anything that reloads the page would lose this.
        await page.evaluate("() => { window.__sameWallboard = true; }")

        # A customer writes in: work waits (or is offered), and the open wallboard shows it.
        first = await floor.customer_writes("Grace", "My order never came")
        await waiting.filter(has_text=re.compile(r"^\s*1\s*$")).wait_for()
        oldest = queue.locator(".oldest")
        assert re.fullmatch(r"\d+:\d\d", (await oldest.inner_text()).strip())

        # Watch it, read-only: its timeline, live; the supervisor is among its viewers.
        await page.get_by_label("Watch conversation", exact=True).fill(str(first))
        await page.get_by_role("button", name="Watch", exact=True).click()
        await page.wait_for_url(re.compile(rf"/app/supervisor/watch/{first}$"))
        timeline = page.get_by_role("list", name="Timeline")
        await timeline.locator(".msg.inbound", has_text="My order never came").wait_for()
        assert await page.get_by_role("textbox", name="Reply").count() == 0
        await floor.customer_writes("Grace", "Any news?")
        await timeline.locator(".msg.inbound", has_text="Any news?").wait_for()
        await no_serious_violations(page, "watching a conversation")

        async def watching() -> list[tuple[int, str]]:
            viewers = ok(await api.get(f"/api/v1/conversations/{first}/viewers"))["viewers"]
            return [(v["user_id"], v["role"]) for v in viewers if v["viewing"]]

        assert await eventually(watching, "the supervisor among the viewers") == [
            (floor.supervisor.id, "supervisor")
        ]
        await page.get_by_role("link", name="Wallboard", exact=False).first.click()
        await page.wait_for_url(re.compile(r"/app/supervisor$"))

        # Set the agent away, with a reason, from the agent list; the API confirms it.
        await ada.get_by_label(f"Presence of {floor.agent.name}").select_option("away")
        await ada.get_by_label(f"Away reason for {floor.agent.name}").select_option(
            label="Coaching"
        )
        await ada.get_by_role("button", name="Set away").click()

        async def away() -> dict[str, Any] | None:
            state = ok(await api.get(agent_path))
            return state if (state["presence"], state["reason"]) == ("away", "Coaching") else None

        await eventually(away, "the agent away (Coaching)")
        await ada.get_by_test_id("presence").filter(has_text="Away").wait_for()
        await ada.filter(has_text="Coaching").wait_for()

        # Sign the agent out, once confirmed: their session ends.
        assert (await agent.get("/api/v1/auth/me")).status_code == 200
        await ada.get_by_role("button", name=f"Sign out {floor.agent.name}").click()
        await (
            ada.get_by_role("group", name=f"Sign {floor.agent.name} out?")
            .get_by_role("button", name="Sign out")
            .click()
        )

        async def signed_out() -> bool:
            return (await agent.get("/api/v1/auth/me")).status_code == 401

        await eventually(signed_out, "the agent's session to end")
        await ada.get_by_test_id("presence").filter(has_text="Offline").wait_for()
        assert ok(await api.get(agent_path))["presence"] == "offline"

        # Accessible and legible, in both themes, at 1280 by 720; never reloaded.
        await no_serious_violations(page, "the wallboard")
        await page.screenshot(path=shots / "supervisor.png")
        await page.get_by_role("button", name="Dark theme").click()
        await no_serious_violations(page, "the wallboard (dark)")
        await page.screenshot(path=shots / "supervisor-dark.png")
        assert await page.evaluate("() => window.__sameWallboard === true")
        await context.close()
        assert errors == [], errors
    finally:
        await agent.aclose()
