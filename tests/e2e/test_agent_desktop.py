"""The agent desktop (``/app``) in real Chromium, against a real ``omnidesk serve``.

An agent logs in and goes available; a visitor starts a chat in the website widget on a
customer's site; the offer pops up on the desktop (over ``/ws``), the agent accepts it,
replies from the composer and resolves the conversation, which leaves the agent's open list
live. The API then confirms the status, the assignee and the reply, and the visitor sees the
reply in the widget (and, before it, the read receipt and the agent typing), then rates the
chat: the rating shows live in the contact sidebar on the desktop. The "My teams" tab and
the priority filter find a second conversation of the agent's team. axe-core finds no
serious or critical violation on the login page, the inbox, the conversation with its
contact sidebar, and the inbox and contact drawer 390 px wide. A second test cuts the
desktop's websocket while customers write: once it is back, the inbox has every change, each
once, without a reload.

Screenshots (1280 by 720) go to ``$E2E_SCREENSHOTS_DIR`` when it is set (``docs/screenshots``
for the README: ``E2E_SCREENSHOTS_DIR=docs/screenshots .venv/bin/pytest
tests/e2e/test_agent_desktop.py``), else to the test's temporary directory.

Chromium is Debian's (``/usr/bin/chromium``); Playwright never downloads a browser. Without
it, the Playwright package or the built desktop (``make frontend``) the test skips, except
under ``CI=true`` where it fails. It runs on the suite's database: a SQLite copy, or
PostgreSQL (and Redis) when ``OMNIDESK_TEST_DATABASE_URL`` (and ``OMNIDESK_TEST_BROKER=redis``)
are set.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.support import (
    VIEWPORT,
    WAIT_MS,
    HostSite,
    Server,
    eventually,
    no_serious_violations,
    ok,
)

pytestmark = pytest.mark.slow


QUESTION = "Hi! My parcel #4411 never arrived. Can you check?"
REPLY = "Sorry about that, Zoë — a new one ships today."

# The browser's notifications, recorded (a headless browser shows none), in a tab that never
# has the focus: what the desk would show an agent looking at another window.
RECORD_NOTIFICATIONS_JS = """
window.__notices = [];
window.Notification = class {
  static permission = "default";
  static async requestPermission() { window.Notification.permission = "granted"; return "granted"; }
  constructor(title, options) { window.__notices.push({ title, body: options?.body ?? "" }); }
  close() {}
};
document.hasFocus = () => false;
"""

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, WebSocketRoute


@dataclass
class Centre:
    server: Server
    api: httpx.AsyncClient  # the admin's API token
    site: HostSite
    agent_id: int
    agent_email: str
    agent_password: str


@pytest.fixture
async def centre(chromium: Path, database_url: str, tmp_path: Path) -> AsyncIterator[Centre]:
    server = Server(database_url, tmp_path / "data", tmp_path / "serve.log")
    try:
        await server.start()
        token = await server.admin_token("E2E Desk")
        async with httpx.AsyncClient(
            base_url=server.url, timeout=15, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            agent_password = "agent password " + uuid.uuid4().hex[:8]
            agent_email = f"ada-{uuid.uuid4().hex[:8]}@e2e.example.com"
            agent = ok(
                await api.post(
                    "/api/v1/users",
                    json={
                        "email": agent_email,
                        "name": "Ada Agent",
                        "role": "agent",
                        "password": agent_password,
                    },
                ),
                201,
            )
            with HostSite() as site:
                yield Centre(server, api, site, agent["id"], agent_email, agent_password)
    finally:
        await server.stop()
        # Shown by pytest when the test failed.
        print(f"--- omnidesk serve (warnings and errors) ---\n{server.tail()}")


async def test_agent_takes_a_chat_from_offer_to_resolved(
    centre: Centre, browser: Browser, shots: Path
) -> None:
    api, server = centre.api, centre.server
    body = {
        "name": "Website",
        "channel_type": "webchat",
        "config": {
            "allowed_origins": [centre.site.origin],
            "title": "Acme support",
            "pre_chat_form": {
                "enabled": True,
                "fields": [{"name": "name", "label": "Your name", "required": True}],
            },
        },
    }
    inbox = ok(await api.post("/api/v1/inboxes", json=body), 201)
    agent_path = f"/api/v1/routing/agents/{centre.agent_id}"
    team_body = {"name": "Parcels", "member_ids": [centre.agent_id]}
    team = ok(await api.post("/api/v1/teams", json=team_body), 201)
    snippet = ok(await api.get(f"/api/v1/inboxes/{inbox['id']}/webchat"))["snippet"]
    shop = centre.site.embed("/", snippet)

    errors: list[str] = []
    agent_context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    agent_context.set_default_timeout(WAIT_MS)
    desk = await agent_context.new_page()
    desk.on("pageerror", lambda exc: errors.append(str(exc)))
    await desk.add_init_script(RECORD_NOTIFICATIONS_JS)

    # Not logged in: the desktop sends the agent to its login page.
    await desk.goto(f"{server.url}/app/")
    await desk.wait_for_url(re.compile(r"/app/login"))
    await desk.get_by_label("Email").wait_for()
    await no_serious_violations(desk, "the login page")
    await desk.screenshot(path=shots / "login.png")

    await desk.get_by_label("Email").fill(centre.agent_email)
    await desk.get_by_label("Password").fill("wrong password!")
    await desk.get_by_role("button", name="Log in").click()
    await desk.get_by_role("alert").filter(has_text="Wrong email or password").wait_for()
    await desk.get_by_label("Password").fill(centre.agent_password)
    await desk.get_by_role("button", name="Log in").click()
    await desk.wait_for_url(re.compile(r"/app/$"))
    await desk.get_by_role("status").filter(has_text="Live").wait_for()

    # Desktop notifications: asked for from the header's bell.
    bell = desk.get_by_role("button", name="Desktop notifications")
    assert await bell.get_attribute("aria-pressed") == "false"
    await bell.click()
    await desk.locator('button[aria-pressed="true"]', has_text="Desktop notifications").wait_for()

    # Available: the router may offer work (its API says so too).
    await desk.get_by_label("Presence").select_option("available")

    async def available() -> bool:
        return bool(ok(await api.get(agent_path))["presence"] == "available")

    await eventually(available, "the agent's presence to be available")

    # A visitor starts a chat on the shop's site.
    visitor_context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    visitor_context.set_default_timeout(WAIT_MS)
    visitor = await visitor_context.new_page()
    visitor.on("pageerror", lambda exc: errors.append(f"visitor: {exc}"))
    await visitor.goto(shop)
    widget = visitor.locator("omnidesk-widget")
    await widget.locator(".launcher").click()
    await widget.locator(".prechat input[name=name]").fill("Zoë Visitor")
    await widget.locator(".prechat button[type=submit]").click()
    composer = widget.locator(".composer textarea")
    await composer.fill(QUESTION)
    await composer.press("Enter")

    # The offer pops up on the desktop: channel, customer, queue and a countdown.
    offer = desk.get_by_role("alertdialog")
    try:
        await offer.wait_for()
    except Exception:
        offers = (await api.get("/api/v1/routing/offers")).text
        conversations = (await api.get("/api/v1/conversations")).text
        agent = (await api.get(agent_path)).text
        shown = await desk.locator("body").inner_text()
        pytest.fail(
            f"no offer on the desktop; offers: {offers}; conversations: {conversations};"
            f" agent: {agent}; the page: {shown}; errors: {errors}"
        )
    await offer.filter(has_text="Zoë Visitor").wait_for()
    assert "New chat conversation" in await offer.inner_text()
    seconds = int(await offer.locator(".seconds").inner_text())
    assert 0 < seconds <= 600
    await desk.screenshot(path=shots / "offer.png")
    await no_serious_violations(desk, "the desktop with an offer showing")

    async def notified() -> Any:
        notices: list[dict[str, str]] = await desk.evaluate("() => window.__notices")
        return [n for n in notices if n["title"] == "A new conversation is offered to you"]

    assert (await eventually(notified, "a desktop notification of the offer"))[0]["body"] == (
        "Chat · Zoë Visitor"
    )
    pending = ok(await api.get("/api/v1/routing/offers"))
    assert [o["agent_id"] for o in pending] == [centre.agent_id]
    conversation_id = pending[0]["conversation_id"]

    # Accept: the conversation opens, with the visitor's message in its timeline.
    await offer.get_by_role("button", name="Accept").click()
    await desk.wait_for_url(re.compile(rf"/app/conversations/{conversation_id}$"))
    await offer.wait_for(state="detached")
    timeline = desk.get_by_role("list", name="Timeline")
    await timeline.locator(".msg.inbound", has_text=QUESTION).wait_for()

    # Reply with Enter; it shows in the timeline and in the agent's own inbox (live).
    # The visitor sees that the agent read their message, then that the agent is typing.
    await widget.locator('.msg[data-direction=inbound][data-state="read"]').wait_for()
    reply_box = desk.get_by_role("textbox", name="Reply")
    await reply_box.fill(REPLY)
    await widget.locator(".typing", has_text="typing").wait_for(state="visible")
    await reply_box.press("Enter")
    await timeline.locator(".msg.outbound", has_text=REPLY).wait_for()
    row = desk.locator(f'[data-conversation="{conversation_id}"]')
    await row.filter(has_text="Zoë Visitor").wait_for()
    await no_serious_violations(desk, "the inbox and conversation")
    await desk.screenshot(path=shots / "desk.png")

    # The visitor gets the reply in the widget.
    await widget.locator(".msg[data-direction=outbound] .body", has_text=REPLY).wait_for()

    # Resolve: the status changes, and the conversation leaves the open list live.
    await desk.get_by_role("button", name="Resolve").click()
    await desk.get_by_test_id("status").filter(has_text="resolved").wait_for()
    await row.wait_for(state="detached")

    conversation = ok(await api.get(f"/api/v1/conversations/{conversation_id}"))
    assert conversation["status"] == "resolved"
    assert conversation["assignee_id"] == centre.agent_id
    items = ok(await api.get(f"/api/v1/conversations/{conversation_id}/messages"))["items"]
    said = [
        (m["direction"], m["sender_type"], m["sender_id"], m["body"])
        for m in items
        if m["kind"] == "message"
    ]
    assert said[0][:2] == ("inbound", "contact")
    assert said[0][3] == QUESTION
    assert said[1:] == [("outbound", "user", centre.agent_id, REPLY)]

    # The visitor rates the chat in the widget; the rating shows live in the contact's
    # sidebar on the desktop, next to who they are on every channel and what they browsed.
    csat = widget.locator(".csat")
    await csat.wait_for(state="visible")
    await csat.locator("button.rate[aria-label='4 out of 5']").click()
    await csat.locator("textarea").fill("Quick and kind")
    await csat.locator("button.btn").click()
    await csat.get_by_text("Thank you").wait_for()
    sidebar = desk.get_by_test_id("contact-sidebar")
    rating = sidebar.get_by_test_id("csat-history").locator(
        f'[data-rated-conversation="{conversation_id}"][data-rating="4"]'
    )
    await rating.filter(has_text="Quick and kind").wait_for()
    assert await rating.get_by_role("img").get_attribute("aria-label") == "4 out of 5"
    await sidebar.locator('.identities [data-kind="webchat"]').wait_for()
    await sidebar.locator('.activity [data-kind="page_view"]').first.wait_for()
    assert ok(await api.get(f"/api/v1/conversations/{conversation_id}"))["csat_rating"] == 4

    # Another conversation of the customer, the agent's and their team's, urgent: it is in the
    # sidebar's other conversations, the "My teams" tab and the "urgent" filter, live.
    urgent = ok(
        await api.post(
            "/api/v1/conversations",
            json={
                "contact_id": conversation["contact_id"],
                "subject": "Refund for #4411",
                "team_id": team["id"],
                "assignee_id": centre.agent_id,  # given, not routed: no offer
                "priority": "urgent",
            },
        ),
        201,
    )
    await sidebar.locator(".conversations").get_by_text("Refund for #4411").wait_for()
    await no_serious_violations(desk, "the conversation with the contact sidebar")
    await desk.screenshot(path=shots / "desk-contact.png")
    urgent_row = desk.locator(f'[data-conversation="{urgent["id"]}"]')
    # From the keyboard: "?" lists the shortcuts, Esc closes the list, "3" is "My teams".
    await desk.evaluate("() => document.activeElement?.blur()")
    await desk.keyboard.press("?")
    await desk.get_by_role("dialog", name="Keyboard shortcuts").wait_for()
    await desk.keyboard.press("Escape")
    await desk.get_by_role("dialog", name="Keyboard shortcuts").wait_for(state="detached")
    assert desk.url.endswith(f"/conversations/{conversation_id}")  # Esc closed only the list
    await desk.evaluate("() => document.activeElement?.blur()")
    await desk.keyboard.press("3")
    await desk.get_by_role("tab", name="My teams", selected=True).wait_for()
    await urgent_row.wait_for()
    assert await desk.locator("[data-conversation]").count() == 1
    await desk.get_by_role("tab", name="All").click()
    await desk.get_by_label("Status").select_option("")
    await row.wait_for()
    await desk.locator('details[data-facet="priority"] summary').click()
    await desk.get_by_role("checkbox", name="Urgent").check()
    await row.wait_for(state="detached")
    await urgent_row.wait_for()
    await desk.get_by_role("checkbox", name="Urgent").uncheck()
    await desk.keyboard.press("Escape")
    await row.wait_for()

    # The dark theme, and the inbox on a phone: 390 px wide, nothing wider than the screen.
    await desk.get_by_role("button", name="Dark theme").click()
    await desk.screenshot(path=shots / "desk-dark.png")
    await desk.set_viewport_size({"width": 390, "height": 844})
    await desk.goto(f"{server.url}/app/")
    await desk.get_by_role("tab", name="All").click()
    await desk.get_by_label("Status").select_option("resolved")
    await desk.locator(f'[data-conversation="{conversation_id}"]').wait_for()
    width = await desk.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the inbox is {width}px wide on a 390px screen"
    await no_serious_violations(desk, "the inbox at 390 px (dark)")
    await desk.screenshot(path=shots / "inbox-390.png")
    # The conversation, and its contact as a drawer, on the phone.
    await desk.locator(f'[data-conversation="{conversation_id}"] a').click()
    await desk.get_by_role("button", name="Contact").click()
    await sidebar.get_by_test_id("csat-history").locator('[data-rating="4"]').wait_for()
    width = await desk.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the conversation is {width}px wide on a 390px screen"
    await no_serious_violations(desk, "the contact drawer at 390 px (dark)")
    await desk.screenshot(path=shots / "contact-390.png")

    await visitor_context.close()
    await agent_context.close()
    assert errors == [], errors


async def test_inbox_catches_up_after_a_lost_connection(centre: Centre, browser: Browser) -> None:
    """The desktop's websocket goes through a route the test can cut: while it is down,
    customers write (through the API channel); once it is back, the desktop resumes from the
    last event it saw and the inbox shows every change, each once, without a reload."""
    api = centre.api
    body = {"name": "CRM", "channel_type": "api", "config": {}}
    inbox = ok(await api.post("/api/v1/inboxes", json=body), 201)

    async def customer_writes(who: str, text: str) -> None:
        message = {"external_id": uuid.uuid4().hex, "sender": {"external_id": who, "name": who}}
        path = f"/api/v1/inboxes/{inbox['id']}/messages"
        response = await api.post(path, json={**message, "body": text})
        assert response.status_code in (200, 201, 202), response.text

    down = False
    sockets: list[WebSocketRoute] = []
    urls: list[str] = []

    async def route(ws: WebSocketRoute) -> None:
        urls.append(ws.url)
        if down:
            await ws.close(code=1012, reason="the network is down")
            return
        ws.connect_to_server()
        sockets.append(ws)

    errors: list[str] = []
    context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(WAIT_MS)
    desk = await context.new_page()
    desk.on("pageerror", lambda exc: errors.append(str(exc)))
    await desk.route_web_socket(re.compile(r"/ws(\?|$)"), route)
    await log_in(desk, centre)
    await desk.get_by_role("tab", name="Unassigned").click()

    rows = desk.locator("[data-conversation]")
    await customer_writes("Grace", "First question")
    await rows.filter(has_text="Grace").wait_for()

    # The network goes: the socket drops and the desktop cannot get back for a while.
    down = True
    for ws in sockets:
        await ws.close(code=1012, reason="cut")
    await desk.get_by_role("status").filter(has_text="Reconnecting").wait_for()
    await customer_writes("Linus", "Written while the agent was away")
    await customer_writes("Grace", "A second message")
    refused = len(urls)
    deadline = asyncio.get_running_loop().time() + 10
    while len(urls) == refused and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    assert len(urls) > refused, "the desktop did not try to reconnect"
    assert await rows.count() == 1  # nothing new came through the cut

    # Back: the desktop resumes after the last event it saw; both changes arrive, once each,
    # newest activity first.
    down = False
    await desk.get_by_role("status").filter(has_text="Live").wait_for()
    assert "last_event_id=" in urls[-1], urls
    await rows.filter(has_text="Linus").wait_for()

    async def in_order() -> list[str]:
        names = [
            n.strip() for n in await desk.locator("[data-conversation] .who").all_inner_texts()
        ]
        return names if names == ["Grace", "Linus"] else []

    await eventually(in_order, "Grace (latest message) then Linus in the inbox")
    assert await rows.count() == 2
    await context.close()
    assert errors == [], errors


async def log_in(page: Page, centre: Centre) -> None:
    await page.goto(f"{centre.server.url}/app/login")
    await page.get_by_label("Email").fill(centre.agent_email)
    await page.get_by_label("Password").fill(centre.agent_password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r"/app/$"))
    await page.get_by_role("status").filter(has_text="Live").wait_for()
