from __future__ import annotations

from typing import Any

from tests.conversations.conftest import make_contact, make_inbox
from tests.frozen_desk import START, FrozenDesk, db, desk_fixture, frozen_app

__all__ = ["START", "db", "frozen_app", "make_contact", "make_inbox"]


class Desk(FrozenDesk):
    """The frozen desk, with rules and their jobs."""

    async def rule(self, **body: Any) -> dict[str, Any]:
        body.setdefault("name", "A rule")
        body.setdefault("triggers", ["message.received"])
        result: dict[str, Any] = await self.call(
            "POST", "/api/v1/automation/rules", json=body, expect=201
        )
        return result

    async def customer_writes(
        self, body: str, *, message_id: str, email: str = "carla@example.com"
    ) -> int:
        return await self.receive(email=email, name="Carla Diaz", message_id=message_id, body=body)

    async def drain(self) -> int:
        """Run due jobs until none is left (rules, and the rules their actions trigger)."""
        jobs = self.container.jobs
        assert jobs is not None
        total = 0
        for _ in range(50):
            ran = await jobs.run_once()
            if not ran:
                return total
            total += ran
        raise AssertionError("jobs keep coming: a loop")

    async def runs(self, rule_id: int | None = None) -> list[dict[str, Any]]:
        query = f"?rule_id={rule_id}" if rule_id else ""
        result: list[dict[str, Any]] = await self.call(
            "GET", f"/api/v1/automation/rules/runs{query}"
        )
        return result


desk = desk_fixture(Desk)
