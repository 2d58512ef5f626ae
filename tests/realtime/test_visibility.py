from __future__ import annotations

from typing import Any

import pytest

from omnidesk.accounts.principal import Principal
from omnidesk.realtime.visibility import may_see

AGENT_ID, OTHER_AGENT_ID, TEAM_ID, OTHER_TEAM_ID = 10, 11, 5, 6

admin = Principal(account_id=1, user_id=1, role="admin")
supervisor = Principal(account_id=1, user_id=2, role="supervisor")
agent = Principal(account_id=1, user_id=AGENT_ID, role="agent", team_ids=frozenset({TEAM_ID}))
teamless_agent = Principal(account_id=1, user_id=12, role="agent")


def event(audience: str, assignee_id: int | None = None, team_id: int | None = None) -> Any:
    return {
        "id": 1,
        "type": "t",
        "audience": audience,
        "assignee_id": assignee_id,
        "team_id": team_id,
    }


CASES = [
    # who, event, may see
    (agent, event("account"), True),
    (teamless_agent, event("account"), True),
    (admin, event("supervisors"), True),
    (supervisor, event("supervisors"), True),
    (agent, event("supervisors"), False),
    (admin, event("conversation", assignee_id=OTHER_AGENT_ID, team_id=OTHER_TEAM_ID), True),
    (supervisor, event("conversation", assignee_id=OTHER_AGENT_ID), True),
    (agent, event("conversation", assignee_id=AGENT_ID), True),
    (agent, event("conversation", assignee_id=AGENT_ID, team_id=OTHER_TEAM_ID), True),
    (agent, event("conversation", assignee_id=OTHER_AGENT_ID), False),
    (agent, event("conversation", team_id=TEAM_ID), True),
    (agent, event("conversation", assignee_id=OTHER_AGENT_ID, team_id=TEAM_ID), True),
    (agent, event("conversation", team_id=OTHER_TEAM_ID), False),
    (teamless_agent, event("conversation", team_id=TEAM_ID), False),
    (agent, event("conversation"), True),  # unowned: every agent may pick it up
    (teamless_agent, event("conversation"), True),
    (agent, event("telepathy"), False),  # unknown audiences fail closed…
    (admin, event("telepathy"), False),  # …for everyone
    (agent, {"id": 1, "type": "t"}, False),
]


@pytest.mark.parametrize(("principal", "event", "expected"), CASES)
def test_may_see(principal: Principal, event: dict[str, Any], expected: bool) -> None:
    assert may_see(principal, event) is expected
