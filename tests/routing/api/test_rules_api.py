"""Routing rules through the API: order, references, the dry run."""

from __future__ import annotations

from typing import Any

import httpx

from omnidesk.kit.db import Database
from tests.conftest import Tenant, make_user
from tests.routing.api.conftest import API, events_of, ok, refused


async def test_rules_route_a_dry_run_and_keep_their_order(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    h = tenant.headers
    inbox = ok(
        await client.post(
            "/api/v1/inboxes", json={"name": "Shop", "channel_type": "api"}, headers=h
        ),
        201,
    )
    skill = ok(await client.post(f"{API}/skills", json={"name": "French"}, headers=h), 201)
    vip = ok(await client.post(f"{API}/queues", json={"name": "VIP"}, headers=h), 201)
    french = ok(await client.post(f"{API}/queues", json={"name": "French"}, headers=h), 201)

    async def rule(body: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = ok(await client.post(f"{API}/rules", json=body, headers=h), 201)
        return created

    vip_rule = await rule(
        {"name": "VIPs", "conditions": {"vip": True}, "queue_id": vip["id"], "priority": "urgent"}
    )
    french_rule = await rule(
        {
            "name": "French speakers",
            "conditions": {
                "languages": ["fr"],
                "inbox_ids": [inbox["id"]],
                "channels": ["api", "email"],
            },
            "queue_id": french["id"],
            "extra_skills": [{"skill_id": skill["id"], "min_level": 5}],
        }
    )
    refund = await rule(
        {
            "name": "Refunds",
            "conditions": {"tags_any": ["Refund"]},
            "priority": "high",
            "position": 1,
        }
    )
    assert refund["conditions"]["tags_any"] == ["refund"]
    listed = ok(await client.get(f"{API}/rules", headers=h))
    assert [(r["name"], r["position"]) for r in listed] == [
        ("Refunds", 1),
        ("VIPs", 2),
        ("French speakers", 3),
    ]

    async def test(facts: dict[str, Any]) -> dict[str, Any]:
        target: dict[str, Any] = ok(await client.post(f"{API}/rules/test", json=facts, headers=h))
        return target

    default = await test({"priority": "low"})
    assert (default["queue_name"], default["priority"], default["rule_id"]) == (
        "General",
        "low",
        None,
    )
    hit = await test({"contact_attributes": {"vip": True}, "tags": ["refund"]})
    # A rule without a queue sends to the default queue.
    assert (hit["rule_name"], hit["priority"], hit["queue_id"]) == (
        "Refunds",
        "high",
        default["queue_id"],
    )
    hit = await test({"contact_attributes": {"vip": "yes"}})
    assert (hit["rule_name"], hit["priority"]) == ("VIPs", "urgent")
    hit = await test({"inbox_id": inbox["id"], "channel": "api", "language": "fr-CA"})
    assert (hit["rule_id"], hit["queue_name"], hit["extra_skills"]) == (
        french_rule["id"],
        "French",
        [{"skill_id": skill["id"], "min_level": 5}],
    )
    assert (await test({"inbox_id": inbox["id"], "channel": "chat", "language": "fr"}))[
        "rule_id"
    ] is None

    # Reorder: French first; then disable it.
    order = [french_rule["id"], refund["id"], vip_rule["id"]]
    reordered = ok(await client.post(f"{API}/rules/reorder", json={"rule_ids": order}, headers=h))
    assert [r["id"] for r in reordered] == order
    refused(
        await client.post(f"{API}/rules/reorder", json={"rule_ids": order[:2]}, headers=h),
        422,
        "rule_ids",
    )
    refused(
        await client.post(f"{API}/rules/reorder", json={"rule_ids": [*order, order[0]]}, headers=h),
        422,
        "rule_ids",
    )
    ok(
        await client.patch(
            f"{API}/rules/{french_rule['id']}", json={"enabled": False, "queue_id": None}, headers=h
        )
    )
    changed = ok(await client.get(f"{API}/rules/{french_rule['id']}", headers=h))
    assert (changed["enabled"], changed["queue_id"], changed["name"]) == (
        False,
        None,
        "French speakers",
    )

    # No rule names French any more: it may go. A rule may go, and the rest close ranks.
    ok(await client.delete(f"{API}/queues/{french['id']}", headers=h), 204)
    ok(await client.delete(f"{API}/rules/{refund['id']}", headers=h), 204)
    listed = ok(await client.get(f"{API}/rules", headers=h))
    assert [(r["name"], r["position"]) for r in listed] == [("French speakers", 1), ("VIPs", 2)]
    refused(await client.delete(f"{API}/queues/{vip['id']}", headers=h), 409)
    events = await events_of(db, tenant.account_id, "routing.rule")
    assert {e.type for e in events} == {
        "routing.rule.created",
        "routing.rule.updated",
        "routing.rule.deleted",
        "routing.rules.reordered",
    }
    assert all(e.audience == "supervisors" for e in events)


async def test_a_queue_named_by_a_rule_cannot_be_deleted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    h = tenant.headers
    ok(await client.get(f"{API}/queues", headers=h))  # the default queue
    sales = ok(await client.post(f"{API}/queues", json={"name": "Sales"}, headers=h), 201)
    ok(
        await client.post(
            f"{API}/rules", json={"name": "To sales", "queue_id": sales["id"]}, headers=h
        ),
        201,
    )
    body = refused(await client.delete(f"{API}/queues/{sales['id']}", headers=h), 409)
    assert "To sales" in body["message"]


async def test_rule_references_and_conditions_are_checked(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = ok(
        await client.post(f"{API}/queues", json={"name": "Theirs"}, headers=other_tenant.headers),
        201,
    )
    their_inbox = ok(
        await client.post(
            "/api/v1/inboxes",
            json={"name": "Theirs", "channel_type": "api"},
            headers=other_tenant.headers,
        ),
        201,
    )

    async def bad(body: dict[str, Any], status: int, field: str | None) -> None:
        response = await client.post(
            f"{API}/rules", json={"name": "Bad", **body}, headers=tenant.headers
        )
        refused(response, status, field)

    await bad({"queue_id": theirs["id"]}, 404, "queue_id")
    await bad({"conditions": {"inbox_ids": [their_inbox["id"]]}}, 404, "conditions.inbox_ids")
    await bad({"conditions": {"channels": ["pigeon"]}}, 422, "conditions.channels")
    await bad({"conditions": {"languages": ["not a language"]}}, 422, "conditions.languages.0")
    await bad({"conditions": {"tag": ["typo"]}}, 422, "conditions.tag")
    await bad({"priority": "critical"}, 422, "priority")
    await bad({"extra_skills": [{"skill_id": 987654, "min_level": 2}]}, 404, "extra_skills")
    await bad({"conditions": {"contact_attributes": {"plan": {"nested": 1}}}}, 422, None)
    assert ok(await client.get(f"{API}/rules", headers=tenant.headers)) == []


async def test_who_may_see_and_change_rules(client: httpx.AsyncClient, tenant: Tenant) -> None:
    _, agent = await make_user(client, tenant, "agent")
    _, supervisor = await make_user(client, tenant, "supervisor")
    ok(await client.post(f"{API}/rules", json={"name": "Any"}, headers=tenant.headers), 201)
    refused(await client.get(f"{API}/rules", headers=agent), 403)
    assert len(ok(await client.get(f"{API}/rules", headers=supervisor))) == 1
    refused(await client.post(f"{API}/rules", json={"name": "x"}, headers=supervisor), 403)
    refused(await client.post(f"{API}/rules/test", json={}, headers=supervisor), 403)


async def test_patching_part_of_the_conditions_stores_them_whole(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Regression: a PATCH naming only some conditions once stored only those (then a 500).
    h = tenant.headers
    created = ok(await client.post(f"{API}/rules", json={"name": "R"}, headers=h), 201)
    url = f"{API}/rules/{created['id']}"
    changed = ok(await client.patch(url, json={"conditions": {"vip": True}}, headers=h))
    assert changed["conditions"] == {
        "inbox_ids": [],
        "channels": [],
        "languages": [],
        "tags_any": [],
        "contact_attributes": {},
        "vip": True,
    }
    ok(await client.patch(url, json={"conditions": {"channels": ["chat"]}}, headers=h))
    assert ok(await client.get(url, headers=h))["conditions"]["vip"] is None
