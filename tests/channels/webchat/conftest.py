"""Web-chat helpers: an inbox, a visitor's session and calls with their token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import Tenant


@dataclass
class Widget:
    inbox_id: int
    key: str
    identity_secret: str | None

    @property
    def base(self) -> str:
        return f"/widget/v1/{self.key}"


async def make_webchat_inbox(
    client: httpx.AsyncClient, tenant: Tenant, name: str = "Website", **config: Any
) -> Widget:
    response = await client.post(
        "/api/v1/inboxes",
        json={"name": name, "channel_type": "webchat", "config": config},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Widget(body["id"], body["config"]["widget_key"], body["secret"])


@dataclass
class Visitor:
    client: httpx.AsyncClient
    widget: Widget
    token: str
    origin: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Visitor {self.token}"}
        if self.origin:
            headers["Origin"] = self.origin
        return headers

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.post(f"{self.widget.base}/{path}", headers=self.headers, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(f"{self.widget.base}/{path}", headers=self.headers, **kwargs)

    async def say(self, body: str, client_id: str | None = None, **extra: Any) -> dict[str, Any]:
        response = await self.post(
            "messages", json={"client_id": client_id or str(uuid.uuid4()), "body": body, **extra}
        )
        assert response.status_code == 201, response.text
        message: dict[str, Any] = response.json()
        return message


async def start_session(
    client: httpx.AsyncClient,
    widget: Widget,
    *,
    origin: str | None = None,
    **body: Any,
) -> tuple[Visitor, dict[str, Any]]:
    headers = {"Origin": origin} if origin else {}
    response = await client.post(f"{widget.base}/session", json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return Visitor(client, widget, answer["visitor_token"], origin), answer


async def agent_reply(
    client: httpx.AsyncClient, tenant: Tenant, conversation_id: int, body: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": body, **extra},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()
    return message
