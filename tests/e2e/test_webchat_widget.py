"""The website chat widget in real Chromium, against a real ``omnidesk serve``.

The host page is served from one loopback origin, omnidesk from another (through a small
TCP proxy the test can cut), so the widget runs cross-origin exactly as on a customer's site:
origin allow-list, CORS, visitor token, websocket. The visitor fills the pre-chat form and
writes; an agent answers through the REST API; typing and read receipts go both ways. Then
the network goes away mid-conversation — the browser goes offline and every connection to
omnidesk is cut — while the agent sends two more replies and the visitor writes one more
message. Once the network is back, every message must be there exactly once, in order, in
the widget and in the agent's API. The page's own globals and styles must be untouched, and
its page views and a rage click must be on the contact's timeline. Two shorter tests cover
a signed-in user (identity verification, attachments, the rating asked on resolve, the
history on a second device, a forged signature) and the offline form out of hours.

Chromium is Debian's (``/usr/bin/chromium``); Playwright never downloads a browser. Without
it (or without the Playwright package) the test skips, except under ``CI=true`` where it
fails. It runs on the suite's database: a SQLite copy, or PostgreSQL (and Redis) when
``OMNIDESK_TEST_DATABASE_URL`` (and ``OMNIDESK_TEST_BROKER=redis``) are set.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import require_service
from tests.e2e.support import (
    CHROMIUM,
    LOOPBACK,
    ROOT,
    WAIT_MS,
    WAIT_S,
    HostSite,
    Server,
    eventually,
    ok,
)

pytestmark = pytest.mark.slow

BUNDLE = ROOT / "omnidesk" / "channels" / "webchat" / "static" / "widget.js"
#: The installation's attachment limit in these tests (the widget refuses more itself).
MAX_BYTES = 64 * 1024

# Bodies with emoji, combining marks, right-to-left text and markup that must stay text.
V1 = "Hello 👋🏽 <b>not bold</b> — ça va? 你好 e\u0301"
A1 = "Hi! I'm Ada 🙂 How can I help?"
A2 = "While you were away (1/2): <i>still text</i>"
A3 = "While you were away (2/2): مرحبا 🚀"
V2 = "Written offline 📴\nsecond line"

try:
    from playwright.async_api import Browser, BrowserContext, Page, async_playwright
except ImportError:  # pragma: no cover - reported by require_service below
    async_playwright = None  # type: ignore[assignment]


# The host site ----------------------------------------------------------------------------


#: The elements whose computed styles the widget must not change.
STYLED = ["html", "body", "h1", "#intro", "#intro a", "#buy", "#search", "#notes", "#target"]

SNAPSHOT_JS = """(selectors) => {
  const styles = {};
  for (const selector of selectors) {
    const computed = getComputedStyle(document.querySelector(selector));
    const all = {};
    for (let i = 0; i < computed.length; i += 1) {
      all[computed[i]] = computed.getPropertyValue(computed[i]);
    }
    styles[selector] = all;
  }
  return {
    globals: Object.getOwnPropertyNames(window).sort(),
    styles,
    styleSheets: document.styleSheets.length,
    adopted: document.adoptedStyleSheets.length,
    head: document.head.children.length,
    bodyTags: Array.from(document.body.children).map((e) => e.tagName.toLowerCase()),
  };
}"""

#: The widget's conversation as the visitor sees it: [body, direction, id, state] per message.
MESSAGES_JS = """() => {
  const host = document.querySelector('omnidesk-widget');
  if (!host || !host.shadowRoot) return [];
  return Array.from(host.shadowRoot.querySelectorAll('.msg[data-direction]')).map((el) => {
    const body = el.querySelector('.body');
    return [body ? body.textContent : '', el.dataset.direction, el.dataset.id || null,
            el.dataset.state];
  });
}"""


# The network between the browser and omnidesk ---------------------------------------------


class CuttableProxy:
    """A TCP proxy in front of omnidesk. ``cut()`` drops every open connection (the
    widget's websocket included) and refuses new ones until ``restore()``: a real outage,
    whatever the browser's offline emulation does or does not cover."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.server: asyncio.Server | None = None
        self.port = 0
        self.down = False
        self.pipes: set[asyncio.StreamWriter] = set()
        self.refused = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, LOOPBACK, 0)
        self.port = self.server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def cut(self) -> None:
        self.down = True
        for writer in list(self.pipes):
            self._abort(writer)
        self.pipes.clear()

    def restore(self) -> None:
        self.down = False

    async def stop(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    @staticmethod
    def _abort(writer: asyncio.StreamWriter) -> None:
        transport = writer.transport
        if not transport.is_closing():
            transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            self.refused += 1
            self._abort(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(LOOPBACK, self.target_port)
        except OSError:
            self._abort(writer)
            return
        self.pipes.update((writer, up_writer))
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self.pipes.discard(w)
                self._abort(w)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        self._abort(writer)


# Helpers ----------------------------------------------------------------------------------


async def visitor_sees(page: Page, expected: list[tuple[str, str]]) -> list[list[Any]]:
    """Waits until the widget shows exactly these (body, direction) messages, all confirmed
    by the server; returns them with their ids."""
    want = [[body, direction] for body, direction in expected]
    try:
        await page.wait_for_function(
            f"""(want) => {{
              const got = ({MESSAGES_JS})();
              return got.every((m) => m[2] !== null) &&
                JSON.stringify(got.map((m) => [m[0], m[1]])) === JSON.stringify(want);
            }}""",
            arg=want,
            timeout=WAIT_MS,
        )
    except Exception:
        got = await page.evaluate(MESSAGES_JS)
        pytest.fail(f"the widget shows {got!r}, expected {expected!r}")
    messages: list[list[Any]] = await page.evaluate(MESSAGES_JS)
    return messages


async def _all_in(
    statuses: Awaitable[dict[str, str | None]], bodies: list[str], wanted: set[str]
) -> dict[str, str | None] | None:
    found = await statuses
    return found if all(found.get(body) in wanted for body in bodies) else None


@pytest.fixture
def chromium() -> Path:
    require_service(async_playwright is not None, "the playwright package is not installed")
    require_service(CHROMIUM.is_file(), f"{CHROMIUM} is missing (apt-get install chromium)")
    require_service(BUNDLE.is_file(), f"{BUNDLE} is not built (make widget)")
    return CHROMIUM


class AgentSocket:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def wait_for(self, wanted: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        """Reads frames until one is ``wanted``."""
        seen: list[str] = []
        try:
            async with asyncio.timeout(WAIT_S):
                while True:
                    frame = json.loads(await self.ws.recv())
                    if wanted(frame):
                        return dict(frame)
                    seen.append(str(frame.get("type")))
        except TimeoutError:
            pytest.fail(f"the agents' websocket never got {what} (got: {seen})")


@dataclass
class Desk:
    """omnidesk (reached by browsers through the proxy), an admin's API client on it
    (direct), and the customer's site."""

    server: Server
    proxy: CuttableProxy
    api: httpx.AsyncClient
    site: HostSite
    token: str

    @contextlib.asynccontextmanager
    async def agent_socket(self) -> AsyncIterator[AgentSocket]:
        """The agents' websocket (``/ws``), signed in with the admin's API token."""
        url = self.server.url.replace("http://", "ws://") + "/ws"
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": self.token}))
            yield AgentSocket(ws)

    async def inbox(self, **config: Any) -> tuple[dict[str, Any], str]:
        """A web-chat inbox that allows the site; returns it and its snippet."""
        config = {"allowed_origins": [self.site.origin], **config}
        body = {"name": "Website", "channel_type": "webchat", "config": config}
        inbox = ok(await self.api.post("/api/v1/inboxes", json=body), 201)
        embed = ok(await self.api.get(f"/api/v1/inboxes/{inbox['id']}/webchat"))
        # omnidesk's public address is the proxy's, which the test can cut.
        snippet = (
            f'<script src="{self.proxy.url}/widget.js" data-inbox="{embed["widget_key"]}" '
            "async></script>"
        )
        assert embed["snippet"] == snippet
        return inbox, snippet

    async def conversation(self, inbox_id: int) -> dict[str, Any]:
        async def first() -> Any:
            found = ok(await self.api.get("/api/v1/conversations", params={"inbox_id": inbox_id}))
            return found["items"][0] if found["items"] else None

        found: dict[str, Any] = await eventually(first, f"a conversation in inbox {inbox_id}")
        return found

    async def messages(self, conversation_id: int) -> list[dict[str, Any]]:
        path = f"/api/v1/conversations/{conversation_id}/messages"
        items: list[dict[str, Any]] = ok(await self.api.get(path))["items"]
        return [m for m in items if m["kind"] == "message"]


@pytest.fixture
async def desk(chromium: Path, database_url: str, tmp_path: Path) -> AsyncIterator[Desk]:
    proxy = CuttableProxy(0)
    await proxy.start()
    server = Server(
        database_url,
        tmp_path / "data",
        tmp_path / "serve.log",
        proxy.url,
        OMNIDESK_ATTACHMENTS__MAX_BYTES=str(MAX_BYTES),
    )
    proxy.target_port = server.port
    try:
        await server.start()
        token = await server.admin_token("E2E Shop")
        async with httpx.AsyncClient(
            base_url=server.url, timeout=15, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            with HostSite() as site:
                yield Desk(server, proxy, api, site, token)
    finally:
        await proxy.stop()
        await server.stop()
        # Shown by pytest when the test failed.
        print(f"--- omnidesk serve (warnings and errors) ---\n{server.tail()}")


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            yield launched
        finally:
            await launched.close()


async def new_page(browser: Browser, errors: list[str]) -> tuple[BrowserContext, Page]:
    """A fresh browser profile (another device: nothing in localStorage)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page


# The tests --------------------------------------------------------------------------------


async def test_visitor_and_agent_chat_through_an_outage(desk: Desk, browser: Browser) -> None:
    inbox, snippet = await desk.inbox(
        title="Acme support",
        greeting="Hi! Ask us anything.",
        pre_chat_form={
            "enabled": True,
            "fields": [
                {"name": "name", "label": "Your name", "required": True},
                {"name": "email", "label": "Email", "type": "email", "required": True},
            ],
        },
    )
    desk.site.embed("/", snippet)
    key = snippet.split('data-inbox="')[1].split('"')[0]
    # A site not on the allow-list is refused.
    refused = await desk.api.post(
        f"/widget/v1/{key}/session", json={}, headers={"Origin": "http://evil.example"}
    )
    assert refused.status_code == 403, refused.text

    errors: list[str] = []
    context, page = await new_page(browser, errors)
    await chat(page, context, desk, inbox["id"])
    assert errors == [], errors


async def chat(page: Page, context: BrowserContext, desk: Desk, inbox_id: int) -> None:
    site, proxy, api = desk.site, desk.proxy, desk.api
    widget = page.locator("omnidesk-widget")
    calls: list[str] = []  # the widget's calls, for failure messages

    def on_response(response: Any) -> None:
        if "/widget/v1/" in response.url:
            path = response.url.split("/widget/v1/", 1)[1].split("/", 1)[-1]
            calls.append(f"{response.request.method} {path} {response.status}")

    page.on("response", on_response)

    # The page as it is without the widget, then with it: nothing of the page changes.
    await page.goto(f"{site.origin}/plain")
    before = await page.evaluate(SNAPSHOT_JS, STYLED)
    await page.goto(f"{site.origin}/")
    await page.wait_for_function("() => window.omnidesk && window.omnidesk.version")
    await widget.locator(".launcher").wait_for(state="visible", timeout=WAIT_MS)
    # The session has answered once the title is the inbox's.
    await widget.locator(".title", has_text="Acme support").wait_for(
        state="attached", timeout=WAIT_MS
    )
    after = await page.evaluate(SNAPSHOT_JS, STYLED)
    assert sorted(set(after["globals"]) - set(before["globals"])) == ["omnidesk"]
    assert set(before["globals"]) - set(after["globals"]) == set()
    assert after["styles"] == before["styles"]
    assert (after["styleSheets"], after["adopted"], after["head"]) == (
        before["styleSheets"],
        before["adopted"],
        before["head"],
    )
    assert after["bodyTags"] == [*before["bodyTags"], "script", "omnidesk-widget"]

    # The visitor opens the chat: the pre-chat form first, then the composer.
    await widget.locator(".launcher").click()
    panel = widget.locator(".panel")
    await panel.wait_for(state="visible")
    await widget.locator(".prechat input[name=name]").fill("Zoë Visitor")
    await widget.locator(".prechat input[name=email]").fill("zoe@example.com")
    await widget.locator(".prechat button[type=submit]").click()
    composer = widget.locator(".composer textarea")
    await composer.wait_for(state="visible")
    await composer.fill(V1)
    await composer.press("Enter")
    shown = await visitor_sees(page, [(V1, "inbound")])
    # Markup in a message is text: no <b> element was made from it.
    assert await widget.locator(".bubble b").count() == 0

    # The agent finds the conversation and the contact the pre-chat form filled.
    async def conversation() -> Any:
        found = ok(await api.get("/api/v1/conversations", params={"inbox_id": inbox_id}))
        return found["items"][0] if found["items"] else None

    conv = await eventually(conversation, "the conversation")
    contact = ok(await api.get(f"/api/v1/contacts/{conv['contact_id']}"))
    assert contact["name"] == "Zoë Visitor"
    cid = conv["id"]

    # Typing, both ways: the agent types, the visitor sees it; the visitor types, the
    # agents' websocket says so.
    ok(await api.post(f"/api/v1/conversations/{cid}/typing", json={"typing": True}), 204)
    await widget.locator(".typing", has_text="typing").wait_for(state="visible", timeout=WAIT_MS)
    async with desk.agent_socket() as agents:
        await agents.wait_for(lambda f: f.get("type") == "hello", "hello")
        await composer.press_sequentially("Also…")

        def visitor_typing(frame: dict[str, Any]) -> bool:
            return (
                frame.get("type") == "conversation.typing"
                and frame.get("conversation_id") == cid
                and frame.get("typing") is True
            )

        typing = await agents.wait_for(visitor_typing, "the visitor typing")
        assert typing["sender"]["type"] == "contact"
    await composer.fill("")

    ok(await api.post(f"/api/v1/conversations/{cid}/messages", json={"body": A1}), 201)
    shown = await visitor_sees(page, [(V1, "inbound"), (A1, "outbound")])
    await widget.locator(".typing").wait_for(state="hidden", timeout=WAIT_MS)
    v1_id = int(shown[0][2])

    # Read receipts, agent to visitor: the agent reads the visitor's message, the widget
    # says so under it.
    ok(await api.post(f"/api/v1/conversations/{cid}/read", json={"message_id": v1_id}), 204)
    await widget.locator(
        f'.msg[data-id="{v1_id}"][data-state="read"] .meta', has_text="Read"
    ).wait_for(timeout=WAIT_MS)

    # The outage: the browser goes offline and every connection to omnidesk drops.
    await context.set_offline(True)
    proxy.cut()
    await widget.locator(".banner").wait_for(state="visible", timeout=WAIT_MS)
    ok(await api.post(f"/api/v1/conversations/{cid}/messages", json={"body": A2}), 201)
    await composer.fill(V2)
    await composer.press("Enter")
    ok(await api.post(f"/api/v1/conversations/{cid}/messages", json={"body": A3}), 201)

    seen: list[dict[str, str | None]] = [{}]

    async def delivery() -> dict[str, str | None]:
        items = ok(await api.get(f"/api/v1/conversations/{cid}/messages"))["items"]
        seen[0] = {m["body"]: m["delivery_status"] for m in items if m["direction"] == "outbound"}
        return seen[0]

    # omnidesk has sent the replies (their delivery jobs ran); the visitor has not got them.
    # (Waiting for "sent" also keeps the visitor's read receipt below from racing those
    # jobs.)
    await eventually(
        lambda: _all_in(delivery(), [A1, A2, A3], {"sent", "read"}),
        lambda: f"the replies' delivery ({seen[0]})",
    )
    # The visitor's message waits in the widget, unconfirmed; the replies have not come.
    pending = widget.locator(".msg[data-direction=inbound]:not([data-id])")
    await pending.wait_for(timeout=WAIT_MS)
    assert await pending.locator(".body").text_content() == V2
    current = await page.evaluate(MESSAGES_JS)
    assert [m[0] for m in current] == [V1, A1, V2]

    # Back online: the widget reconnects, resumes after the last message it holds and
    # re-sends the queued one with its client_id.
    proxy.restore()
    await context.set_offline(False)
    expected = [
        (V1, "inbound"),
        (A1, "outbound"),
        (A2, "outbound"),
        (A3, "outbound"),
        (V2, "inbound"),
    ]
    shown = await visitor_sees(page, expected)
    ids = [int(m[2]) for m in shown]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    await widget.locator(".banner").wait_for(state="hidden", timeout=WAIT_MS)

    # The agent's side: each message once, in the same order, with the same ids.
    items = ok(await api.get(f"/api/v1/conversations/{cid}/messages"))["items"]
    messages = [m for m in items if m["kind"] == "message"]
    assert [(m["body"], m["direction"]) for m in messages] == expected
    assert [m["id"] for m in messages] == ids

    # Nothing doubled in the widget after all that: same list once more, now settled.
    assert [m[0] for m in await page.evaluate(MESSAGES_JS)] == [b for b, _ in expected]

    # Read receipts, visitor to agent: the open, visible panel reported reading the newest
    # reply, so every reply is read.
    await eventually(
        lambda: _all_in(delivery(), [A1, A2, A3], {"read"}),
        lambda: f"the visitor's read receipt ({seen[0]}; widget calls: {calls})",
    )

    # Page views (the load, then a history navigation) and a rage click are on the contact.
    await page.evaluate("() => history.pushState({}, '', '/catalogue/shoes')")
    box = await page.locator("#target").bounding_box()
    assert box is not None
    await page.mouse.click(box["x"] + 50, box["y"] + 50, click_count=3)

    async def timeline() -> Any:
        found = ok(await api.get(f"/api/v1/contacts/{conv['contact_id']}/events"))
        views = {e["data"].get("url") for e in found if e["type"] == "contact.page_viewed"}
        rage = [e for e in found if e["type"] == "contact.rage_clicked"]
        wanted = {f"{site.origin}/", f"{site.origin}/catalogue/shoes"}
        return (views, rage) if wanted <= views and rage else None

    _, rage = await eventually(timeline, "the page views and the rage click on the timeline")
    assert rage[0]["data"]["selector"] == "div#target"

    # On a 390 px wide phone the panel fits the screen; Escape closes it, focus returns.
    await page.set_viewport_size({"width": 390, "height": 844})
    box = await panel.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    assert await composer.is_visible()
    await composer.focus()
    await page.keyboard.press("Escape")
    await panel.wait_for(state="hidden")
    assert (
        await page.evaluate(
            "() => document.querySelector('omnidesk-widget').shadowRoot.activeElement?.className"
        )
        == "launcher"
    )


async def test_signed_in_user_attachments_rating_and_history_on_another_device(
    desk: Desk, browser: Browser
) -> None:
    inbox, snippet = await desk.inbox(title="Acme help")
    user_id = "user-4711"
    signature = hmac.new(inbox["secret"].encode(), user_id.encode(), hashlib.sha256)
    user = {"id": user_id, "hash": signature.hexdigest(), "name": "Zoë Martin"}
    url = desk.site.embed("/account", snippet, {"user": user})
    errors: list[str] = []

    _, laptop = await new_page(browser, errors)
    await laptop.goto(url)
    widget = laptop.locator("omnidesk-widget")
    await widget.locator(".title", has_text="Acme help").wait_for(state="attached")
    await widget.locator(".launcher").click()
    composer = widget.locator(".composer textarea")
    await composer.fill("My order is late 📦")
    await composer.press("Enter")
    await visitor_sees(laptop, [("My order is late 📦", "inbound")])

    # The contact is the verified user: their external id, their name.
    conv = await desk.conversation(inbox["id"])
    cid = conv["id"]
    contact = ok(await desk.api.get(f"/api/v1/contacts/{conv['contact_id']}"))
    assert contact["name"] == "Zoë Martin"
    assert ("external", user_id) in {(i["kind"], i["value"]) for i in contact["identities"]}

    # Closing the chat while nobody has answered yet: the visitor left (abandonment).
    await composer.press("Escape")
    await widget.locator(".panel").wait_for(state="hidden")

    async def left() -> Any:
        found = ok(await desk.api.get(f"/api/v1/conversations/{cid}/events"))
        return [e for e in found if e["type"] == "conversation.contact_left"]

    await eventually(left, "the visitor's departure on the conversation")
    await widget.locator(".launcher").click()

    # Attachments: too large is refused before any upload; a small file goes.
    uploads: list[str] = []
    laptop.on(
        "request", lambda r: uploads.append(r.url) if r.url.endswith("/attachments") else None
    )
    chooser = widget.locator("input[type=file]")
    big = {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF" + b"0" * MAX_BYTES}
    await chooser.set_input_files(big)  # type: ignore[arg-type]
    await widget.locator(".notice", has_text="too large").wait_for()
    assert uploads == []
    content = "reçu n° 42 ✓\n".encode()
    small = {"name": "receipt.txt", "mimeType": "text/plain", "buffer": content}
    await chooser.set_input_files(small)  # type: ignore[arg-type]
    link = widget.locator(".msg[data-id] a", has_text="receipt.txt")
    await link.wait_for()
    assert len(uploads) == 1
    href = await link.get_attribute("href")
    assert href is not None
    async with httpx.AsyncClient(timeout=15) as client:
        downloaded = await client.get(href)
    assert downloaded.status_code == 200, downloaded.text
    assert downloaded.content == content

    reply = "Found it: it ships today 🚚"
    ok(await desk.api.post(f"/api/v1/conversations/{cid}/messages", json={"body": reply}), 201)
    history = [("My order is late 📦", "inbound"), ("", "inbound"), (reply, "outbound")]
    await visitor_sees(laptop, history)
    agent_side = await desk.messages(cid)
    assert [(m["body"], m["direction"]) for m in agent_side] == history
    assert [a["filename"] for a in agent_side[1]["attachments"]] == ["receipt.txt"]

    # Resolved: the widget asks for a rating, once.
    ok(await desk.api.patch(f"/api/v1/conversations/{cid}", json={"status": "resolved"}))
    csat = widget.locator(".csat")
    await csat.wait_for(state="visible")
    await csat.locator("button.rate[aria-label='4 out of 5']").click()
    await csat.locator("textarea").fill("Quick and kind 👍")
    await csat.locator("button.btn").click()
    await csat.get_by_text("Thank you").wait_for()

    async def rated() -> Any:
        found = ok(await desk.api.get(f"/api/v1/conversations/{cid}"))
        return found if found["csat_rating"] == 4 else None

    await eventually(rated, "the rating on the conversation")

    # The site signs the user out, then in again, without a page load (JavaScript API).
    await laptop.evaluate("() => window.omnidesk.identify(null)")
    assert await laptop.evaluate(MESSAGES_JS) == []
    await laptop.evaluate("(user) => window.omnidesk.identify(user)", user)
    await visitor_sees(laptop, history)
    # Signed out on a site that reloads pages: the next page names no user, and the user's
    # chat stays theirs (a shared computer).
    await laptop.goto(desk.site.embed("/signed-out", snippet))
    await widget.locator(".od[data-ready]").wait_for(state="attached")
    await widget.locator(".launcher").click()
    await widget.locator(".composer textarea").wait_for(state="visible")
    assert await laptop.evaluate(MESSAGES_JS) == []

    # The same user on a phone (another browser profile): the same history, no new rating.
    _, phone = await new_page(browser, errors)
    await phone.set_viewport_size({"width": 390, "height": 844})
    await phone.goto(url)
    on_phone = phone.locator("omnidesk-widget")
    await on_phone.locator(".launcher").click()
    await visitor_sees(phone, history)
    assert await on_phone.locator(".csat").is_hidden()
    box = await on_phone.locator(".panel").bounding_box()
    assert box is not None
    assert box["width"] <= 390

    # A forged hash gets nobody's history: the visitor chats anonymously.
    forged = desk.site.embed("/forged", snippet, {"user": {**user, "hash": "0" * 64}})
    _, other = await new_page(browser, errors)
    await other.goto(forged)
    intruder = other.locator("omnidesk-widget")
    await intruder.locator(".od[data-ready]").wait_for(state="attached")
    await intruder.locator(".launcher").click()
    await intruder.locator(".composer textarea").wait_for(state="visible")
    assert await other.evaluate(MESSAGES_JS) == []
    assert errors == [], errors


async def test_out_of_hours_visitors_leave_a_message(desk: Desk, browser: Browser) -> None:
    closed = {"name": "Never open", "timezone": "UTC"}  # no opening hours at all
    hours = ok(await desk.api.post("/api/v1/routing/business-hours", json=closed), 201)
    inbox, snippet = await desk.inbox(
        business_hours_id=hours["id"], offline_reply="We're closed: leave us a message."
    )
    errors: list[str] = []
    _, page = await new_page(browser, errors)
    await page.goto(desk.site.embed("/contact", snippet))
    widget = page.locator("omnidesk-widget")
    await widget.locator(".sub", has_text="away").wait_for(state="attached")
    await widget.locator(".launcher").click()
    form = widget.locator("form.offline")
    await form.wait_for(state="visible")
    assert await widget.locator(".composer").is_hidden()
    await form.get_by_text("We're closed: leave us a message.").wait_for()

    body = "Please call me back ☎️ — after 5 pm"
    await form.locator("textarea[name=body]").fill(body)
    await form.locator("button[type=submit]").click()  # no email yet
    await form.locator(".err", has_text="fill in").wait_for()
    await form.locator("input[name=name]").fill("Sam Doe")
    await form.locator("input[name=email]").fill("sam@example.com")
    await form.locator("button[type=submit]").click()
    await widget.locator(".thanks", has_text="sam@example.com").wait_for()
    # Its answer goes by email: no chat to continue here.
    assert await form.is_hidden()
    assert await widget.locator(".composer").is_hidden()

    conv = await desk.conversation(inbox["id"])
    assert [m["body"] for m in await desk.messages(conv["id"])] == [body]
    contact = ok(await desk.api.get(f"/api/v1/contacts/{conv['contact_id']}"))
    assert ("email", "sam@example.com") in {(i["kind"], i["value"]) for i in contact["identities"]}
    assert errors == [], errors
