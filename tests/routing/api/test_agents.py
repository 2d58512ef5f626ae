"""Skills, agent skills, routing profiles, away reasons and presence through the API."""

from __future__ import annotations

import httpx

from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.routing.schemas import DEFAULT_CAPACITY
from tests.conftest import Tenant, make_user
from tests.routing.api.conftest import API, events_of, ok, refused


async def test_skills_are_unique_per_account_and_admin_only(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    h = tenant.headers
    skill = ok(
        await client.post(
            f"{API}/skills", json={"name": "French", "description": "Native"}, headers=h
        ),
        201,
    )
    refused(await client.post(f"{API}/skills", json={"name": "French"}, headers=h), 409, "name")
    # Another account may use the same name.
    ok(
        await client.post(f"{API}/skills", json={"name": "French"}, headers=other_tenant.headers),
        201,
    )
    refused(await client.post(f"{API}/skills", json={"name": ""}, headers=h), 422, "name")
    refused(await client.post(f"{API}/skills", json={"name": "x" * 101}, headers=h), 422, "name")
    refused(await client.post(f"{API}/skills", json={"name": "a\u0000b"}, headers=h), 422, "name")
    _, agent = await make_user(client, tenant, "agent")
    refused(await client.post(f"{API}/skills", json={"name": "German"}, headers=agent), 403)
    assert [s["name"] for s in ok(await client.get(f"{API}/skills", headers=agent))] == ["French"]
    german = ok(await client.post(f"{API}/skills", json={"name": "German"}, headers=h), 201)
    refused(
        await client.patch(f"{API}/skills/{german['id']}", json={"name": "French"}, headers=h),
        409,
        "name",
    )
    renamed = ok(
        await client.patch(f"{API}/skills/{skill['id']}", json={"name": "Français"}, headers=h)
    )
    assert renamed["name"] == "Français"
    refused(await client.get(f"{API}/skills/{skill['id']}", headers=other_tenant.headers), 404)


async def test_agent_skills_levels_and_clear_errors(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, db: Database
) -> None:
    h = tenant.headers
    french = ok(await client.post(f"{API}/skills", json={"name": "French"}, headers=h), 201)
    billing = ok(await client.post(f"{API}/skills", json={"name": "Billing"}, headers=h), 201)
    foreign = ok(
        await client.post(f"{API}/skills", json={"name": "Theirs"}, headers=other_tenant.headers),
        201,
    )
    user, _ = await make_user(client, tenant, "agent", name="Alex")
    url = f"{API}/agents/{user['id']}/skills"

    async def put(skills: list[dict[str, int]]) -> httpx.Response:
        return await client.put(url, json={"skills": skills}, headers=h)

    agent = ok(
        await put([{"skill_id": french["id"], "level": 8}, {"skill_id": billing["id"], "level": 1}])
    )
    assert agent["skills"] == [
        {"skill_id": billing["id"], "name": "Billing", "level": 1},
        {"skill_id": french["id"], "name": "French", "level": 8},
    ]
    refused(await put([{"skill_id": french["id"], "level": 11}]), 422, "skills.0.level")
    refused(await put([{"skill_id": french["id"], "level": 0}]), 422, "skills.0.level")
    refused(
        await put([{"skill_id": french["id"], "level": 2}, {"skill_id": french["id"], "level": 3}]),
        422,
        "skills",
    )
    refused(await put([{"skill_id": 987654, "level": 3}]), 404, "skills")
    refused(await put([{"skill_id": foreign["id"], "level": 3}]), 404, "skills")
    refused(await client.put(f"{API}/agents/987654/skills", json={"skills": []}, headers=h), 404)
    # Nothing of the refused calls stuck.
    listed = ok(await client.get(f"{API}/agents/{user['id']}", headers=h))
    assert [s["level"] for s in listed["skills"]] == [1, 8]
    # Deleting a skill takes it away from agents.
    ok(await client.delete(f"{API}/skills/{billing['id']}", headers=h), 204)
    listed = ok(await client.get(f"{API}/agents/{user['id']}", headers=h))
    assert [s["name"] for s in listed["skills"]] == ["French"]
    types = [e.type for e in await events_of(db, tenant.account_id, "agent.")]
    assert types == ["agent.skills.changed"]


async def test_routing_profiles_and_the_default(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    h = tenant.headers
    profiles = ok(await client.get(f"{API}/profiles", headers=h))
    assert [
        (p["name"], p["is_default"], p["capacity"], p["exclusive_channels"]) for p in profiles
    ] == [("Default", True, DEFAULT_CAPACITY, ["voice"])]
    # Every installed channel, chats three at a time, voice one and exclusive, email five.
    assert DEFAULT_CAPACITY["voice"] == 1
    assert DEFAULT_CAPACITY["email"] == 5
    assert {DEFAULT_CAPACITY[c] for c in DEFAULT_CAPACITY if c not in ("voice", "email")} == {3}
    default_id = profiles[0]["id"]
    chat = ok(
        await client.post(
            f"{API}/profiles",
            json={"name": "Chat only", "capacity": {"chat": 4}, "auto_accept": True},
            headers=h,
        ),
        201,
    )
    assert (chat["is_default"], chat["auto_accept"]) == (False, True)

    async def bad(body: dict[str, object], field: str) -> None:
        refused(
            await client.post(f"{API}/profiles", json={"name": "Bad", **body}, headers=h),
            422,
            field,
        )

    await bad({"capacity": {"voice": -1}}, "capacity.voice")
    await bad({"capacity": {"pigeon": 1}}, "capacity.pigeon")
    await bad({"capacity": {"Voice": 1}}, "capacity.Voice.[key]")
    await bad({"capacity": {"chat": 2}, "exclusive_channels": ["voice"]}, "exclusive_channels")
    await bad({"capacity": {"chat": 2}, "exclusive_channels": ["fax"]}, "exclusive_channels")
    channels = ok(await client.get(f"{API}/channels", headers=h))["channels"]
    assert {"voice", "chat", "email", "api"} <= set(channels)

    # The default moves; it is never dropped, nor deleted.
    moved = ok(
        await client.patch(f"{API}/profiles/{chat['id']}", json={"is_default": True}, headers=h)
    )
    assert moved["is_default"] is True
    assert ok(await client.get(f"{API}/profiles/{default_id}", headers=h))["is_default"] is False
    refused(
        await client.patch(f"{API}/profiles/{chat['id']}", json={"is_default": False}, headers=h),
        422,
        "is_default",
    )
    refused(await client.delete(f"{API}/profiles/{chat['id']}", headers=h), 409)

    # An agent works with their assigned profile, else the default.
    user, _ = await make_user(client, tenant, "agent")
    agent = ok(await client.get(f"{API}/agents/{user['id']}", headers=h))
    assert (agent["profile_id"], agent["effective_profile_id"]) == (None, chat["id"])
    agent = ok(
        await client.put(
            f"{API}/agents/{user['id']}/profile", json={"profile_id": default_id}, headers=h
        )
    )
    assert (agent["profile_id"], agent["effective_profile_id"]) == (default_id, default_id)
    refused(
        await client.put(
            f"{API}/agents/{user['id']}/profile", json={"profile_id": 987654}, headers=h
        ),
        404,
        "profile_id",
    )
    ok(await client.delete(f"{API}/profiles/{default_id}", headers=h), 204)
    agent = ok(await client.get(f"{API}/agents/{user['id']}", headers=h))
    assert (agent["profile_id"], agent["effective_profile_id"]) == (None, chat["id"])
    types = [e.type for e in await events_of(db, tenant.account_id, "routing.profile")]
    assert types == [
        "routing.profile.created",
        "routing.profile.created",
        "routing.profile.updated",
        "routing.profile.deleted",
    ]


async def test_presence_who_may_set_it_and_time_in_state(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, frozen: FrozenClock
) -> None:
    h = tenant.headers
    alex, alex_h = await make_user(client, tenant, "agent", name="Alex")
    sam, sam_h = await make_user(client, tenant, "agent", name="Sam")
    _, sup_h = await make_user(client, tenant, "supervisor")
    agents = ok(await client.get(f"{API}/agents", headers=alex_h))
    mine = next(a for a in agents if a["user_id"] == alex["id"])
    assert (mine["presence"], mine["since"], mine["time_in_state_s"]) == ("offline", None, None)

    url = f"{API}/agents/{alex['id']}/presence"
    set_at = frozen.now()
    state = ok(await client.put(url, json={"presence": "available"}, headers=alex_h))
    assert state["presence"] == "available"
    assert state["since"] == set_at.isoformat().replace("+00:00", "Z")
    frozen.advance(90)
    listed = ok(await client.get(f"{API}/agents", headers=sam_h))
    assert next(a for a in listed if a["user_id"] == alex["id"])["time_in_state_s"] == 90

    # An agent may not set someone else's presence; a supervisor may.
    refused(
        await client.put(
            f"{API}/agents/{sam['id']}/presence", json={"presence": "away"}, headers=alex_h
        ),
        403,
    )
    reason = ok(await client.post(f"{API}/away-reasons", json={"name": "Lunch"}, headers=h), 201)
    refused(
        await client.post(f"{API}/away-reasons", json={"name": "Lunch"}, headers=h), 409, "name"
    )
    refused(await client.post(f"{API}/away-reasons", json={"name": "Nap"}, headers=sup_h), 403)
    state = ok(
        await client.put(url, json={"presence": "away", "reason_id": reason["id"]}, headers=sup_h)
    )
    assert (state["presence"], state["reason"], state["time_in_state_s"]) == ("away", "Lunch", 0)
    state = ok(
        await client.put(url, json={"presence": "away", "reason": "Dentist"}, headers=alex_h)
    )
    assert state["reason"] == "Dentist"
    refused(
        await client.put(
            url, json={"presence": "away", "reason": "x", "reason_id": reason["id"]}, headers=h
        ),
        422,
        "reason_id",
    )
    refused(
        await client.put(url, json={"presence": "away", "reason_id": 987654}, headers=h),
        404,
        "reason_id",
    )
    refused(await client.put(url, json={"presence": "sleeping"}, headers=h), 422, "presence")
    refused(
        await client.put(url, json={"presence": "away", "reason": "x" * 201}, headers=h),
        422,
        "reason",
    )
    # Setting the same presence again changes nothing and records nothing.
    ok(await client.put(url, json={"presence": "away", "reason": "Dentist"}, headers=alex_h))
    presence = await events_of(db, tenant.account_id, "agent.presence")
    assert [(e.data["presence"], e.data["previous"], e.data["reason"]) for e in presence] == [
        ("available", "offline", None),
        ("away", "available", "Lunch"),
        ("away", "away", "Dentist"),
    ]
    assert all(e.audience == "account" for e in presence)
    # Deleting the reason keeps its text on agents.
    ok(await client.delete(f"{API}/away-reasons/{reason['id']}", headers=h), 204)
    assert ok(await client.get(f"{API}/away-reasons", headers=h)) == []


async def test_the_agent_list_shows_active_users_only(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    h = tenant.headers
    user, _ = await make_user(client, tenant, "agent", name="Leaving")
    ok(await client.patch(f"/api/v1/users/{user['id']}", json={"active": False}, headers=h))
    listed = ok(await client.get(f"{API}/agents", headers=h))
    assert user["id"] not in [a["user_id"] for a in listed]
    assert tenant.admin_id in [a["user_id"] for a in listed]
