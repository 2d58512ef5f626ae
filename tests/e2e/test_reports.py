"""The supervisor's Reports page (``/app/supervisor/reports``) in real Chromium, against
``omnidesk serve``.

Two customers write in and an agent takes one; the supervisor goes from the wallboard to
Reports and reads the week's figures (2 offered, 1 answered) per channel, the bar chart and
the forecast against actuals; the CSV link gives the same table. axe-core finds no serious or
critical violation. A screenshot goes to ``$E2E_SCREENSHOTS_DIR`` when set.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.support import VIEWPORT, WAIT_MS, Server, eventually, no_serious_violations, ok

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = pytest.mark.slow


async def _login(base_url: str, email: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base_url, timeout=15)
    login = ok(await client.post("/api/v1/auth/login", json={"email": email, "password": password}))
    client.headers["X-CSRF-Token"] = login["csrf_token"]
    return client


async def test_the_supervisor_reads_the_weeks_figures(
    chromium: Path, browser: Browser, database_url: str, tmp_path: Path, shots: Path
) -> None:
    server = Server(database_url, tmp_path / "data", tmp_path / "serve.log")
    try:
        await server.start()
        token = await server.admin_token("E2E Reports")
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=15, headers=headers) as api:
            users = {}
            for role in ("supervisor", "agent"):
                password = f"{role} password {uuid.uuid4().hex[:8]}"
                email = f"{role}-{uuid.uuid4().hex[:8]}@e2e.example.com"
                body = {"email": email, "name": role.title(), "role": role, "password": password}
                users[role] = (
                    ok(await api.post("/api/v1/users", json=body), 201)["id"],
                    email,
                    password,
                )
            inbox = ok(
                await api.post("/api/v1/inboxes", json={"name": "CRM", "channel_type": "api"}), 201
            )
            agent_id, agent_email, agent_password = users["agent"]
            agent = await _login(server.url, agent_email, agent_password)
            try:
                presence = f"/api/v1/routing/agents/{agent_id}/presence"
                ok(await agent.put(presence, json={"presence": "available"}))
                for who in ("Grace", "Alan"):
                    message = {"external_id": uuid.uuid4().hex, "sender": {"external_id": who}}
                    ok(
                        await api.post(
                            f"/api/v1/inboxes/{inbox['id']}/messages",
                            json={**message, "body": "Hello"},
                        ),
                        201,
                    )

                async def offers() -> list[int]:
                    found = ok(await agent.get("/api/v1/routing/offers"))
                    return [o["id"] for o in found if o["status"] == "pending"]

                [offer, *_] = await eventually(offers, "an offer to the agent")
                ok(await agent.post(f"/api/v1/routing/offers/{offer}/accept"))
            finally:
                await agent.aclose()

        _, email, password = users["supervisor"]
        context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        context.set_default_timeout(WAIT_MS)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{server.url}/app/login")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Log in").click()
        await page.wait_for_url(re.compile(r"/app/$"))
        await page.get_by_role("link", name="Wallboard").click()
        await page.get_by_role("link", name="Reports", exact=True).click()
        await page.wait_for_url(re.compile(r"/app/supervisor/reports$"))

        total = page.locator("tr.total")
        await total.locator('[data-metric="offered"]').filter(has_text="2").wait_for()
        assert (await total.locator('[data-metric="answered"]').inner_text()).strip() == "1"
        await page.get_by_role("row", name=re.compile(r"^API")).wait_for()
        await page.get_by_role("img", name="Offered per group").wait_for()
        await page.get_by_role("img", name="Forecast and actual arrivals per half hour").wait_for()

        href = await page.get_by_test_id("csv").get_attribute("href")
        assert href is not None
        download = await page.request.get(server.url + href)
        assert download.ok
        lines = list(csv.DictReader(io.StringIO(await download.text())))
        assert [(line["key"], line["offered"], line["answered"]) for line in lines] == [
            ("api", "2", "1"),
            ("total", "2", "1"),
        ]

        await no_serious_violations(page, "the reports page")
        await page.screenshot(path=str(shots / "reports.png"), full_page=True)
        assert errors == []
        await context.close()
    finally:
        await server.stop()
        print(f"--- omnidesk serve (warnings and errors) ---\n{server.tail()}")
