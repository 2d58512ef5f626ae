"""The inbox's filters on ``GET /conversations``: the caller's teams, channels, priorities."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from omnidesk.inboxes.models import Inbox
from tests.conftest import Tenant, make_user
from tests.conversations.conftest import MakeContact

API = "/api/v1/conversations"


async def _open(client: httpx.AsyncClient, tenant: Tenant, contact_id: int, **extra: Any) -> int:
    response = await client.post(
        API, json={"contact_id": contact_id, **extra}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _ids(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> set[int]:
    response = await client.get(API, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()["items"]}


async def _team(client: httpx.AsyncClient, tenant: Tenant, name: str, *members: int) -> int:
    response = await client.post(
        "/api/v1/teams", json={"name": name, "member_ids": list(members)}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_my_teams_lists_the_conversations_of_every_team_of_the_caller(
    client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact
) -> None:
    contact_id = await make_contact(tenant)
    agent, agent_headers = await make_user(client, tenant, "agent")
    loner, loner_headers = await make_user(client, tenant, "agent")
    billing = await _team(client, tenant, "Billing", agent["id"])
    returns = await _team(client, tenant, "Returns", agent["id"])
    other = await _team(client, tenant, "Sales", loner["id"])
    in_billing = await _open(client, tenant, contact_id, team_id=billing)
    in_returns = await _open(client, tenant, contact_id, team_id=returns, assignee_id=agent["id"])
    in_sales = await _open(client, tenant, contact_id, team_id=other)
    await _open(client, tenant, contact_id)  # no team
    await _open(client, tenant, contact_id, assignee_id=agent["id"])  # theirs, no team

    assert await _ids(client, agent_headers, team="mine") == {in_billing, in_returns}
    assert await _ids(client, loner_headers, team="mine") == {in_sales}
    # With the other filters: and, not or.
    mine_in_my_teams = await _ids(client, agent_headers, team="mine", assignee="me")
    assert mine_in_my_teams == {in_returns}
    # An admin in no team: nothing, although they see every conversation.
    assert await _ids(client, tenant.headers, team="mine") == set()
    bad = await client.get(API, params={"team": "everyone"}, headers=agent_headers)
    assert bad.status_code == 422
    assert bad.json()["field"] == "team"


async def test_another_accounts_team_gives_nothing(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, make_contact: MakeContact
) -> None:
    foreign_team = await _team(client, other_tenant, "Theirs", other_tenant.admin_id)
    foreign = await _open(
        client, other_tenant, await make_contact(other_tenant), team_id=foreign_team
    )
    await _open(client, tenant, await make_contact(tenant))
    assert await _ids(client, tenant.headers, team_id=foreign_team) == set()
    assert await _ids(client, tenant.headers, team="mine") == set()
    assert await _ids(client, other_tenant.headers, team="mine") == {foreign}


async def test_channel_and_priority_filters(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    make_contact: MakeContact,
    make_inbox: Callable[[Tenant], Awaitable[Inbox]],
) -> None:
    contact_id = await make_contact(tenant)
    api_inbox = await make_inbox(tenant)
    foreign_inbox = await make_inbox(other_tenant)
    by_api = await _open(client, tenant, contact_id, inbox_id=api_inbox.id, priority="high")
    urgent = await _open(client, tenant, contact_id, priority="urgent")
    low = await _open(client, tenant, contact_id, priority="low")
    await _open(client, other_tenant, await make_contact(other_tenant), inbox_id=foreign_inbox.id)

    assert await _ids(client, tenant.headers, channel="api") == {by_api}
    assert await _ids(client, tenant.headers, channel=["api", "email"]) == {by_api}
    assert await _ids(client, tenant.headers, channel="email") == set()
    assert await _ids(client, tenant.headers, priority=["high", "urgent"]) == {by_api, urgent}
    assert await _ids(client, tenant.headers, priority="low", channel="api") == set()
    assert await _ids(client, tenant.headers, priority="low") == {low}
    bad = await client.get(API, params={"channel": "Not A Channel"}, headers=tenant.headers)
    assert bad.status_code == 422
    assert bad.json()["field"] == "channel.0"
