from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnidesk.accounts.principal import Principal
from omnidesk.events.visibility import holds
from omnidesk.realtime.broker import Subscription
from omnidesk.realtime.index import ConnectionIndex
from omnidesk.realtime.visibility import entitled, may_see

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


# The fan-out finds who may see an event through keys (events.visibility.entitled/holds)
# rather than by asking may_see of every socket: both must say the same, for anyone.
ids = st.integers(min_value=1, max_value=4)
principals = st.builds(
    Principal,
    account_id=st.just(1),
    user_id=st.none() | ids,
    role=st.sampled_from(["admin", "supervisor", "agent", "someone"]),
    team_ids=st.frozensets(ids, max_size=3),
)
events = st.fixed_dictionaries(
    {"id": st.just(1)},
    optional={
        "audience": st.none() | st.sampled_from(["account", "supervisors", "conversation", "x"]),
        "assignee_id": st.none() | ids,
        "team_id": st.none() | ids,
    },
)


@given(principal=principals, event=events)
def test_the_keys_say_what_may_see_says(principal: Principal, event: dict[str, Any]) -> None:
    assert (not entitled(event).isdisjoint(holds(principal))) is may_see(principal, event)


@given(everyone=st.lists(principals, max_size=8), event=events)
def test_the_index_finds_exactly_who_may_see(
    everyone: list[Principal], event: dict[str, Any]
) -> None:
    index = ConnectionIndex()
    connections = {Subscription(1): principal for principal in everyone}
    for connection, principal in connections.items():
        index.add(connection, principal)
    expected = {c for c, principal in connections.items() if may_see(principal, event)}
    assert index.entitled(event) == expected
    for connection in list(connections)[::2]:
        index.remove(connection)
    assert index.entitled(event) == {c for c in expected if c in set(index)}
    assert len(index) == len(connections) - len(list(connections)[::2])
