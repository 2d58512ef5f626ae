"""Every endpoint, called with another account's token on this account's ids: never data.

The endpoints come from the OpenAPI schema, so a new endpoint is covered the day it is
added — and the suite fails until it knows how to make the ids the endpoint takes.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from omnidesk.jobs.models import Job
from omnidesk.kit.db import Database
from omnidesk.routing.models import Offer, WorkItem
from tests.conftest import Tenant, make_user

#: A string put in every name of the victim account's rows; it must never reach the attacker.
MARKER = "victim" + uuid.uuid4().hex[:10]

#: Minimal valid bodies, so that a request reaches the handler instead of stopping at 422.
BODIES: dict[str, Any] = {
    "PATCH /api/v1/users/{user_id}": {"name": "x"},
    "PATCH /api/v1/teams/{team_id}": {"name": "x"},
    "PATCH /api/v1/inboxes/{inbox_id}": {"name": "x"},
    "POST /api/v1/inboxes/{inbox_id}/messages": {
        "external_id": "attack-1",
        "sender": {"email": "mallory@example.com"},
        "body": "hi",
    },
    "POST /api/v1/inboxes/{inbox_id}/contact-left": {"sender": {"email": "mallory@example.com"}},
    "PATCH /api/v1/contacts/{contact_id}": {"name": "x"},
    "POST /api/v1/contacts/{contact_id}/identities": {"kind": "email", "value": "m@example.com"},
    "POST /api/v1/contacts/{contact_id}/merge": {"contact_id": "{other_contact_id}"},
    "PATCH /api/v1/companies/{company_id}": {"name": "x"},
    "PATCH /api/v1/attribute-definitions/{definition_id}": {"label": "x"},
    "PATCH /api/v1/conversations/{conversation_id}": {"status": "resolved"},
    "POST /api/v1/conversations/{conversation_id}/messages": {"body": "x", "private": True},
    "POST /api/v1/routing/offers/{offer_id}/decline": {"reason": "x"},
    "PATCH /api/v1/routing/business-hours/{business_hours_id}": {"name": "x"},
    "PATCH /api/v1/routing/skills/{skill_id}": {"name": "x"},
    "PATCH /api/v1/routing/profiles/{profile_id}": {"name": "x"},
    "PATCH /api/v1/routing/queues/{queue_id}": {"name": "x"},
    "PATCH /api/v1/routing/rules/{rule_id}": {"name": "x"},
    "PUT /api/v1/routing/agents/{user_id}/presence": {"presence": "away"},
    "PUT /api/v1/routing/agents/{user_id}/profile": {"profile_id": None},
    "PUT /api/v1/routing/agents/{user_id}/skills": {"skills": []},
    "POST /api/v1/conversations/{conversation_id}/typing": {"typing": True},
    "POST /api/v1/conversations/{conversation_id}/read": {"message_id": 1},
    "PATCH /api/v1/canned-responses/{canned_response_id}": {"title": "x"},
    "POST /api/v1/conversations/{conversation_id}/viewing": {"viewing": True},
    "PATCH /api/v1/sla/policies/{policy_id}": {"name": "x"},
    "PATCH /api/v1/ticket-forms/{form_id}": {"name": "x"},
    "POST /api/v1/conversations/{conversation_id}/ticket-form": {"form_id": "{form_id}"},
    "PATCH /api/v1/category-rules/{category_rule_id}": {"name": "x"},
    "PATCH /api/v1/automation/rules/{rule_id}": {"name": "x"},
    "PATCH /api/v1/automation/macros/{macro_id}": {"name": "x"},
    "POST /api/v1/conversations/{conversation_id}/templates": {"name": "x", "language": "en"},
    "POST /api/v1/conversations/{conversation_id}/templates/preview": {
        "name": "x",
        "language": "en",
    },
}

#: Where one path parameter name means another kind of row: the automation rule, not the
#: routing rule, behind ``{rule_id}`` under /automation.
PATH_IDS: dict[str, dict[str, str]] = {
    "/api/v1/automation/rules/": {"rule_id": "automation_rule_id"},
}


#: Reports need a period: one around now, when the victim's rows were made.
REPORT_PERIOD = {
    "from": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
    "to": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
}


async def _victim_world(client: httpx.AsyncClient, db: Database, victim: Tenant) -> dict[str, Any]:
    h = victim.headers

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(path, json=body, headers=h)
        assert response.status_code in (200, 201), (path, response.text)
        return dict(response.json())

    agent, _ = await make_user(client, victim, "agent", name=f"{MARKER} agent")
    team = await post("/api/v1/teams", {"name": f"{MARKER} team", "member_ids": [agent["id"]]})
    token = await post("/api/v1/api-tokens", {"name": f"{MARKER} token"})
    inbox = await post("/api/v1/inboxes", {"name": f"{MARKER} inbox", "channel_type": "api"})
    webchat = await post("/api/v1/inboxes", {"name": f"{MARKER} chat", "channel_type": "webchat"})
    company = await post("/api/v1/companies", {"name": f"{MARKER} company"})
    contact = await post(
        "/api/v1/contacts",
        {
            "name": f"{MARKER} contact",
            "company_id": company["id"],
            "identities": [{"kind": "email", "value": f"{MARKER}@example.com"}],
        },
    )
    other_contact = await post("/api/v1/contacts", {"name": f"{MARKER} second"})
    merged = await post("/api/v1/contacts", {"name": f"{MARKER} merged"})
    merge = await post(f"/api/v1/contacts/{contact['id']}/merge", {"contact_id": merged["id"]})
    definition = await post(
        "/api/v1/attribute-definitions",
        {
            "key": "plan",
            "label": f"{MARKER} plan",
            "type": "text",
        },
    )
    conversation = await post(
        "/api/v1/conversations",
        {
            "contact_id": contact["id"],
            "inbox_id": inbox["id"],
            "subject": f"{MARKER} subject",
            "assignee_id": agent["id"],
            "team_id": team["id"],
        },
    )
    await post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        {"body": f"{MARKER} note", "private": True},
    )
    canned = await post(
        "/api/v1/canned-responses",
        {"scope": "account", "shortcut": "hi", "title": f"{MARKER} hi", "body": f"{MARKER} hi"},
    )
    upload = await client.post(
        "/api/v1/attachments",
        files={"file": (f"{MARKER}.txt", MARKER.encode(), "text/plain")},
        headers=h,
    )
    assert upload.status_code == 201, upload.text
    now = datetime.now(UTC)
    async with db.transaction() as session:
        job = Job(
            account_id=victim.account_id,
            kind="channel.deliver",
            payload={"marker": MARKER},
            idempotency_key=f"{MARKER}-job",
            status="dead",
            attempts=8,
            due_at=now,
            last_error=MARKER,
            created_at=now,
        )
        session.add(job)
        await session.flush()
        job_id = job.id
    contact_identities = (await client.get(f"/api/v1/contacts/{contact['id']}", headers=h)).json()
    routing = await _victim_routing(client, victim, agent["id"], inbox["id"])
    policy = await post(
        "/api/v1/sla/policies",
        {
            "name": f"{MARKER} SLA",
            "business_hours_id": routing["business_hours_id"],
            "conditions": {"inbox_ids": [inbox["id"]]},
            "targets": {"normal": {"first_response_s": 3600}},
        },
    )
    form = await post("/api/v1/ticket-forms", {"name": f"{MARKER} form", "tags": ["secret"]})
    category_rule = await post(
        "/api/v1/category-rules", {"name": f"{MARKER} rule", "keywords": [MARKER], "tag": "x"}
    )
    async with db.transaction() as session:
        item = WorkItem(
            account_id=victim.account_id,
            conversation_id=conversation["id"],
            contact_id=contact["id"],
            channel="api",
            queue_id=routing["queue_id"],
            priority=1,
            extra_skills=[],
            status="offered",
            agent_id=agent["id"],
            transfer_count=0,
            enqueued_at=now,
        )
        session.add(item)
        await session.flush()
        offer = Offer(
            account_id=victim.account_id,
            work_item_id=item.id,
            agent_id=agent["id"],
            status="pending",
            reason=MARKER,
            created_at=now,
            expires_at=now + timedelta(hours=1),
        )
        session.add(offer)
        await session.flush()
        offer_id = offer.id
    return {
        "offer_id": offer_id,
        **routing,
        "user_id": agent["id"],
        "team_id": team["id"],
        "token_id": token["id"],
        "inbox_id": inbox["id"],
        # Provider webhooks name the inbox's channel type beside its id.
        "channel_type": "api",
        "company_id": company["id"],
        "contact_id": contact["id"],
        "other_contact_id": other_contact["id"],
        "merge_id": merge["id"],
        "definition_id": definition["id"],
        "conversation_id": conversation["id"],
        "canned_response_id": canned["id"],
        "policy_id": policy["id"],
        "form_id": form["id"],
        "category_rule_id": category_rule["id"],
        "attachment_id": upload.json()["id"],
        "job_id": job_id,
        "identity_id": contact_identities["identities"][0]["id"],
        "key": webchat["config"]["widget_key"],
    }


async def _victim_routing(
    client: httpx.AsyncClient, victim: Tenant, agent_id: int, inbox_id: int
) -> dict[str, int]:
    """The victim's routing set-up: a calendar, a skill held by its agent, a profile, a
    queue using them, a rule sending work there, an away reason and the agent's presence."""
    h = victim.headers

    async def send(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.request(method, path, json=body, headers=h)
        assert response.status_code in (200, 201), (path, response.text)
        return dict(response.json())

    api = "/api/v1/routing"
    hours = await send(
        "POST",
        f"{api}/business-hours",
        {
            "name": f"{MARKER} hours",
            "timezone": "Europe/London",
            "weekly": {"monday": [{"start": "09:00", "end": "17:00"}]},
            "holidays": [{"name": f"{MARKER} holiday", "start": "2026-12-25"}],
        },
    )
    skill = await send("POST", f"{api}/skills", {"name": f"{MARKER} skill"})
    profile = await send("POST", f"{api}/profiles", {"name": f"{MARKER} profile"})
    queue = await send(
        "POST",
        f"{api}/queues",
        {
            "name": f"{MARKER} queue",
            "business_hours_id": hours["id"],
            "out_of_hours_action": "auto_reply",
            "out_of_hours_message": f"{MARKER} back at {{next_open}}",
            "required_skills": [{"skill_id": skill["id"], "min_level": 3}],
        },
    )
    rule = await send(
        "POST",
        f"{api}/rules",
        {
            "name": f"{MARKER} rule",
            "conditions": {"inbox_ids": [inbox_id], "tags_any": ["vip"]},
            "queue_id": queue["id"],
            "priority": "high",
        },
    )
    reason = await send("POST", f"{api}/away-reasons", {"name": f"{MARKER} lunch"})
    await send(
        "PUT",
        f"{api}/agents/{agent_id}/skills",
        {"skills": [{"skill_id": skill["id"], "level": 5}]},
    )
    await send("PUT", f"{api}/agents/{agent_id}/profile", {"profile_id": profile["id"]})
    await send(
        "PUT", f"{api}/agents/{agent_id}/presence", {"presence": "away", "reason_id": reason["id"]}
    )
    automation_rule = await send(
        "POST",
        "/api/v1/automation/rules",
        {
            "name": f"{MARKER} automation",
            "triggers": ["conversation.created"],
            "actions": [{"type": "add_tags", "tags": ["vip"]}],
        },
    )
    macro = await send(
        "POST",
        "/api/v1/automation/macros",
        {
            "scope": "account",
            "name": f"{MARKER} macro",
            "actions": [{"type": "add_tags", "tags": ["vip"]}],
        },
    )
    return {
        "automation_rule_id": automation_rule["id"],
        "macro_id": macro["id"],
        "business_hours_id": hours["id"],
        "skill_id": skill["id"],
        "profile_id": profile["id"],
        "queue_id": queue["id"],
        "rule_id": rule["id"],
        "reason_id": reason["id"],
    }


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\{(\w+)\}", value):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _operations(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if method in ("get", "post", "patch", "put", "delete")
    ]


