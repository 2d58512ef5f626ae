"""Dry runs, macros, webhooks, and the recipes of docs/automation.md."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest

from tests.automation.rules.conftest import Desk
from tests.conftest import make_tenant, make_user

DOCS = Path(__file__).parents[3] / "docs" / "automation.md"


async def test_a_dry_run_lists_matches_and_changes_nothing(desk: Desk) -> None:
    refund = await desk.customer_writes("I want a refund", message_id="d1")
    await desk.customer_writes("Just saying hi", message_id="d2", email="bob@example.com")
    desk.clock.advance(8 * 86_400)
    recent = await desk.customer_writes("refund please", message_id="d3", email="eve@example.com")
    await desk.customer_writes("another refund", message_id="d4", email="eve@example.com")
    rule = {
        "name": "Refunds",
        "triggers": ["message.received"],
        "conditions": {"all": [{"field": "message.body", "op": "contains", "value": "refund"}]},
        "actions": [{"type": "add_tags", "tags": ["refund"]}],
    }
    before = len(await desk.events("conversation.updated"))
    result = await desk.call("POST", "/api/v1/automation/rules/dry-run", json={"rule": rule})
    # The refund of 8 days ago is out of the window; the recent one is listed once.
    assert [m["conversation_id"] for m in result["matches"]] == [recent]
    [match] = result["matches"]
    assert match["explain"] == [
        {
            "path": "conditions.all.0",
            "field": "message.body",
            "op": "contains",
            "value": "refund",
            "matched": True,
        }
    ]
    assert match["actions"] == [{"type": "add_tags", "tags": ["refund"]}]
    assert result["examined"] == 2
    assert result["truncated"] is False
    # Nothing changed, nothing was saved.
    assert (await desk.get(recent))["tags"] == []
    assert (await desk.get(refund))["tags"] == []
    assert len(await desk.events("conversation.updated")) == before
    assert await desk.call("GET", "/api/v1/automation/rules") == []
    # A saved rule, capped.
    saved = await desk.rule(**rule)
    capped = await desk.call(
        "POST", "/api/v1/automation/rules/dry-run", json={"rule_id": saved["id"], "limit": 1}
    )
    assert len(capped["matches"]) == 1
    error = await desk.call(
        "POST",
        "/api/v1/automation/rules/dry-run",
        json={"rule": rule | {"conditions": {"field": "nope", "op": "eq", "value": 1}}},
        expect=422,
    )
    assert error["field"] == "conditions.field"


async def test_macros_run_as_the_agent(desk: Desk) -> None:
    agent, agent_headers = await make_user(desk.client, desk.tenant, "agent", "Ann Agent")
    _, other_agent = await make_user(desk.client, desk.tenant, "agent", "Otto")
    shared = await desk.call(
        "POST",
        "/api/v1/automation/macros",
        json={
            "scope": "account",
            "name": "Refund done",
            "actions": [
                {"type": "add_tags", "tags": ["refunded"]},
                {"type": "send_reply", "body": "Done, {{contact.first_name}}. {{agent.name}}"},
                {"type": "set_status", "status": "resolved"},
            ],
        },
        expect=201,
    )
    conversation = await desk.customer_writes("refund?", message_id="m1")
    await desk.call(
        "PATCH", f"/api/v1/conversations/{conversation}", json={"assignee_id": agent["id"]}
    )
    applied = await desk.call(
        "POST",
        f"/api/v1/conversations/{conversation}/macros/{shared['id']}/apply",
        headers=agent_headers,
    )
    assert [d["type"] for d in applied["done"]] == ["add_tags", "send_reply", "set_status"]
    found = await desk.get(conversation)
    assert found["tags"] == ["refunded"]
    assert found["status"] == "resolved"
    messages = await desk.call("GET", f"/api/v1/conversations/{conversation}/messages")
    [reply] = [m for m in messages["items"] if m["direction"] == "outbound"]
    assert reply["body"] == "Done, Carla. Ann Agent"
    assert reply["sender_id"] == agent["id"]
    [resolved] = await desk.events("conversation.resolved")
    assert resolved.actor_user_id == agent["id"]
    # Personal macros are their owner's alone; shared ones are admins' to create.
    mine = await desk.call(
        "POST",
        "/api/v1/automation/macros",
        json={"name": "Mine", "actions": [{"type": "add_tags", "tags": ["x"]}]},
        expect=201,
        headers=agent_headers,
    )
    await desk.call(
        "GET", f"/api/v1/automation/macros/{mine['id']}", expect=404, headers=other_agent
    )
    listed = await desk.call("GET", "/api/v1/automation/macros", headers=other_agent)
    assert [m["id"] for m in listed] == [shared["id"]]
    await desk.call(
        "POST",
        "/api/v1/automation/macros",
        json={"scope": "account", "name": "x", "actions": [{"type": "add_tags", "tags": ["x"]}]},
        expect=403,
        headers=agent_headers,
    )
    error = await desk.call(
        "POST",
        "/api/v1/automation/macros",
        json={"name": "nested", "actions": [{"type": "apply_macro", "macro_id": shared["id"]}]},
        expect=422,
    )
    assert error["field"] == "actions.0.type"
    # Another account's conversation or macro is not found.
    other = await make_tenant(desk.container.db, "Globex")
    await desk.call(
        "POST",
        f"/api/v1/conversations/{conversation}/macros/{shared['id']}/apply",
        expect=404,
        headers=other.headers,
    )
    await desk.call(
        "GET", f"/api/v1/automation/macros/{shared['id']}", expect=404, headers=other.headers
    )


async def test_a_rule_applies_a_shared_macro(desk: Desk) -> None:
    macro = await desk.call(
        "POST",
        "/api/v1/automation/macros",
        json={
            "scope": "account",
            "name": "VIP",
            "actions": [
                {"type": "add_tags", "tags": ["vip"]},
                {"type": "set_priority", "priority": "high"},
            ],
        },
        expect=201,
    )
    await desk.rule(actions=[{"type": "apply_macro", "macro_id": macro["id"]}])
    conversation = await desk.customer_writes("hello", message_id="a1")
    await desk.drain()
    found = await desk.get(conversation)
    assert found["tags"] == ["vip"]
    assert found["priority"] == "high"


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append((dict(self.headers), json.loads(self.rfile.read(length))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], dict[str, Any]]]]]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    received: list[tuple[dict[str, str], dict[str, Any]]] = []
    _Receiver.received = received
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()
        server.server_close()


async def test_a_webhook_action_posts_through_the_outbox(
    desk: Desk, receiver: tuple[str, list[tuple[dict[str, str], dict[str, Any]]]]
) -> None:
    url, received = receiver
    rule = await desk.rule(actions=[{"type": "call_webhook", "url": url}])
    conversation = await desk.customer_writes("hello", message_id="w1")
    await desk.drain()
    [(headers, body)] = received
    assert body["event"] == "automation.webhook"
    assert body["conversation"]["id"] == conversation
    assert headers["Idempotency-Key"].startswith(f"rule:{rule['id']}:event:")


async def test_webhooks_to_private_addresses_are_refused_when_not_allowed(desk: Desk) -> None:
    desk.container.settings.webhooks_allow_private_addresses = False
    error = await desk.call(
        "POST",
        "/api/v1/automation/rules",
        json={
            "name": "x",
            "triggers": ["message.received"],
            "actions": [{"type": "call_webhook", "url": "http://169.254.169.254/latest"}],
        },
        expect=422,
    )
    assert error["field"] == "actions.0.url"


def _recipes() -> list[dict[str, Any]]:
    text = DOCS.read_text()
    return [json.loads(m) for m in re.findall(r"<!-- recipe -->\s*```json\n(.*?)```", text, re.S)]


async def test_the_documented_recipes_are_accepted_and_do_what_they_say(desk: Desk) -> None:
    office = await desk.call(
        "POST",
        "/api/v1/routing/business-hours",
        json={
            "name": "Office",
            "timezone": "UTC",
            "weekly": {"monday": [{"start": "09:00", "end": "17:00"}]},
        },
        expect=201,
    )
    recipes = _recipes()
    assert len(recipes) >= 7
    for recipe in recipes:
        # The recipes name "your calendar" as 1.
        wait = recipe.get("wait") or {}
        if wait.get("business_hours_id") == 1:
            wait["business_hours_id"] = office["id"]
        text = json.dumps(recipe["conditions"])
        recipe["conditions"] = json.loads(
            text.replace(
                '"within_business_hours", "value": 1',
                f'"within_business_hours", "value": {office["id"]}',
            )
        )
        await desk.rule(**recipe)
    conversation = await desk.customer_writes(
        "I was charged twice, I want a REFUND", message_id="r1"
    )
    await desk.drain()
    found = await desk.get(conversation)
    assert "billing" in found["tags"]
    assert found["priority"] == "high"
    messages = await desk.call("GET", f"/api/v1/conversations/{conversation}/messages")
    assert any(m["sender_type"] == "system" for m in messages["items"])
