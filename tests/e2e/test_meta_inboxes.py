"""A Facebook Messenger inbox made in the admin console, in real Chromium against a real
``omnidesk serve`` whose Graph API is the loopback fake of ``tests/channels/messenger``.

The admin fills the Page id, Page token and app secret; the console shows the webhook URL
and, once, the generated verify token; the connection test reads the Page through the fake.
axe-core finds no serious or critical violation in the form. Skips like the other browser
tests (and fails under ``CI=true``) without Chromium, Playwright or the built desktop.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.channels.messenger.graph_fake import TOKEN, GraphFake
from tests.channels.messenger.support import APP_SECRET, PAGE_ID
from tests.e2e.support import VIEWPORT, WAIT_MS, Server, no_serious_violations, ok

pytestmark = pytest.mark.slow

if TYPE_CHECKING:
    from playwright.async_api import Browser


@pytest.fixture
async def served(
    chromium: Path, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Server, GraphFake]]:
    graph = await GraphFake(objects={PAGE_ID: {"id": PAGE_ID, "name": "Acme Support"}}).start()
    server = Server(
        database_url, tmp_path / "data", tmp_path / "serve.log", OMNIDESK_META_GRAPH_URL=graph.url
    )
    try:
        await server.start()
        yield server, graph
    finally:
        await server.stop()
        await graph.stop()
        print(f"--- omnidesk serve (warnings and errors) ---\n{server.tail()}")


async def test_an_admin_connects_a_facebook_page(
    served: tuple[Server, GraphFake], browser: Browser
) -> None:
    server, _ = served
    admin = await server.admin("Meta E2E")
    errors: list[str] = []
    context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    await page.goto(f"{server.url}/app/login")
    await page.get_by_label("Email").fill(admin.email)
    await page.get_by_label("Password").fill(admin.password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r"/app/$"))
    await page.goto(f"{server.url}/app/admin")
    await page.get_by_role("heading", name="Inboxes", exact=True).wait_for()

    await page.get_by_role("button", name="New inbox").click()
    await page.get_by_label("Name", exact=True).fill("Facebook")
    await page.get_by_label("Channel").select_option("messenger")
    await page.get_by_label("Facebook Page id").fill(PAGE_ID)
    await page.get_by_label("Page access token").fill(TOKEN)
    await page.get_by_label("App secret").fill(APP_SECRET)
    await no_serious_violations(page, "the Messenger inbox form")
    await page.get_by_role("button", name="Create inbox").click()
    await page.get_by_role("heading", name="Edit Facebook", exact=True).wait_for()

    token = page.get_by_role("region", name="Webhook verify token").get_by_test_id("secret")
    assert (await token.inner_text()).startswith("vt_")
    webhook = page.locator("code", has_text="/api/v1/webhooks/messenger/")
    assert re.search(r"/api/v1/webhooks/messenger/\d+$", await webhook.inner_text())
    await page.get_by_role("button", name="Test connection").click()
    tested = page.get_by_role("list", name="Connection test")
    await tested.get_by_text(f"Acme Support ({PAGE_ID})").wait_for()

    headers = {"Authorization": f"Bearer {admin.token}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=15, headers=headers) as api:
        [inbox] = ok(await api.get("/api/v1/inboxes"))
    assert (inbox["channel_type"], inbox["config"]["page_id"]) == ("messenger", PAGE_ID)
    assert inbox["secret_keys"] == ["app_secret", "page_access_token", "verify_token"]
    assert errors == []
    await context.close()
