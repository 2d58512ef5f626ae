"""Random contact centres and command sequences, run through any engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from omnidesk.routing.engine import (
    AgentConfig,
    Decision,
    NaiveRouter,
    OverflowStep,
    QueueConfig,
    RoutingError,
    WorkItem,
)
from omnidesk.routing.engine.core import RouterCore
from omnidesk.routing.engine.rules import WAITING, is_free, statically_eligible

CHANNELS = ("voice", "chat", "email")
SKILLS = (1, 2, 3, 4)
QUEUES = (1, 2, 3)
KINDS = (
    "enqueue",
    "enqueue",
    "presence",
    "presence",
    "tick",
    "tick",
    "accept",
    "accept",
    "decline",
    "complete",
    "complete",
    "abandon",
    "transfer_queue",
    "transfer_agent",
    "disconnect",
    "reconfigure",
    "upsert",
)


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[Any, ...]

    def run(self, router: RouterCore) -> list[Decision]:
        result: list[Decision] = getattr(router, self.name)(*self.args)
        return result


Outcome = list[Decision] | str


def outcome(command: Command, router: RouterCore) -> Outcome:
    """The decisions, or the error: with another seed a drawn command may not fit any more."""
    try:
        return command.run(router)
    except RoutingError as exc:
        return f"RoutingError: {exc}"


def run(commands: list[Command], router: RouterCore, *, check: bool = False) -> list[Outcome]:
    out = []
    for command in commands:
        out.append(outcome(command, router))
        if check:
            check_invariants(router)
    return out


levels = st.integers(min_value=1, max_value=10)
skill_maps = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 6), max_size=2)
capacities = st.fixed_dictionaries({channel: st.integers(0, 3) for channel in CHANNELS})


@st.composite
def queue_configs(draw: st.DrawFn, queue_id: int) -> QueueConfig:
    steps = draw(
        st.lists(
            st.builds(
                OverflowStep,
                after_s=st.sampled_from([5.0, 10.0, 20.0]),
                relax_levels=st.integers(0, 3),
                drop_skills=st.booleans(),
                add_queue_ids=st.lists(st.sampled_from(QUEUES), max_size=2).map(tuple),
                raise_priority_by=st.integers(0, 2),
            ),
            max_size=2,
        )
    )
    return QueueConfig(
        queue_id=queue_id,
        priority_bonus=draw(st.integers(0, 2)),
        required_skills=draw(skill_maps),
        policy=draw(st.sampled_from(["longest_idle", "least_occupied", "highest_skill"])),
        offer_timeout_s=draw(st.sampled_from([3.0, 8.0])),
        wrap_up_s=draw(st.sampled_from([0.0, 0.0, 4.0])),
        max_missed_offers=draw(st.integers(0, 2)),
        sticky_window_s=draw(st.sampled_from([0.0, 6.0])),
        overflow=tuple(sorted(steps, key=lambda s: s.after_s)),
    )


@st.composite
def agent_configs(draw: st.DrawFn, agent_id: int, capacity: dict[str, int]) -> AgentConfig:
    """Capacity and exclusive channels stay put: lowering them is not the router's doing."""
    return AgentConfig(
        agent_id=agent_id,
        skills=draw(st.dictionaries(st.sampled_from(SKILLS), levels, min_size=1, max_size=4)),
        capacity=capacity,
        exclusive_channels=frozenset({"voice"}) if agent_id % 2 else frozenset(),
        auto_accept=draw(st.integers(0, 3)) == 0,
    )


@st.composite
def work_items(draw: st.DrawFn, item_id: int, now: float, n_agents: int) -> WorkItem:
    return WorkItem(
        item_id=item_id,
        conversation_id=item_id,
        contact_id=draw(st.integers(1, 3)),
        channel=draw(st.sampled_from(CHANNELS)),
        queue_id=draw(st.sampled_from(QUEUES)),
        priority=draw(st.integers(0, 3)),
        enqueued_at=now - draw(st.sampled_from([0.0, 0.0, 2.0])),
        extra_skills=draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=1)),
        sticky_agent_id=draw(st.none() | st.integers(1, n_agents)),
    )


