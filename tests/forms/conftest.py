from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant
from tests.conversations.conftest import make_contact, make_inbox

__all__ = ["define", "make_contact", "make_inbox", "open_conversation"]

DEFINITIONS = "/api/v1/attribute-definitions"
CONVERSATIONS = "/api/v1/conversations"


async def define(
    client: httpx.AsyncClient, tenant: Tenant, key: str, type_: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        DEFINITIONS,
        json={
            "key": key,
            "label": key.replace("_", " ").title(),
            "type": type_,
            "applies_to": "conversation",
            **extra,
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def open_conversation(
    client: httpx.AsyncClient, tenant: Tenant, contact_id: int, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        CONVERSATIONS, json={"contact_id": contact_id, **extra}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    return response.json()
