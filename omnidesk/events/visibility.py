"""Who may see an event: one rule for the websocket, timelines and any other reader. Pure."""

from __future__ import annotations

from omnidesk.accounts.principal import Principal


def may_see(
    principal: Principal, *, audience: str | None, assignee_id: int | None, team_id: int | None
) -> bool:
    """For an event of the principal's own account."""
    if audience == "account":
        return True
    if audience not in ("supervisors", "conversation"):
        return False  # an audience this code does not know: fail closed
    if principal.is_supervisor:
        return True
    if audience == "supervisors":
        return False
    if assignee_id is None and team_id is None:
        return True  # nobody owns the conversation yet: every agent may pick it up
    return (assignee_id is not None and assignee_id == principal.user_id) or (
        team_id is not None and team_id in principal.team_ids
    )
