"""Which events a user may see on their websocket (the rule lives in the events context)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omnidesk.accounts.principal import Principal
from omnidesk.events import visibility
from omnidesk.events.visibility import Key


def may_see(principal: Principal, event: Mapping[str, Any]) -> bool:
    """``event`` is an ``EventOut`` dict of the principal's own account."""
    return visibility.may_see(
        principal,
        audience=event.get("audience"),
        assignee_id=event.get("assignee_id"),
        team_id=event.get("team_id"),
    )


def entitled(event: Mapping[str, Any]) -> set[Key]:
    """The keys whose holders may see ``event`` (the same rule as :func:`may_see`)."""
    return visibility.entitled(
        audience=event.get("audience"),
        assignee_id=event.get("assignee_id"),
        team_id=event.get("team_id"),
    )
