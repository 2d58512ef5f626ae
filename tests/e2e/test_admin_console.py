"""The admin console (``/app/admin``) in real Chromium, against a real ``omnidesk serve``.

An admin logs in and, through the console only, makes an API inbox (its signing secret is
shown once; its connection test runs), adds a skill "French" (with the keyboard alone), a
queue requiring French at level 5 or more, gives an agent French at level 7 and adds a
routing rule sending the inbox's work to the new queue. The next customer message posted to
that inbox is then queued there and offered to that agent, not to a colleague without French
(checked through the API). axe-core finds no serious or critical violation on each section
visited, in the light and the dark theme, at 1280 by 720.

A screenshot (``admin.png``) goes to ``$E2E_SCREENSHOTS_DIR`` when it is set, else to the
test's temporary directory. Skips like ``test_agent_desktop.py`` (and fails under
``CI=true``) without Chromium, Playwright or the built desktop.
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

pytestmark = pytest.mark.slow

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page


@dataclass
class Console:
    server: Server
    api: httpx.AsyncClient  # the admin's API token
    admin_email: str
    admin_password: str
    fran_id: int  # the agent who will speak French
    olaf_id: int  # a colleague without French


async def _agent(api: httpx.AsyncClient, name: str) -> int:
    body = {
        "email": f"{name.lower()}-{uuid.uuid4().hex[:8]}@e2e.example.com",
        "name": f"{name} Agent",
        "role": "agent",
        "password": "agent password " + uuid.uuid4().hex[:8],
    }
    user_id: int = ok(await api.post("/api/v1/users", json=body), 201)["id"]
    return user_id


@pytest.fixture
async def console(chromium: Path, database_url: str, tmp_path: Path) -> AsyncIterator[Console]:
    server = Server(database_url, tmp_path / "data", tmp_path / "serve.log")
    try:
        await server.start()
        email = f"admin-{uuid.uuid4().hex[:8]}@e2e.example.com"
        password = "e2e password " + uuid.uuid4().hex[:8]
        await server.cli(
            "create-admin", "--account", "E2E Admin", "--email", email,
            OMNIDESK_ADMIN_PASSWORD=password,
        )  # fmt: skip
        async with httpx.AsyncClient(base_url=server.url, timeout=15) as login:
            csrf = ok(
                await login.post("/api/v1/auth/login", json={"email": email, "password": password})
            )["csrf_token"]
            made = await login.post(
                "/api/v1/api-tokens", json={"name": "e2e"}, headers={"X-CSRF-Token": csrf}
            )
            token = ok(made, 201)["token"]
        async with httpx.AsyncClient(
            base_url=server.url, timeout=15, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            fran, olaf = await _agent(api, "Fran"), await _agent(api, "Olaf")
            yield Console(server, api, email, password, fran, olaf)
    finally:
        await server.stop()
        print(f"--- omnidesk serve (warnings and errors) ---\n{server.tail()}")


async def _section(page: Page, name: str, heading: str) -> None:
    await (
        page.get_by_role("navigation", name="Admin sections")
        .get_by_role("link", name=name, exact=True)
        .click()
    )
    await page.get_by_role("heading", name=heading, exact=True).wait_for()


async def _saved(page: Page, form_title: str) -> None:
    """The form now edits what was just saved (the server accepted it)."""
    await page.get_by_role("heading", name=form_title, exact=True).wait_for()


async def test_admin_adds_a_skill_and_a_queue_and_the_next_chat_routes_there(
    console: Console, browser: Browser, shots: Path
) -> None:
    api, server = console.api, console.server
    errors: list[str] = []
    context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    await page.goto(f"{server.url}/app/login")
    await page.get_by_label("Email").fill(console.admin_email)
    await page.get_by_label("Password").fill(console.admin_password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r"/app/$"))
    await page.get_by_role("link", name="Admin", exact=True).click()
    await page.wait_for_url(re.compile(r"/app/admin$"))

    # Inboxes (the first section): an API inbox; its secret is shown once, and tested.
    await page.get_by_role("heading", name="Inboxes", exact=True).wait_for()
    await page.get_by_role("button", name="New inbox").click()
    await page.get_by_label("Name", exact=True).fill("CRM")
    await page.get_by_label("Channel").select_option("api")
    await page.get_by_role("button", name="Create inbox").click()
    await _saved(page, "Edit CRM")
    secret = page.get_by_role("region", name="Signing secret").get_by_test_id("secret")
    assert (await secret.inner_text()).startswith("whsec_")
    webhook = page.locator("code", has_text="/api/v1/inboxes/")
    assert re.search(r"/api/v1/inboxes/\d+/messages$", await webhook.inner_text())
    await page.get_by_role("button", name="Test connection").click()
    tested = page.get_by_role("list", name="Connection test")
    await tested.get_by_text("signing secret").wait_for()
    assert "not set" in await tested.inner_text()  # no webhook URL for replies yet
    await no_serious_violations(page, "the inboxes")
    [inbox] = ok(await api.get("/api/v1/inboxes"))
    assert inbox["name"] == "CRM"

    # Skills: "French", with the keyboard alone (the form takes the focus, Enter saves).
    await _section(page, "Skills", "Skills")
    await page.get_by_role("button", name="New skill").focus()
    await page.keyboard.press("Enter")
    await page.keyboard.type("French")
    await page.keyboard.press("Enter")
    await _saved(page, "Edit French")
    await page.get_by_role("cell", name="French", exact=True).wait_for()
    # A second skill with the same name: the server's refusal shows on the field.
    await page.get_by_role("button", name="New skill").click()
    await page.get_by_label("Name", exact=True).fill("French")
    await page.get_by_role("button", name="Create skill").click()
    name_field = page.get_by_label("Name", exact=True)
    await page.locator("#skills-name-error").wait_for()
    assert await name_field.get_attribute("aria-invalid") == "true"
    await no_serious_violations(page, "the skills")
    await page.get_by_role("button", name="Close").click()
    [french] = [s for s in ok(await api.get("/api/v1/routing/skills")) if s["name"] == "French"]

    # Queues: "French chats", requiring French at level 5 or more.
    await _section(page, "Queues", "Queues")
    await page.get_by_role("button", name="New queue").click()
    await page.get_by_label("Name", exact=True).fill("French chats")
    await page.get_by_role("button", name="Add skill").click()
    await page.get_by_label("Minimum level of French").fill("5")
    await page.get_by_label("Who gets the work").select_option("highest_skill")
    await page.get_by_role("button", name="Create queue").click()
    await _saved(page, "Edit French chats")
    await no_serious_violations(page, "the queues")
    queues = ok(await api.get("/api/v1/routing/queues"))
    [queue] = [q for q in queues if q["name"] == "French chats"]
    assert queue["required_skills"] == [{"skill_id": french["id"], "min_level": 5}]

    # Users: Fran speaks French, level 7.
    await _section(page, "Users", "Users")
    await page.get_by_role("button", name="Edit Fran Agent").click()
    routing = page.get_by_role("region", name="Routing of Fran Agent")
    await routing.get_by_role("button", name="Add skill").click()
    await routing.get_by_label("Level of French").fill("7")
    await routing.get_by_role("button", name="Save routing").click()
    await routing.get_by_text("Routing saved.").wait_for()
    await no_serious_violations(page, "the users")
    fran = ok(await api.get(f"/api/v1/routing/agents/{console.fran_id}"))
    assert [(s["name"], s["level"]) for s in fran["skills"]] == [("French", 7)]

    # Routing rules: the CRM inbox's work goes to the French queue.
    await _section(page, "Routing rules", "Routing rules")
    await page.get_by_role("button", name="New routing rule").click()
    await page.get_by_label("Name", exact=True).fill("CRM in French")
    await page.get_by_role("checkbox", name="CRM", exact=True).check()
    await page.get_by_label("Send it to the queue").select_option(label="French chats")
    await page.get_by_role("button", name="Create routing rule").click()
    await _saved(page, "Edit CRM in French")
    await no_serious_violations(page, "the routing rules")
    [rule] = ok(await api.get("/api/v1/routing/rules"))
    assert rule["queue_id"] == queue["id"]
    assert rule["conditions"]["inbox_ids"] == [inbox["id"]]

    # SLA policies: urgent conversations answered within 15 minutes of business time,
    # entered in minutes; a target under a minute is refused on its field before saving.
    await _section(page, "SLA policies", "SLA policies")
    await page.get_by_role("button", name="New SLA policy").click()
    await page.get_by_label("Name", exact=True).fill("Standard")
    await page.get_by_label("Urgent: first response (minutes)").fill("0.5")
    await page.get_by_role("button", name="Create SLA policy").click()
    await page.get_by_text("at least 1 minute, or empty").wait_for()
    await page.get_by_label("Urgent: first response (minutes)").fill("15")
    await page.get_by_label("Normal: resolution (minutes)").fill("480")
    await page.get_by_role("button", name="Create SLA policy").click()
    await _saved(page, "Edit Standard")
    await no_serious_violations(page, "the SLA policies")
    [policy] = ok(await api.get("/api/v1/sla/policies"))
    assert policy["targets"]["urgent"]["first_response_s"] == 900
    assert policy["targets"]["normal"]["resolution_s"] == 28_800
    assert policy["warning_percent"] == 75

    # The dark theme, on the queue with its skills, for the screenshot.
    await _section(page, "Queues", "Queues")
    await page.get_by_role("button", name="Edit French chats").click()
    await page.get_by_role("button", name="Dark theme").click()
    await no_serious_violations(page, "the queues (dark)")
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], f"the console is {width}px wide at 1280"
    await page.screenshot(path=shots / "admin.png")

    # Every other section, with its form open, passes axe-core too (dark theme).
    others = {
        "Teams": "team",
        "Routing profiles": "routing profile",
        "Business hours": "business hours",
        "Away reasons": "away reason",
        "Canned responses": "canned response",
        "Macros": "macro",
        "Automation rules": "automation rule",
        "Custom attributes": "custom attribute",
        "Ticket forms": "ticket form",
        "Auto-categorisation": "categorisation rule",
        "API tokens": "API token",
    }
    for section, noun in others.items():
        await _section(page, section, section)
        await page.get_by_role("button", name=f"New {noun}").click()
        await page.get_by_role("heading", name=f"New {noun}", exact=True).wait_for()
        await no_serious_violations(page, f"the {section.lower()} (dark)")
    await _section(page, "Background jobs", "Background jobs")
    await no_serious_violations(page, "the background jobs (dark)")
    # Each channel's own settings (Messenger and Instagram: tests/e2e/test_meta_inboxes.py).
    for channel in ("webchat", "email", "telegram", "sms", "whatsapp"):
        await _section(page, "Inboxes", "Inboxes")
        await page.get_by_role("button", name="New inbox").click()
        await page.get_by_label("Channel").select_option(channel)
        await no_serious_violations(page, f"a new {channel} inbox (dark)")

    # Both agents are available; the next customer message on the CRM inbox is queued in
    # the French queue and offered to Fran, who has French, never to Olaf.
    for agent_id in (console.olaf_id, console.fran_id):
        presence = {"presence": "available"}
        ok(await api.put(f"/api/v1/routing/agents/{agent_id}/presence", json=presence))
    message = {
        "external_id": uuid.uuid4().hex,
        "sender": {"external_id": "cust-fr-1", "name": "Amélie"},
        "body": "Bonjour, ma commande n'est pas arrivée.",
    }
    posted = ok(await api.post(f"/api/v1/inboxes/{inbox['id']}/messages", json=message), 201)

    async def offered() -> list[dict[str, Any]]:
        offers: list[dict[str, Any]] = ok(await api.get("/api/v1/routing/offers"))
        return [o for o in offers if o["conversation_id"] == posted["conversation_id"]]

    [offer] = await eventually(offered, "an offer for the customer's conversation")
    assert offer["queue_id"] == queue["id"]
    assert offer["agent_id"] == console.fran_id

    await context.close()
    assert errors == [], errors
