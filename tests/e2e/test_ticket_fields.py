"""Required-on-resolve in the agent desktop, in real Chromium against ``omnidesk serve``.

A conversation field is required before resolving. The agent opens the conversation and
presses Resolve: the server's refusal is shown on the field in the Details panel and the
conversation stays open. The agent fills the field in, saves, resolves: the API confirms.

Skips like ``test_agent_desktop.py`` without Chromium, Playwright or the built desktop
(fails under ``CI=true``); runs on SQLite or PostgreSQL (and Redis) like the rest.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from tests.e2e.support import VIEWPORT, WAIT_MS, eventually, no_serious_violations, ok
from tests.e2e.test_agent_desktop import Centre, centre, log_in

__all__ = ["centre"]

pytestmark = pytest.mark.slow

with contextlib.suppress(ImportError):  # the chromium fixture reports it missing
    from playwright.async_api import Browser


async def test_an_agent_cannot_resolve_until_the_required_field_is_filled(
    centre: Centre, browser: Browser, shots: Path
) -> None:
    api = centre.api
    ok(
        await api.post(
            "/api/v1/attribute-definitions",
            json={
                "key": "order_number",
                "label": "Order number",
                "type": "text",
                "applies_to": "conversation",
                "required_on_resolve": True,
            },
        ),
        201,
    )
    contact = ok(await api.post("/api/v1/contacts", json={"name": "Carla Customer"}), 201)
    conversation = ok(
        await api.post(
            "/api/v1/conversations",
            json={
                "contact_id": contact["id"],
                "subject": "Where is my parcel?",
                "assignee_id": centre.agent_id,
            },
        ),
        201,
    )
    cid = conversation["id"]
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        await log_in(page, centre)
        await page.goto(f"{centre.server.url}/app/conversations/{cid}")
        details = page.get_by_test_id("details")
        field = details.get_by_label("Order number")
        await field.wait_for()
        await page.get_by_role("button", name="Resolve").click()
        await details.get_by_text("Required before resolving").wait_for()
        assert await field.get_attribute("aria-invalid") == "true"
        await page.screenshot(path=str(shots / "required-on-resolve.png"))
        await no_serious_violations(page, "the Details panel with a missing field")
        got = ok(await api.get(f"/api/v1/conversations/{cid}"))
        assert got["status"] == "open"
        await field.fill("A-1234")
        await details.get_by_role("button", name="Save fields").click()
        await details.get_by_text("Saved.").wait_for()
        await page.get_by_role("button", name="Resolve").click()

        async def resolved() -> bool:
            now = ok(await api.get(f"/api/v1/conversations/{cid}"))
            return bool(
                now["status"] == "resolved" and now["custom_fields"] == {"order_number": "A-1234"}
            )

        await eventually(resolved, "the conversation resolved with its order number")
        assert await details.get_by_text("Required before resolving").count() == 0
    finally:
        await context.close()
