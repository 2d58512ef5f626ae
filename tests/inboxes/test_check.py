"""POST /api/v1/inboxes/{id}/check: each channel's own connectivity check, admins only,
scoped to the caller's account."""

from __future__ import annotations

from typing import Any

import httpx

from omnidesk.channels.api.adapter import ApiChannel
from omnidesk.channels.base import AdapterContext, Checkable
from omnidesk.channels.webchat.adapter import WebchatChannel
from tests.channels.api.conftest import make_api_inbox
from tests.channels.webchat.conftest import make_webchat_inbox
from tests.conftest import Tenant, make_user


async def _check(client: httpx.AsyncClient, tenant: Tenant, inbox_id: int) -> dict[str, Any]:
    response = await client.post(f"/api/v1/inboxes/{inbox_id}/check", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _named(report: dict[str, Any]) -> dict[str, tuple[bool, str]]:
    return {c["name"]: (c["ok"], c["detail"]) for c in report["checks"]}


async def test_an_api_inbox_checks_its_secret_and_vets_its_webhook_url(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    without = await make_api_inbox(client, tenant, None)
    report = await _check(client, tenant, without["id"])
    assert report["ok"] is False
    checks = _named(report)
    assert checks["signing secret"][0] is True
    assert checks["webhook URL"] == (
        False,
        "not set: agents' replies stay queued until one is set",
    )

    # The test settings allow private addresses: a loopback URL passes, and is not called.
    with_url = await make_api_inbox(client, tenant, "http://127.0.0.1:9/hook")
    report = await _check(client, tenant, with_url["id"])
    assert report["ok"] is True
    assert "127.0.0.1:9" in _named(report)["webhook URL"][1]


async def test_the_api_check_refuses_what_the_ssrf_guard_refuses() -> None:
    context = AdapterContext(
        inbox_id=1,
        account_id=1,
        config={"webhook_url": "http://127.0.0.1:9/hook"},
        secrets={},
        public_url="http://testserver",
        allow_private_addresses=False,
    )
    results = await ApiChannel(context).check(_Owners([]))
    assert [(r.name, r.ok) for r in results] == [("signing secret", False), ("webhook URL", False)]
    assert "not a public address" in results[1].detail


class _Owners:
    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.asked: list[tuple[str, str]] = []

    async def inboxes_with(self, key: str, value: str) -> list[int]:
        self.asked.append((key, value))
        return self.ids


async def test_a_webchat_inbox_checks_its_widget_key_and_origins(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    open_to_all = await make_webchat_inbox(client, tenant)
    report = await _check(client, tenant, open_to_all.inbox_id)
    checks = _named(report)
    assert checks["widget key"][0] is True
    assert checks["allowed origins"][0] is False
    assert report["ok"] is False

    named = await make_webchat_inbox(
        client, tenant, "Shop", allowed_origins=["https://shop.example.com"]
    )
    report = await _check(client, tenant, named.inbox_id)
    assert report["ok"] is True
    assert _named(report)["allowed origins"] == (True, "https://shop.example.com")

    # Another inbox given the same key (a pasted config) would take this one's visitors.
    copy = await client.post(
        "/api/v1/inboxes",
        json={"name": "Copy", "channel_type": "webchat", "config": {"widget_key": named.key}},
        headers=tenant.headers,
    )
    assert copy.status_code == 201, copy.text
    checks = _named(await _check(client, tenant, named.inbox_id))
    assert checks["widget key"][0] is False
    assert "another inbox" in checks["widget key"][1]


async def test_the_webchat_check_asks_for_its_own_key() -> None:
    context = AdapterContext(
        inbox_id=7,
        account_id=1,
        config={"widget_key": "k" * 24},
        secrets={},
        public_url="http://testserver",
    )
    owners = _Owners([])
    [resolved, _] = await WebchatChannel(context).check(owners)
    assert owners.asked == [("widget_key", "k" * 24)]
    assert resolved.ok is False
    assert "does not find" in resolved.detail


def test_the_check_is_a_capability_of_each_built_in_adapter() -> None:
    from omnidesk.channels.email.adapter import EmailChannel

    for adapter in (ApiChannel, WebchatChannel, EmailChannel):
        assert issubclass(adapter, Checkable)


async def test_only_admins_of_the_account_may_check(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    inbox = await make_api_inbox(client, tenant, None)
    _, agent = await make_user(client, tenant, "agent")
    _, supervisor = await make_user(client, tenant, "supervisor")
    url = f"/api/v1/inboxes/{inbox['id']}/check"
    assert (await client.post(url, headers=agent)).status_code == 403
    assert (await client.post(url, headers=supervisor)).status_code == 403
    elsewhere = await client.post(url, headers=other_tenant.headers)
    assert elsewhere.status_code == 404
    assert elsewhere.json()["code"] == "not_found"
    missing = await client.post("/api/v1/inboxes/999999/check", headers=tenant.headers)
    assert missing.status_code == 404