async def test_another_accounts_ids_never_answer_with_data(
    app: FastAPI, client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    ids = await _victim_world(client, db, tenant)
    checked = 0
    for method, path in _operations(app):
        params = re.findall(r"\{(\w+)\}", path)
        if not params:
            continue
        missing = [p for p in params if p not in ids]
        assert not missing, f"{method} {path}: teach this suite to make {missing}"
        named = next((v for k, v in PATH_IDS.items() if path.startswith(k)), {})
        url = path.format(**{**ids, **{param: ids[kind] for param, kind in named.items()}})
        body = _fill(BODIES.get(f"{method} {path}"), ids)
        response = await client.request(method, url, json=body, headers=other_tenant.headers)
        if path.startswith("/widget/"):
            # The web chat's visitor protocol is public, found by the widget key and
            # authenticated by visitor tokens (tests/channels/webchat): an account's token
            # opens nothing there, and only a session (the widget's settings) answers.
            assert path.endswith("/session") or response.status_code in (401, 422), (
                method,
                path,
                response.status_code,
            )
            assert MARKER not in response.text
            continue
        if path.startswith("/api/v1/webhooks/"):
            # Providers' webhooks are public and signed by the provider (tests/channels): an
            # account's token proves nothing there; the unsigned call is refused, or has no
            # handshake to answer.
            assert response.status_code in (403, 405), (method, path, response.status_code)
            assert MARKER not in response.text
            continue
        assert response.status_code in (403, 404), (
            method,
            path,
            response.status_code,
            response.text,
        )
        assert set(response.json()) >= {"code", "message", "field"}
        assert MARKER not in response.text
        checked += 1
    assert checked >= 20


async def test_lists_never_show_another_accounts_rows(
    app: FastAPI, client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _victim_world(client, db, tenant)
    listed = 0
    for method, path in _operations(app):
        if method != "GET" or "{" in path:
            continue
        params = REPORT_PERIOD if path.startswith("/api/v1/reports/") else None
        response = await client.get(path, params=params, headers=other_tenant.headers)
        assert response.status_code == 200, (path, response.text)
        assert MARKER not in response.text, path
        listed += 1
    assert listed >= 8
    # The victim sees its own rows through the same lists (the marker check is not vacuous).
    mine = await client.get("/api/v1/conversations", headers=tenant.headers)
    assert MARKER in json.dumps(mine.json())


@pytest.mark.parametrize("path", ["/api/v1/account", "/api/v1/users", "/api/v1/conversations"])
async def test_revoked_or_unknown_tokens_get_nothing(
    client: httpx.AsyncClient, tenant: Tenant, path: str
) -> None:
    response = await client.get(path, headers={"Authorization": "Bearer odk_forged"})
    assert response.status_code == 401