@st.composite
def scenarios(draw: st.DrawFn, max_steps: int = 40) -> list[Command]:
    """A set-up, then commands drawn against the state a naive router (seed 0) is in."""
    commands: list[Command] = []
    shadow = NaiveRouter(seed=0)
    now = 0.0

    def add(name: str, *args: Any) -> None:
        command = Command(name, args)
        commands.append(command)
        outcome(command, shadow)

    for qid in QUEUES:
        add("configure_queue", draw(queue_configs(qid)), now)
    n_agents = draw(st.integers(1, 5))
    caps = {aid: draw(capacities) for aid in range(1, n_agents + 1)}
    for aid in range(1, n_agents + 1):
        add("upsert_agent", draw(agent_configs(aid, caps[aid])), now)
        if draw(st.booleans()):
            add("set_presence", aid, "available", now, "start")
    next_item = 1
    for _ in range(draw(st.integers(5, max_steps))):
        now += draw(st.sampled_from([0.0, 0.5, 1.0, 3.0, 7.0]))
        offers = sorted(shadow.open_offers())
        items = sorted(shadow._items)
        assigned = [i for i in items if shadow.item_state(i) == "assigned"]
        unassigned = [i for i in items if shadow.item_state(i) != "assigned"]
        kind = draw(st.sampled_from(KINDS))
        agent = draw(st.integers(1, n_agents))
        if kind == "enqueue":
            add("enqueue", draw(work_items(next_item, now, n_agents)), now)
            next_item += 1
        elif kind == "presence":
            presence = draw(st.sampled_from(["available", "available", "away", "busy", "offline"]))
            add("set_presence", agent, presence, now, "test")
        elif kind == "tick":
            deadline = shadow.next_deadline()
            if deadline is not None and draw(st.booleans()):
                now = max(now, deadline)
            add("tick", now)
        elif kind == "accept" and offers:
            add("accept", draw(st.sampled_from(offers)), now)
        elif kind == "decline" and offers:
            add("decline", draw(st.sampled_from(offers)), now, "no")
        elif kind == "complete" and assigned:
            add("complete", draw(st.sampled_from(assigned)), now)
        elif kind == "abandon" and unassigned:
            add("abandon", draw(st.sampled_from(unassigned)), now)
        elif kind == "transfer_queue" and items:
            add(
                "transfer_to_queue",
                draw(st.sampled_from(items)),
                draw(st.sampled_from(QUEUES)),
                now,
                "n",
            )
        elif kind == "transfer_agent" and items:
            add("transfer_to_agent", draw(st.sampled_from(items)), agent, now, "n")
        elif kind == "disconnect":
            add("disconnect", agent, now)
        elif kind == "reconfigure":
            qid = draw(st.sampled_from(QUEUES))
            add("configure_queue", draw(queue_configs(qid)), now)
        elif kind == "upsert":
            add("upsert_agent", draw(agent_configs(agent, caps[agent])), now)
    return commands


def check_invariants(router: RouterCore) -> None:
    """What must hold after every command, whatever happened before."""
    offered_items: set[int] = set()
    for offer in router._offers.values():
        assert offer.item_id not in offered_items, "an item offered twice"
        offered_items.add(offer.item_id)
        assert router._items[offer.item_id].agent_id == offer.agent_id
    holders: dict[int, int] = {}
    for agent in router._agents.values():
        held: dict[str, int] = {}
        mine = [router._offers[o].item_id for o in agent.offers] + list(agent.assigned)
        for iid in mine:
            assert iid not in holders, f"item {iid} held by two agents"
            holders[iid] = agent.agent_id
            channel = router._items[iid].channel
            held[channel] = held.get(channel, 0) + 1
        assert {c: n for c, n in agent.held.items() if n} == held, "capacity accounting"
        for channel, n in held.items():
            assert n <= agent.config.capacity.get(channel, 0), "agent above capacity"
        exclusive = sum(n for c, n in held.items() if c in agent.config.exclusive_channels)
        assert not exclusive or sum(held.values()) == 1, "an exclusive channel shared"
    # Maximality: no waiting item has a free eligible agent (sticky keys included).
    for item in router._items.values():
        if item.state != WAITING:
            continue
        for key in item.alts:
            for agent in router._agents.values():
                assert not (statically_eligible(agent, key) and is_free(agent, key[1])), (
                    f"item {item.item_id} waits while agent {agent.agent_id} is free for it"
                )
