"""Random command sequences: invariants, the naive oracle, determinism, state copies."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnidesk.routing.engine import Assigned, NaiveRouter, OfferMade, Router
from omnidesk.routing.engine.core import RouterCore
from omnidesk.routing.engine.rules import WAITING
from tests.routing.engine.world import Command, check_invariants, outcome, run, scenarios

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_order(command: Command, decisions: object, router: RouterCore) -> None:
    """Nothing waits that outranks an item just served and has all of its requirement keys.

    Items with the same keys have the same eligible agents, so the agent who took the worse
    one was free for the better one. Only for commands whose placements all precede the
    matching (in a tick, events and passes interleave).
    """
    if command.name == "tick" or not isinstance(decisions, list):
        return
    served = [
        router._items[d.item_id]
        for d in decisions
        if (isinstance(d, OfferMade) or (isinstance(d, Assigned) and d.auto_accepted))
        and d.item_id in router._items
    ]
    waiting = [i for i in router._items.values() if i.state == WAITING]
    for item in served:
        if item.state == WAITING:
            continue
        for other in waiting:
            # Only when every way to the served item is also a way to the other: then the
            # agent who took it could have taken the other (an item with several queues,
            # through overflow, may have been taken through a queue the other is not in).
            if set(item.alts) <= set(other.alts):
                assert other.rank > item.rank, (
                    f"item {item.item_id} served before better-ranked item {other.item_id}"
                )


@SETTINGS
@given(scenarios(), st.integers(0, 3))
def test_indexed_router_makes_the_naive_routers_decisions(
    commands: list[Command], seed: int
) -> None:
    fast, naive = Router(seed), NaiveRouter(seed)
    for n, command in enumerate(commands):
        expected = outcome(command, naive)
        got = outcome(command, fast)
        assert got == expected, f"command {n}: {command}"
        check_invariants(fast)
        check_order(command, got, fast)
        assert fast.next_deadline() == naive.next_deadline()


@SETTINGS
@given(scenarios())
def test_naive_router_keeps_the_invariants(commands: list[Command]) -> None:
    naive = NaiveRouter(0)
    for command in commands:
        got = outcome(command, naive)
        check_invariants(naive)
        check_order(command, got, naive)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(0, 5))
def test_same_commands_same_decisions(commands: list[Command], seed: int) -> None:
    assert run(commands, Router(seed)) == run(commands, Router(seed))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(0, 40))
def test_a_copied_state_routes_on_the_same_way(commands: list[Command], cut: int) -> None:
    """What a loader will do: rebuild the indexes from a snapshot, then carry on."""
    original = NaiveRouter(1)
    run(commands[:cut], original)
    copied = Router.copy_of(original)
    for command in commands[cut:]:
        assert outcome(command, copied) == outcome(command, original)
        check_invariants(copied)
