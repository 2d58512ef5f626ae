from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from omnidesk.jobs.runner import JobRunner
from tests.conversations.conftest import make_contact, make_inbox
from tests.frozen_desk import START, FrozenDesk, db, desk_fixture, frozen_app

__all__ = ["START", "db", "frozen_app", "make_contact", "make_inbox"]


class Desk(FrozenDesk):
    """The frozen desk, with SLA policies and conversations."""

    @property
    def jobs(self) -> JobRunner:
        assert self.container.jobs is not None
        return self.container.jobs

    async def policy(self, **body: Any) -> dict[str, Any]:
        body.setdefault("name", "Standard")
        result: dict[str, Any] = await self.call(
            "POST", "/api/v1/sla/policies", json=body, expect=201
        )
        return result

    async def conversation(self, contact_id: int, priority: str = "normal") -> int:
        created = await self.call(
            "POST",
            "/api/v1/conversations",
            json={"contact_id": contact_id, "inbox_id": self.inbox.id, "priority": priority},
            expect=201,
        )
        return int(created["id"])

    async def target(self, conversation_id: int, kind: str) -> dict[str, Any]:
        sla = (await self.get(conversation_id))["sla"]
        assert sla is not None
        [found] = [t for t in sla["targets"] if t["kind"] == kind]
        return dict(found)

    async def patch(self, conversation_id: int, **body: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(
            "PATCH", f"/api/v1/conversations/{conversation_id}", json=body
        )
        return result

    async def reply(self, conversation_id: int, body: str = "On it") -> None:
        await self.call(
            "POST",
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"body": body},
            expect=201,
        )

    async def customer_writes(self, email: str, message_id: str, body: str = "Hello?") -> int:
        return await self.receive(email=email, name="Carla", message_id=message_id, body=body)


MakeDesk = Callable[[], Awaitable[Desk]]


desk = desk_fixture(Desk)
