"""One rule at a time, on both engines: the indexed router and the naive oracle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from omnidesk.routing.engine import (
    Abandoned,
    AgentConfig,
    Assigned,
    Completed,
    NaiveRouter,
    OfferDeclined,
    OfferMade,
    OfferTimedOut,
    OfferWithdrawn,
    Overflowed,
    OverflowStep,
    PresenceChanged,
    QueueConfig,
    Requeued,
    Router,
    RoutingError,
    Transferred,
    WorkItem,
    WrapUpEnded,
)
from omnidesk.routing.engine.core import RouterCore


@pytest.fixture(params=[Router, NaiveRouter], ids=["indexed", "naive"])
def engine(request: pytest.FixtureRequest) -> type[RouterCore]:
    cls: type[RouterCore] = request.param
    return cls


def queue(qid: int = 1, **kw: Any) -> QueueConfig:
    return QueueConfig(queue_id=qid, **kw)


def agent(
    aid: int,
    skills: Mapping[int, int] | None = None,
    capacity: Mapping[str, int] | None = None,
    **kw: Any,
) -> AgentConfig:
    return AgentConfig(agent_id=aid, skills=skills or {}, capacity=capacity or {"chat": 1}, **kw)


def item(iid: int, qid: int = 1, *, priority: int = 1, at: float = 0.0, **kw: Any) -> WorkItem:
    kw.setdefault("channel", "chat")
    return WorkItem(
        item_id=iid,
        conversation_id=iid,
        contact_id=iid,
        queue_id=qid,
        priority=priority,
        enqueued_at=at,
        **kw,
    )


def centre(
    engine: type[RouterCore],
    queues: list[QueueConfig],
    agents: list[AgentConfig],
    available: tuple[int, ...] = (),
    seed: int = 0,
) -> RouterCore:
    router = engine(seed)
    for q in queues:
        router.configure_queue(q)
    for a in agents:
        router.upsert_agent(a)
    for aid in available:
        router.set_presence(aid, "available", 0.0)
    return router


def offers(decisions: list[Any]) -> list[tuple[int, int]]:
    """(item, agent) of every offer or direct assignment, in order."""
    return [(d.item_id, d.agent_id) for d in decisions if isinstance(d, OfferMade | Assigned)]


def offer_id(decisions: list[Any]) -> int:
    (made,) = [d for d in decisions if isinstance(d, OfferMade)]
    return made.offer_id


# Ordering ---------------------------------------------------------------------------------


def test_items_are_served_by_priority_then_age(engine: type[RouterCore]) -> None:
    router = centre(engine, [queue()], [agent(1, auto_accept=True)])
    router.enqueue(item(1, priority=1, at=0.0), 1.0)
    router.enqueue(item(2, priority=2, at=5.0), 5.0)
    router.enqueue(item(3, priority=1, at=-3.0), 6.0)
    served = offers(router.set_presence(1, "available", 10.0))
    for _ in range(2):
        served += offers(router.complete(served[-1][0], 11.0))
    assert [i for i, _a in served] == [2, 3, 1]


def test_queue_priority_bonus_counts(engine: type[RouterCore]) -> None:
    router = centre(engine, [queue(1), queue(2, priority_bonus=2)], [agent(1)])
    router.enqueue(item(1, 1, priority=2, at=0.0), 0.0)
    router.enqueue(item(2, 2, priority=1, at=5.0), 5.0)
    assert offers(router.set_presence(1, "available", 6.0)) == [(2, 1)]


def test_ties_are_broken_by_the_seed_and_only_by_it(engine: type[RouterCore]) -> None:
    def first(seed: int) -> int:
        router = centre(engine, [queue()], [agent(1)], seed=seed)
        router.enqueue(item(1), 0.0)
        router.enqueue(item(2), 0.0)
        return offers(router.set_presence(1, "available", 1.0))[0][0]

    picks = [first(seed) for seed in range(16)]
    assert set(picks) == {1, 2}
    assert picks == [first(seed) for seed in range(16)]


# Skills and policies -----------------------------------------------------------------------


def test_required_levels_and_item_skills(engine: type[RouterCore]) -> None:
    agents = [agent(1, {1: 4, 2: 9}), agent(2, {1: 5}), agent(3, {1: 5, 2: 3})]
    router = centre(engine, [queue(required_skills={1: 5})], agents, available=(1, 2, 3))
    assert offers(router.enqueue(item(1, extra_skills={2: 3}), 1.0)) == [(1, 3)]
    assert offers(router.enqueue(item(2), 1.0)) == [(2, 2)]
    assert offers(router.enqueue(item(3), 1.0)) == []


def test_longest_idle_picks_who_waited_longest(engine: type[RouterCore]) -> None:
    router = centre(engine, [queue(policy="longest_idle")], [agent(1), agent(2)])
    router.set_presence(2, "available", 0.0)
    router.set_presence(1, "available", 10.0)
    assert offers(router.enqueue(item(1), 20.0)) == [(1, 2)]


def test_least_occupied_picks_the_lightest_load(engine: type[RouterCore]) -> None:
    agents = [agent(1, capacity={"chat": 3}), agent(2, capacity={"chat": 3})]
    router = centre(engine, [queue(policy="least_occupied")], agents, available=(1, 2))
    first = offers(router.enqueue(item(1), 1.0))
    assert len(first) == 1
    other = 3 - first[0][1]
    assert offers(router.enqueue(item(2), 2.0)) == [(2, other)]


def test_highest_skill_picks_the_best_levels(engine: type[RouterCore]) -> None:
    agents = [agent(1, {1: 3, 2: 9}), agent(2, {1: 5, 2: 4}), agent(3, {1: 9})]
    q = queue(policy="highest_skill", required_skills={1: 2, 2: 2})
    router = centre(engine, [q], agents, available=(1, 2, 3))
    assert offers(router.enqueue(item(1), 1.0)) == [(1, 1)]


# Sticky -----------------------------------------------------------------------------------


def test_sticky_agent_gets_first_refusal_then_anyone(engine: type[RouterCore]) -> None:
    router = centre(engine, [queue(sticky_window_s=30.0)], [agent(1), agent(2)], available=(1,))
    assert offers(router.enqueue(item(1, sticky_agent_id=2), 0.0)) == []
    assert router.next_deadline() == 30.0
    assert offers(router.tick(29.0)) == []
    assert offers(router.tick(30.0)) == [(1, 1)]


def test_sticky_agent_is_preferred_while_the_window_runs(engine: type[RouterCore]) -> None:
    router = centre(engine, [queue(sticky_window_s=30.0)], [agent(1), agent(2)])
    router.set_presence(1, "available", 0.0)
    router.set_presence(2, "available", 5.0)
    assert offers(router.enqueue(item(1, sticky_agent_id=2), 6.0)) == [(1, 2)]


def test_a_declining_sticky_agent_ends_the_window(engine: type[RouterCore]) -> None:
    q = queue(sticky_window_s=30.0)
    router = centre(engine, [q], [agent(1), agent(2)], available=(1, 2))
    made = router.enqueue(item(1, sticky_agent_id=2), 0.0)
    out = router.decline(offer_id(made), 1.0, "busy")
    assert offers(out) == [(1, 1)]


# Overflow ---------------------------------------------------------------------------------


def test_overflow_relaxes_levels(engine: type[RouterCore]) -> None:
    q = queue(required_skills={1: 5}, overflow=(OverflowStep(after_s=10.0, relax_levels=2),))
    router = centre(engine, [q], [agent(1, {1: 3})], available=(1,))
    assert offers(router.enqueue(item(1), 0.0)) == []
    assert router.next_deadline() == 10.0
    out = router.tick(10.0)
    assert out[0] == Overflowed(1, 0)
    assert offers(out) == [(1, 1)]


def test_overflow_drops_skills(engine: type[RouterCore]) -> None:
    q = queue(required_skills={1: 5}, overflow=(OverflowStep(after_s=10.0, drop_skills=True),))
    router = centre(engine, [q], [agent(1)], available=(1,))
    router.enqueue(item(1, extra_skills={2: 4}), 0.0)
    assert offers(router.tick(9.0)) == []
    assert offers(router.tick(10.0)) == [(1, 1)]


def test_overflow_adds_queues(engine: type[RouterCore]) -> None:
    q1 = queue(1, required_skills={1: 5}, overflow=(OverflowStep(10.0, add_queue_ids=(2,)),))
    q2 = queue(2, required_skills={2: 5})
    router = centre(engine, [q1, q2], [agent(1, {2: 6})], available=(1,))
    router.enqueue(item(1), 0.0)
    assert offers(router.tick(10.0)) == [(1, 1)]


def test_overflow_raises_priority(engine: type[RouterCore]) -> None:
    q1 = queue(1, overflow=(OverflowStep(10.0, raise_priority_by=5),))
    router = centre(engine, [q1, queue(2)], [agent(1)])
    router.enqueue(item(1, 1, priority=0, at=0.0), 0.0)
    router.enqueue(item(2, 2, priority=3, at=-50.0), 0.0)
    router.tick(10.0)
    assert offers(router.set_presence(1, "available", 11.0)) == [(1, 1)]


def test_overflow_is_measured_from_enqueued_at(engine: type[RouterCore]) -> None:
    q = queue(required_skills={1: 5}, overflow=(OverflowStep(10.0, drop_skills=True),))
    router = centre(engine, [q], [agent(1)], available=(1,))
    router.enqueue(item(1, at=-4.0), 0.0)
    assert router.next_deadline() == 6.0


# Offers -----------------------------------------------------------------------------------


def test_offer_then_accept(engine: type[RouterCore]) -> None:
    router = centre(engine, [queue(offer_timeout_s=15.0)], [agent(1)], available=(1,))
    made = router.enqueue(item(1), 2.0)
    assert made == [OfferMade(1, 1, 1, 17.0)]
    assert router.accept(1, 3.0) == [Assigned(1, 1, False, 1)]
    assert router.item_state(1) == "assigned"
    with pytest.raises(RoutingError):
        router.accept(1, 3.0)


def test_decline_goes_to_the_next_agent(engine: type[RouterCore]) -> None:
    router = centre(engine, [queue()], [agent(1), agent(2)])
    router.set_presence(1, "available", 0.0)
    router.set_presence(2, "available", 1.0)
    made = router.enqueue(item(1), 2.0)
    assert offers(made) == [(1, 1)]
    out = router.decline(offer_id(made), 3.0, "busy")
    assert out[:2] == [OfferDeclined(1, 1, 1, "busy"), Requeued(1, "declined")]
    assert offers(out) == [(1, 2)]


def test_offer_times_out_and_is_rerouted(engine: type[RouterCore]) -> None:
    router = centre(engine, [queue(offer_timeout_s=5.0)], [agent(1), agent(2)])
    router.set_presence(1, "available", 0.0)
    router.set_presence(2, "available", 1.0)
    router.enqueue(item(1), 2.0)
    assert router.next_deadline() == 7.0
    out = router.tick(7.0)
    assert out[:2] == [OfferTimedOut(1, 1, 1), Requeued(1, "offer_timed_out")]
    assert offers(out) == [(1, 2)]


def test_k_missed_offers_in_a_row_make_the_agent_away(engine: type[RouterCore]) -> None:
    router = centre(engine, [queue(offer_timeout_s=5.0, max_missed_offers=2)], [agent(1)])
    router.set_presence(1, "available", 0.0)
    router.enqueue(item(1), 0.0)
    first = router.tick(5.0)
    assert PresenceChanged(1, "away", "missed_offers") not in first
    assert offers(first) == [(1, 1)]
    second = router.tick(10.0)
    assert PresenceChanged(1, "away", "missed_offers") in second
    assert router.presence(1) == "away"
    assert router.item_state(1) == "waiting"


def test_accepting_resets_the_missed_count(engine: type[RouterCore]) -> None:
    q = queue(offer_timeout_s=5.0, max_missed_offers=2)
    router = centre(engine, [q], [agent(1, capacity={"chat": 2})], available=(1,))
    router.enqueue(item(1), 0.0)
    router.tick(5.0)  # missed once, offered again
    router.accept(2, 6.0)
    router.enqueue(item(2), 6.0)
    router.tick(11.0)  # missed once more: not twice in a row
    assert router.presence(1) == "available"


def test_auto_accept_assigns_without_an_offer(engine: type[RouterCore]) -> None:
    router = centre(engine, [queue()], [agent(1, auto_accept=True)], available=(1,))
    assert router.enqueue(item(1), 0.0) == [Assigned(1, 1, True, None)]
    assert router.open_offers() == {}
    assert router.next_deadline() is None


# Wrap-up, capacity, exclusive channels ------------------------------------------------------


def test_wrap_up_blocks_offers_then_restores_presence(engine: type[RouterCore]) -> None:
    q = queue(wrap_up_s=20.0)
    router = centre(engine, [q], [agent(1, auto_accept=True)], available=(1,))
    router.enqueue(item(1), 0.0)
    router.enqueue(item(2), 1.0)
    out = router.complete(1, 10.0)
    assert out == [Completed(1, 1), PresenceChanged(1, "wrap_up", "wrap_up")]
    assert router.next_deadline() == 30.0
    assert offers(router.tick(29.0)) == []
    out = router.tick(30.0)
    assert out[:2] == [WrapUpEnded(1), PresenceChanged(1, "available", "wrap_up_ended")]
    assert offers(out) == [(2, 1)]


def test_capacity_per_channel(engine: type[RouterCore]) -> None:
    agents = [agent(1, capacity={"chat": 2, "email": 1}, auto_accept=True)]
    router = centre(engine, [queue()], agents, available=(1,))
    for iid in (1, 2, 3):
        router.enqueue(item(iid), 0.0)
    router.enqueue(item(4, channel="email"), 0.0)
    router.enqueue(item(5, channel="email"), 0.0)
    router.enqueue(item(6, channel="sms"), 0.0)
    assert router.held(1) == {"chat": 2, "email": 1}
    assert [router.item_state(i) for i in (3, 5, 6)] == ["waiting"] * 3
    assert offers(router.complete(1, 1.0)) == [(3, 1)]


def test_exclusive_channel_blocks_the_others(engine: type[RouterCore]) -> None:
    a = agent(1, capacity={"voice": 1, "chat": 2}, exclusive_channels=frozenset({"voice"}))
    router = centre(engine, [queue()], [AgentConfig(**{**_fields(a), "auto_accept": True})])
    router.set_presence(1, "available", 0.0)
    router.enqueue(item(1, channel="chat"), 0.0)
    assert offers(router.enqueue(item(2, channel="voice"), 1.0)) == []
    router.complete(1, 2.0)  # the voice call goes first now
    assert router.held(1) == {"voice": 1}
    assert offers(router.enqueue(item(3, channel="chat"), 3.0)) == []
    assert offers(router.complete(2, 4.0)) == [(3, 1)]


def _fields(config: AgentConfig) -> dict[str, Any]:
    return {
        "agent_id": config.agent_id,
        "skills": config.skills,
        "capacity": config.capacity,
        "exclusive_channels": config.exclusive_channels,
        "auto_accept": config.auto_accept,
    }


def test_leaving_available_withdraws_open_offers(engine: type[RouterCore]) -> None:
    router = centre(engine, [queue()], [agent(1), agent(2)], available=(1,))
    router.enqueue(item(1), 0.0)
    router.set_presence(2, "available", 1.0)
    out = router.set_presence(1, "busy", 2.0, "lunch")
    assert out[:3] == [
        PresenceChanged(1, "busy", "lunch"),
        OfferWithdrawn(1, 1, 1, "presence_changed"),
        Requeued(1, "presence_changed"),
    ]
    assert offers(out) == [(1, 2)]


# Transfers, disconnects, abandons ----------------------------------------------------------


def test_transfers_count_and_reroute(engine: type[RouterCore]) -> None:
    q2 = queue(2, required_skills={3: 5})
    agents = [agent(1, auto_accept=True), agent(2, {3: 7})]
    router = centre(engine, [queue(1), q2], agents, available=(1, 2))
    router.enqueue(item(1), 0.0)
    assert router.item_state(1) == "assigned"
    out = router.transfer_to_queue(1, 2, 5.0, "billing")
    assert out[0] == Transferred(1, 2, None, 1, "billing")
    assert offers(out) == [(1, 2)]
    out = router.transfer_to_queue(1, 1, 6.0)
    assert out[:2] == [OfferWithdrawn(1, 1, 2, "transferred"), Transferred(1, 1, None, 2, None)]


def test_transfer_to_agent_offers_to_that_agent_only(engine: type[RouterCore]) -> None:
    q = queue(required_skills={1: 5})
    agents = [agent(1, {1: 9}), agent(2), agent(3, {1: 9})]
    router = centre(engine, [q], agents, available=(1, 3))
    made = router.enqueue(item(1), 0.0)
    router.accept(offer_id(made), 1.0)
    out = router.transfer_to_agent(1, 2, 2.0, "vip")
    assert out == [Transferred(1, None, 2, 1, "vip")]  # agent 2 is offline: it waits for them
    assert offers(router.set_presence(2, "available", 3.0)) == [(1, 2)]
    out = router.decline(router_offer(router, 1), 4.0, "no")
    ((_item, to),) = offers(out)
    assert to in {1, 3}  # refused: back to the queue's agents


def router_offer(router: RouterCore, item_id: int) -> int:
    (oid,) = [o for o, (i, _a) in router.open_offers().items() if i == item_id]
    return oid


def test_disconnect_requeues_offers_and_assignments_at_their_age(
    engine: type[RouterCore],
) -> None:
    agents = [agent(1, capacity={"chat": 2}), agent(2)]
    router = centre(engine, [queue()], agents, available=(1,))
    made = router.enqueue(item(1, at=-100.0), 0.0)
    router.accept(offer_id(made), 1.0)
    router.enqueue(item(2, at=-50.0), 2.0)  # offered to agent 1, still open
    router.enqueue(item(3, at=-10.0), 3.0)  # waits: agent 1 is full
    out = router.disconnect(1, 4.0)
    assert out[0] == PresenceChanged(1, "offline", "disconnected")
    assert OfferWithdrawn(2, 2, 1, "disconnected") in out
    assert Requeued(1, "agent_disconnected") in out
    assert router.presence(1) == "offline"
    assert offers(router.set_presence(2, "available", 5.0)) == [(1, 2)]  # oldest first


def test_abandon_counts_and_frees_the_agent(engine: type[RouterCore]) -> None:
    router = centre(engine, [queue()], [agent(1)], available=(1,))
    router.enqueue(item(1, at=0.0), 0.0)
    router.enqueue(item(2, at=1.0), 1.0)
    assert router.abandon(2, 31.0) == [Abandoned(2, 30.0)]
    out = router.abandon(1, 40.0)
    assert out == [OfferWithdrawn(1, 1, 1, "abandoned"), Abandoned(1, 40.0)]
    assert router.held(1) == {}
    assert router.item_state(1) is None


def test_bad_commands_raise_and_change_nothing(engine: type[RouterCore]) -> None:
    router = centre(engine, [queue()], [agent(1, auto_accept=True)], available=(1,))
    router.enqueue(item(1), 0.0)
    with pytest.raises(RoutingError):
        router.enqueue(item(1), 0.0)
    with pytest.raises(RoutingError):
        router.enqueue(item(2, 9), 0.0)
    with pytest.raises(RoutingError):
        router.abandon(1, 1.0)  # assigned
    with pytest.raises(RoutingError):
        router.remove_queue(1)
    with pytest.raises(RoutingError):
        router.set_presence(1, "wrap_up", 1.0)
    with pytest.raises(RoutingError):
        router.complete(99, 1.0)
    assert router.item_state(1) == "assigned"
    assert router.held(1) == {"chat": 1}


def test_config_validation() -> None:
    with pytest.raises(RoutingError):
        QueueConfig(1, overflow=(OverflowStep(20.0), OverflowStep(10.0)))
    with pytest.raises(RoutingError):
        AgentConfig(1, skills={1: 11})
    with pytest.raises(RoutingError):
        QueueConfig(1, offer_timeout_s=0)


def test_reconfiguring_a_queue_reroutes_its_items(engine: type[RouterCore]) -> None:
    router = centre(engine, [queue(required_skills={1: 5})], [agent(1)], available=(1,))
    router.enqueue(item(1), 0.0)
    assert offers(router.configure_queue(queue(required_skills={}), 1.0)) == [(1, 1)]


def test_skill_changes_make_an_agent_eligible(engine: type[RouterCore]) -> None:
    router = centre(engine, [queue(required_skills={1: 5})], [agent(1)], available=(1,))
    router.enqueue(item(1), 0.0)
    assert offers(router.upsert_agent(agent(1, {1: 5}), 1.0)) == [(1, 1)]
