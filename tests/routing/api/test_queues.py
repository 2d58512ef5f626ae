"""Queues through the API: defaults, validation, warnings, references."""

from __future__ import annotations

from typing import Any

import httpx

from omnidesk.kit.db import Database
from tests.conftest import Tenant, make_user
from tests.routing.api.conftest import API, events_of, ok, refused


async def _post(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"{API}/queues", json=body, headers=tenant.headers)


async def test_the_default_queue_is_created_on_first_need_and_stays_unique(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    h = tenant.headers
    queues = ok(await client.get(f"{API}/queues", headers=h))
    assert [(q["name"], q["is_default"], q["warnings"]) for q in queues] == [("General", True, [])]
    general = queues[0]
    assert ok(await client.get(f"{API}/queues", headers=h)) == queues  # not created twice
    sales = ok(await _post(client, tenant, {"name": "Sales", "is_default": True}), 201)
    assert sales["is_default"] is True
    assert ok(await client.get(f"{API}/queues/{general['id']}", headers=h))["is_default"] is False
    refused(
        await client.patch(f"{API}/queues/{sales['id']}", json={"is_default": False}, headers=h),
        422,
        "is_default",
    )
    refused(await client.delete(f"{API}/queues/{sales['id']}", headers=h), 409)
    ok(await client.patch(f"{API}/queues/{general['id']}", json={"is_default": True}, headers=h))
    defaults = [
        q["name"] for q in ok(await client.get(f"{API}/queues", headers=h)) if q["is_default"]
    ]
    assert defaults == ["General"]
    ok(await client.delete(f"{API}/queues/{sales['id']}", headers=h), 204)
    types = [e.type for e in await events_of(db, tenant.account_id, "routing.queue")]
    assert types == [
        "routing.queue.created",
        "routing.queue.created",
        "routing.queue.updated",
        "routing.queue.deleted",
    ]


async def test_an_account_always_has_a_default_queue_and_a_new_one_is_it_only_if_asked(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Made with the first queue, like the router makes it when work arrives first: the two
    # cannot race into two defaults or a refused queue.
    first = ok(await _post(client, tenant, {"name": "Support"}), 201)
    second = ok(await _post(client, tenant, {"name": "Sales", "is_default": True}), 201)
    assert (first["is_default"], second["is_default"]) == (False, True)
    listed = ok(await client.get(f"{API}/queues", headers=tenant.headers))
    assert [(q["name"], q["is_default"]) for q in listed] == [
        ("General", False),
        ("Support", False),
        ("Sales", True),
    ]


async def test_a_queue_nobody_can_serve_says_so(client: httpx.AsyncClient, tenant: Tenant) -> None:
    h = tenant.headers
    french = ok(await client.post(f"{API}/skills", json={"name": "French"}, headers=h), 201)
    body = {"name": "French VIP", "required_skills": [{"skill_id": french["id"], "min_level": 7}]}
    queue = ok(await _post(client, tenant, body), 201)
    assert [w["code"] for w in queue["warnings"]] == ["no_eligible_agents"]
    user, _ = await make_user(client, tenant, "agent")
    skills_url = f"{API}/agents/{user['id']}/skills"
    ok(
        await client.put(
            skills_url, json={"skills": [{"skill_id": french["id"], "level": 6}]}, headers=h
        )
    )
    assert ok(await client.get(f"{API}/queues/{queue['id']}", headers=h))["warnings"] != []
    ok(
        await client.put(
            skills_url, json={"skills": [{"skill_id": french["id"], "level": 7}]}, headers=h
        )
    )
    assert ok(await client.get(f"{API}/queues/{queue['id']}", headers=h))["warnings"] == []
    # The skill cannot go while the queue requires it.
    refused(await client.delete(f"{API}/skills/{french['id']}", headers=h), 409)


async def test_queue_settings_are_validated(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    h = tenant.headers
    theirs = ok(await _post(client, other_tenant, {"name": "Theirs"}), 201)
    their_hours = ok(
        await client.post(
            f"{API}/business-hours",
            json={"name": "Theirs", "timezone": "UTC"},
            headers=other_tenant.headers,
        ),
        201,
    )
    support = ok(await _post(client, tenant, {"name": "Support"}), 201)

    async def bad(body: dict[str, Any], status: int, field: str | None) -> None:
        refused(await _post(client, tenant, {"name": "Bad", **body}), status, field)

    await bad({"business_hours_id": their_hours["id"]}, 404, "business_hours_id")
    await bad({"required_skills": [{"skill_id": 987654, "min_level": 1}]}, 404, "required_skills")
    await bad(
        {"required_skills": [{"skill_id": 1, "min_level": 11}]}, 422, "required_skills.0.min_level"
    )
    await bad({"selection_policy": "random"}, 422, "selection_policy")
    await bad({"out_of_hours_action": "shrug"}, 422, "out_of_hours_action")
    await bad({"offer_timeout_s": 0}, 422, "offer_timeout_s")
    await bad({"max_missed_offers": -1}, 422, "max_missed_offers")
    await bad({"overflow_steps": [{"after_s": 60}, {"after_s": 60}]}, 422, "overflow_steps")
    await bad(
        {"overflow_steps": [{"after_s": 60, "add_queue_ids": [theirs["id"]]}]},
        404,
        "overflow_steps.0.add_queue_ids",
    )
    await bad(
        {"overflow_steps": [{"after_s": 60, "relax_levels": 10}]},
        422,
        "overflow_steps.0.relax_levels",
    )
    await bad(
        {"out_of_hours_action": "auto_reply", "out_of_hours_message": "Back at {when}"},
        422,
        "out_of_hours_message",
    )
    await bad(
        {"out_of_hours_action": "close", "out_of_hours_message": "Closed {"},
        422,
        "out_of_hours_message",
    )
    await bad(
        {"out_of_hours_action": "auto_reply", "out_of_hours_message": "{next_open.__class__}"},
        422,
        "out_of_hours_message",
    )
    refused(
        await client.patch(
            f"{API}/queues/{support['id']}",
            json={"overflow_steps": [{"after_s": 30, "add_queue_ids": [support["id"]]}]},
            headers=h,
        ),
        422,
        "overflow_steps.0.add_queue_ids",
    )
    refused(await _post(client, tenant, {"name": "Support"}), 409, "name")


async def test_a_full_queue_round_trips(client: httpx.AsyncClient, tenant: Tenant) -> None:
    h = tenant.headers
    skill = ok(await client.post(f"{API}/skills", json={"name": "Voice"}, headers=h), 201)
    hours = ok(
        await client.post(
            f"{API}/business-hours", json={"name": "24/5", "timezone": "UTC"}, headers=h
        ),
        201,
    )
    ok(await client.get(f"{API}/queues", headers=h))  # the default queue, made on first need
    other = ok(await _post(client, tenant, {"name": "Backup"}), 201)
    body = {
        "name": "Phones <b>",
        "priority_bonus": 5,
        "business_hours_id": hours["id"],
        "out_of_hours_action": "auto_reply",
        "required_skills": [{"skill_id": skill["id"], "min_level": 4}],
        "selection_policy": "highest_skill",
        "offer_timeout_s": 20,
        "wrap_up_s": 30,
        "max_missed_offers": 2,
        "sticky_days": 7,
        "sticky_window_s": 60,
        "overflow_steps": [
            {"after_s": 60, "relax_levels": 2},
            {
                "after_s": 300,
                "drop_skills": True,
                "add_queue_ids": [other["id"]],
                "raise_priority_by": 10,
            },
        ],
    }
    queue = ok(await _post(client, tenant, body), 201)
    for key, value in body.items():
        if key != "overflow_steps":
            assert queue[key] == value, key
    assert queue["overflow_steps"][1] == {**body["overflow_steps"][1], "relax_levels": 0}
    assert queue["overflow_steps"][0] == {
        "after_s": 60,
        "relax_levels": 2,
        "drop_skills": False,
        "add_queue_ids": [],
        "raise_priority_by": 0,
    }
    # An auto-reply without a message gets one that says when the answer comes.
    assert "{next_open}" in queue["out_of_hours_message"]
    # Another queue's overflow names "Backup": it cannot be deleted.
    body_409 = refused(await client.delete(f"{API}/queues/{other['id']}", headers=h), 409)
    assert "Phones" in body_409["message"]
    # PATCH keeps what it does not name; null business hours means always open.
    changed = ok(
        await client.patch(
            f"{API}/queues/{queue['id']}",
            json={"business_hours_id": None, "wrap_up_s": 0},
            headers=h,
        )
    )
    assert (changed["business_hours_id"], changed["wrap_up_s"], changed["sticky_days"]) == (
        None,
        0,
        7,
    )
    _, agent = await make_user(client, tenant, "agent")
    assert (
        ok(await client.get(f"{API}/queues/{queue['id']}", headers=agent))["name"] == "Phones <b>"
    )
    refused(
        await client.patch(f"{API}/queues/{queue['id']}", json={"name": "x"}, headers=agent), 403
    )
    refused(await client.delete(f"{API}/queues/{queue['id']}", headers=agent), 403)


async def test_patching_overflow_steps_stores_their_defaults(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Regression: a PATCH dumped only the fields each step named.
    h = tenant.headers
    queue = ok(await _post(client, tenant, {"name": "Support"}), 201)
    url = f"{API}/queues/{queue['id']}"
    changed = ok(await client.patch(url, json={"overflow_steps": [{"after_s": 5}]}, headers=h))
    assert changed["overflow_steps"] == [
        {
            "after_s": 5,
            "relax_levels": 0,
            "drop_skills": False,
            "add_queue_ids": [],
            "raise_priority_by": 0,
        }
    ]
    assert ok(await client.get(url, headers=h))["overflow_steps"] == changed["overflow_steps"]
