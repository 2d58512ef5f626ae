"""Who may see an event: one rule for the websocket, timelines and any other reader. Pure.

:func:`may_see` is the rule. :func:`entitled` and :func:`holds` state the same rule as keys,
for readers that index principals (the websocket fan-out): a principal may see an event
exactly when it holds one of the event's entitled keys.
"""

from __future__ import annotations

from typing import Final, Literal

from omnidesk.accounts.principal import Principal

#: ("everyone", 0), ("supervisors", 0), ("user", user id) or ("team", team id).
Key = tuple[Literal["everyone", "supervisors", "user", "team"], int]
EVERYONE: Final[Key] = ("everyone", 0)
SUPERVISORS: Final[Key] = ("supervisors", 0)


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


def entitled(*, audience: str | None, assignee_id: int | None, team_id: int | None) -> set[Key]:
    """The keys that entitle a principal to see such an event (see :func:`may_see`)."""
    if audience == "account":
        return {EVERYONE}
    if audience == "supervisors":
        return {SUPERVISORS}
    if audience != "conversation":
        return set()  # fail closed
    if assignee_id is None and team_id is None:
        return {EVERYONE}
    keys = {SUPERVISORS}
    if assignee_id is not None:
        keys.add(("user", assignee_id))
    if team_id is not None:
        keys.add(("team", team_id))
    return keys


def holds(principal: Principal) -> set[Key]:
    """The keys a principal holds: everyone's, its own user's, its teams', supervisors'."""
    keys: set[Key] = {EVERYONE}
    if principal.is_supervisor:
        keys.add(SUPERVISORS)
    if principal.user_id is not None:
        keys.add(("user", principal.user_id))
    keys.update(("team", team_id) for team_id in principal.team_ids)
    return keys
