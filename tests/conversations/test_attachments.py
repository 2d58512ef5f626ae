from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from omnidesk.app import create_app
from omnidesk.settings import AttachmentSettings, Settings
from tests.conftest import Tenant, make_user
from tests.conversations.conftest import MakeContact


@pytest.fixture
async def small_limits_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    limited = settings.model_copy(
        update={
            "attachments": AttachmentSettings(
                max_bytes=1024, allowed_types=["image/*", "text/plain"]
            )
        }
    )
    application: FastAPI = create_app(limited)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_upload_attach_and_download(
    small_limits_client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact
) -> None:
    client = small_limits_client
    uploaded = await client.post(
        "/api/v1/attachments",
        files={"file": ("../../etc/notes <1>.txt", b"hello \xf0\x9f\x91\x8b", "text/plain")},
        headers=tenant.headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    attachment = uploaded.json()
    assert attachment["filename"] == "notes 1.txt"
    assert attachment["size"] == 10
    conversation = await client.post(
        "/api/v1/conversations",
        json={"contact_id": await make_contact(tenant)},
        headers=tenant.headers,
    )
    cid = conversation.json()["id"]
    note = await client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"body": "", "private": True, "attachment_ids": [attachment["id"]]},
        headers=tenant.headers,
    )
    assert note.status_code == 201
    assert [a["id"] for a in note.json()["attachments"]] == [attachment["id"]]
    # An attachment belongs to one message only.
    again = await client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"body": "x", "private": True, "attachment_ids": [attachment["id"]]},
        headers=tenant.headers,
    )
    assert again.status_code == 404
    download = await client.get(f"/api/v1/attachments/{attachment['id']}", headers=tenant.headers)
    assert download.content == b"hello \xf0\x9f\x91\x8b"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"


async def test_oversize_and_forbidden_types_are_refused(
    small_limits_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    client = small_limits_client
    big = await client.post(
        "/api/v1/attachments",
        files={"file": ("big.txt", b"x" * 1025, "text/plain")},
        headers=tenant.headers,
    )
    assert big.status_code == 413
    assert big.json() == {
        "code": "payload_too_large",
        "message": "attachments may be at most 1024 bytes",
        "field": "file",
    }
    html = await client.post(
        "/api/v1/attachments",
        files={"file": ("x.html", b"<script>alert(1)</script>", "text/html")},
        headers=tenant.headers,
    )
    assert html.status_code == 415
    missing = await client.post("/api/v1/attachments", headers=tenant.headers)
    assert missing.status_code == 422


async def test_another_accounts_attachment_is_not_found(
    small_limits_client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    uploaded = await small_limits_client.post(
        "/api/v1/attachments",
        files={"file": ("a.png", b"\x89PNG....", "image/png")},
        headers=tenant.headers,
    )
    aid = uploaded.json()["id"]
    response = await small_limits_client.get(
        f"/api/v1/attachments/{aid}", headers=other_tenant.headers
    )
    assert response.status_code == 404


async def test_agents_only_download_attachments_of_conversations_they_may_see(
    small_limits_client: httpx.AsyncClient, tenant: Tenant, make_contact: MakeContact
) -> None:
    client = small_limits_client
    owner, owner_headers = await make_user(client, tenant, "agent")
    _, outsider_headers = await make_user(client, tenant, "agent")
    uploaded = await client.post(
        "/api/v1/attachments",
        files={"file": ("a.txt", b"secret", "text/plain")},
        headers=owner_headers,
    )
    aid = uploaded.json()["id"]
    # Not yet on a message: only its uploader (and supervisors) may fetch it.
    assert (
        await client.get(f"/api/v1/attachments/{aid}", headers=owner_headers)
    ).status_code == 200
    assert (
        await client.get(f"/api/v1/attachments/{aid}", headers=outsider_headers)
    ).status_code == 404
    conversation = await client.post(
        "/api/v1/conversations",
        json={"contact_id": await make_contact(tenant), "assignee_id": owner["id"]},
        headers=tenant.headers,
    )
    await client.post(
        f"/api/v1/conversations/{conversation.json()['id']}/messages",
        json={"body": "see file", "private": True, "attachment_ids": [aid]},
        headers=owner_headers,
    )
    # On a conversation assigned to someone else: hidden from the outsider like the rest of it.
    assert (
        await client.get(f"/api/v1/attachments/{aid}", headers=outsider_headers)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/attachments/{aid}", headers=owner_headers)
    ).status_code == 200
    assert (
        await client.get(f"/api/v1/attachments/{aid}", headers=tenant.headers)
    ).status_code == 200
