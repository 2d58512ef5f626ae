"""The conversation view of the agent desktop in real Chromium, against ``omnidesk serve``
with its SMTP listener and an SMTP sink for what it sends.

A customer mails support with Dan in copy. The agent opens the conversation: To and Cc are
prefilled (Dan copied, our own address not), the agent adds Eve, writes with bold text,
inserts a canned response with ``/`` and the keyboard, and sends with Ctrl+Enter; the sink
gets the mail with the Cc and the HTML part. Then a note that mentions a colleague with
``@``, a file attached to a note, and a snooze of one hour; the API confirms each. axe-core
finds no serious or critical violation on the view with the email composer.

Skips like ``test_agent_desktop.py`` without Chromium, Playwright or the built desktop
(fails under ``CI=true``); runs on SQLite or PostgreSQL (and Redis) like the rest.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.channels.email.conftest import SmtpSink, mail, smtp_send
from tests.e2e.support import (
    VIEWPORT,
    WAIT_MS,
    Server,
    eventually,
    free_port,
    no_serious_violations,
    ok,
)
from tests.e2e.test_agent_desktop import Centre, log_in

pytestmark = pytest.mark.slow

with contextlib.suppress(ImportError):  # the chromium fixture reports it missing
    from playwright.async_api import Browser, Page

INBOUND_DOMAIN = "in.e2e.example.com"


@dataclass
class Mailroom:
    centre: Centre
    sink: SmtpSink
    listener_port: int
    bob_id: int


@pytest.fixture
async def mailroom(
    chromium: Path,
    database_url: str,
    tmp_path: Path,
) -> AsyncIterator[Mailroom]:
    sink = await SmtpSink().start()
    listener_port = free_port()
    server = Server(
        database_url,
        tmp_path / "data",
        tmp_path / "serve.log",
        OMNIDESK_EMAIL__SMTP_PORT=str(listener_port),
        OMNIDESK_EMAIL__INBOUND_DOMAIN=INBOUND_DOMAIN,
        OMNIDESK_EMAIL__IMAP_ENABLED="false",
    )
    try:
        await server.start()
        token = await server.admin_token("E2E Mail")
        async with httpx.AsyncClient(
            base_url=server.url, timeout=15, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            password = "agent password " + uuid.uuid4().hex[:8]
            email = f"ada-{uuid.uuid4().hex[:8]}@e2e.example.com"
            users = [
                ok(
                    await api.post(
                        "/api/v1/users",
                        json={
                            "email": address,
                            "name": name,
                            "role": "agent",
                            "password": password,
                        },
                    ),
                    201,
                )
                for name, address in (
                    ("Ada Agent", email),
                    ("Bob Builder", f"bob-{uuid.uuid4().hex[:8]}@e2e.example.com"),
                )
            ]
            centre = Centre(server, api, None, users[0]["id"], email, password)  # type: ignore[arg-type]
            yield Mailroom(centre, sink, listener_port, users[1]["id"])
    finally:
        await server.stop()
        await sink.stop()
        print(f"--- omnidesk serve (warnings and errors) ---\n{server.tail()}")


async def _customer_mails(room: Mailroom) -> dict[str, Any]:
    api = room.centre.api
    inbox = ok(
        await api.post(
            "/api/v1/inboxes",
            json={
                "name": "Support",
                "channel_type": "email",
                "config": {
                    "address": "support@acme.example.com",
                    "display_name": "Acme Support",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": room.sink.port,
                    "smtp_security": "none",
                },
            },
        ),
        201,
    )
    await smtp_send(
        room.listener_port,
        "carla@customer.example.com",
        [inbox["forwarding_address"]],
        mail(
            subject="Broken kettle",
            to="Acme <support@acme.example.com>",
            extra="Cc: Dan <dan@customer.example.com>\r\n",
            body="My kettle broke after a week.",
        ),
    )

    async def arrived() -> Any:
        page = ok(await api.get("/api/v1/conversations", params={"inbox_id": inbox["id"]}))
        return page["items"][0] if page["items"] else None

    conversation: dict[str, Any] = await eventually(arrived, "the customer's mail")
    return conversation


async def test_agent_replies_by_email_notes_attaches_and_snoozes(
    mailroom: Mailroom,
    browser: Browser,
) -> None:
    room, api = mailroom, mailroom.centre.api
    conversation = await _customer_mails(room)
    cid = conversation["id"]
    ok(
        await api.post(
            "/api/v1/canned-responses",
            json={
                "scope": "account",
                "shortcut": "sorry",
                "title": "Apology",
                "body": "We are sorry, {{contact.first_name}}.",
            },
        ),
        201,
    )

    context = await browser.new_context(viewport=VIEWPORT)
    page: Page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await log_in(page, room.centre)
    await page.goto(f"{room.centre.server.url}/app/conversations/{cid}")

    # The email composer, loaded on demand, prefilled as the server would address it (To
    # from the contact and Cc from the messages: two requests, either may answer first).
    to, cc = page.get_by_label("To", exact=True), page.get_by_label("Cc", exact=True)
    await to.wait_for()
    await page.wait_for_function(
        "document.querySelector('#email-to').value !== ''"
        " && document.querySelector('#email-cc').value.includes('dan@customer.example.com')"
    )
    assert await to.input_value() == "carla@customer.example.com"
    assert await cc.input_value() == "dan@customer.example.com"
    assert await page.get_by_label("Subject", exact=True).input_value() == "Re: Broken kettle"
    await no_serious_violations(page, "the conversation view with the email composer")

    await cc.fill("dan@customer.example.com, eve@partner.example.com")
    editor = page.get_by_role("textbox", name="Email reply")
    await editor.click()
    await page.get_by_role("button", name="Bold").click()
    await page.keyboard.type("A new kettle ships today.")
    await page.get_by_role("button", name="Bold").click()
    await page.keyboard.press("Enter")
    await page.keyboard.type("/sor")
    picker = page.get_by_role("listbox", name="Canned responses")
    await picker.get_by_role("option").filter(has_text="/sorry").wait_for()
    await page.keyboard.press("Enter")
    await page.get_by_text("We are sorry, Carla.").wait_for()
    await page.keyboard.press("Control+Enter")

    await eventually(lambda: _async(room.sink.mails), "the reply at the SMTP sink")
    reply = room.sink.mails[0].message()
    assert [a for _, a in getaddresses([reply["To"]])] == ["carla@customer.example.com"]
    assert [a for _, a in getaddresses([reply["Cc"]])] == [
        "dan@customer.example.com",
        "eve@partner.example.com",
    ]
    html = reply.get_body(preferencelist=("html",))
    text = reply.get_body(preferencelist=("plain",))
    assert html is not None
    assert text is not None
    assert re.search(r"<b>A new kettle ships today\.</b>", html.get_content()), html.get_content()
    assert "We are sorry, Carla." in text.get_content()
    assert reply["Subject"] == "Re: Broken kettle"

    # An internal note mentioning Bob, with a file attached.
    await page.get_by_label("Internal note").check()
    note = page.get_by_role("textbox", name="Internal note")
    await note.fill("")
    await note.press_sequentially("@Bo")
    await page.get_by_role("option", name="Bob Builder").wait_for()
    await note.press("Enter")
    await note.press_sequentially("please check the receipt")
    await page.locator("input[type=file]").set_input_files(
        {"name": "receipt.txt", "mimeType": "text/plain", "buffer": b"Kettle 39.90 EUR"}
    )
    await page.get_by_role("list", name="Attachments").get_by_text("receipt.txt").wait_for()
    add = page.get_by_role("button", name="Add note")
    await add.wait_for()
    await page.wait_for_function("!document.querySelector('.composer progress')")
    await add.click()
    await page.get_by_role("link", name="receipt.txt").wait_for()

    async def the_note() -> Any:
        messages = ok(await api.get(f"/api/v1/conversations/{cid}/messages"))["items"]
        return next((m for m in messages if m["kind"] == "note"), None)

    stored = await eventually(the_note, "the note")
    assert stored["body"] == "@Bob Builder please check the receipt"
    assert stored["meta"]["mentions"] == [room.bob_id]
    assert [a["filename"] for a in stored["attachments"]] == ["receipt.txt"]

    # Snoozed for an hour from the actions bar.
    await page.get_by_role("button", name="Snooze…").click()
    await page.get_by_role("button", name="In 1 hour").click()
    await page.get_by_test_id("status").filter(has_text="snoozed").wait_for()
    snoozed = ok(await api.get(f"/api/v1/conversations/{cid}"))
    assert snoozed["status"] == "snoozed"
    assert snoozed["snoozed_until"] is not None
    await context.close()
    assert errors == [], errors


async def _async(value: Any) -> Any:
    return value
