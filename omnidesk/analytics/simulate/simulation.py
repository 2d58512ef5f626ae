"""A simulated day through the real routing engine, in virtual time.

A heap of events (arrivals, abandonments, offers accepted, work done, shifts starting and
ending) moves a virtual clock; the routing engine (:class:`omnidesk.routing.engine.Router`,
the decision core the server's router runs) is given each command at the clock's time and
its own timers (offer time-outs, overflow, wrap-up) are run with ``tick`` whenever they fall
due before the next event. The simulator only plays the world around it: customers who
arrive and give up, agents who answer offers and finish their work.

Deterministic: the same scenario and seed give the same day. Each traffic stream draws its
arrivals and its contacts' handle times and patience from its own random stream, so two
variants of a scenario (more agents, another policy) meet the same customers.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from omnidesk.analytics.simulate.scenario import Distribution, Scenario, Traffic
from omnidesk.routing import engine

# Event kinds, in the order they are handled at the same instant.
_SHIFT_END, _COMPLETE, _ACCEPT, _ABANDON, _SHIFT_START, _ARRIVAL = range(6)
#: Events between two progress reports.
PROGRESS_EVERY = 2048


class VirtualClock:
    """The simulation's clock (:class:`omnidesk.kit.clock.Clock`): seconds since the start."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.t = 0.0

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.t)


@dataclass(slots=True)
class Contact:
    """One customer's contact as the simulation saw it (seconds from the start)."""

    id: int
    queue: str
    channel: str
    arrived_s: float
    handle_s: float
    patience_s: float
    agent_id: int | None = None
    answered_s: float | None = None
    abandoned_s: float | None = None
    ended_s: float | None = None
    wrap_up_s: float = 0.0


@dataclass(frozen=True)
class Agent:
    id: int
    group: str
    accept_delay: Distribution
    #: (start, end) in seconds from the start.
    shifts: tuple[tuple[float, float], ...]


@dataclass
class Result:
    scenario: Scenario
    seed: int
    contacts: list[Contact]
    agents: list[Agent]
    events: int
    #: Virtual seconds from the start to the last event.
    end_s: float


def sample(distribution: Distribution, rng: random.Random) -> float:
    """One draw; a lognormal is given by its own mean and standard deviation (not its log's)."""
    mean = distribution.mean_s
    if distribution.kind == "fixed":
        return mean
    if distribution.kind == "exponential":
        return rng.expovariate(1.0 / mean)
    assert distribution.sd_s is not None
    sigma2 = math.log1p((distribution.sd_s / mean) ** 2)
    return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))


class _Stream:
    """Poisson arrivals of one traffic stream, rate constant within each interval."""

    def __init__(self, traffic: Traffic, end_s: float, rng: random.Random) -> None:
        self.traffic = traffic
        self.rng = rng
        arrivals = traffic.arrivals
        if arrivals.counts is None:
            assert arrivals.per_hour is not None
            self.length_s = end_s
            self.rates = [arrivals.per_hour / 3600.0]
        else:
            self.length_s = arrivals.interval_min * 60.0
            self.rates = [count / self.length_s for count in arrivals.counts]
        self.end_s = end_s
        self.t = 0.0

    def next_arrival(self) -> float | None:
        """The time of the next arrival after the last one, or None when the day is over."""
        t = self.t
        while True:
            index = int(t // self.length_s)
            if index >= len(self.rates) or t >= self.end_s:
                return None
            boundary = min((index + 1) * self.length_s, self.end_s)
            rate = self.rates[index]
            gap = self.rng.expovariate(rate) if rate > 0 else math.inf
            if t + gap < boundary:
                self.t = t + gap
                return self.t
            t = boundary  # memoryless: start afresh at the next interval's rate


class Simulation:
    """One run of a scenario. ``run()`` returns the contacts and agents of the day."""

    def __init__(self, scenario: Scenario, *, seed: int | None = None) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.clock = VirtualClock(scenario.start)
        self.router = engine.Router(seed=self.seed)
        self._heap: list[tuple[float, int, int, int]] = []
        self._seq = 0
        self.contacts: list[Contact] = []
        self.agents: dict[int, Agent] = {}
        self._open_offers: set[int] = set()
        self._accept_rng = random.Random(f"{self.seed}:accept")
        self._queue_ids = {name: n for n, name in enumerate(scenario.queues, start=1)}
        self._wrap_up = {
            self._queue_ids[name]: spec.wrap_up_s for name, spec in scenario.queues.items()
        }
        skill_names = sorted(
            {s for q in scenario.queues.values() for s in q.skills}
            | {s for g in scenario.agents for s in g.skills}
        )
        self._skill_ids = {name: n for n, name in enumerate(skill_names, start=1)}
        self._streams = [
            _Stream(traffic, scenario.end_s, random.Random(f"{self.seed}:traffic:{n}"))
            for n, traffic in enumerate(scenario.traffic)
        ]
        self.events = 0

    # Set-up -------------------------------------------------------------------------------

    def _at(self, when: float, kind: int, ident: int) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, kind, self._seq, ident))

    def _configure(self) -> None:
        for name, spec in self.scenario.queues.items():
            self.router.configure_queue(
                engine.QueueConfig(
                    queue_id=self._queue_ids[name],
                    priority_bonus=spec.priority_bonus,
                    required_skills={self._skill_ids[s]: lv for s, lv in spec.skills.items()},
                    policy=spec.policy,
                    offer_timeout_s=spec.offer_timeout_s,
                    wrap_up_s=spec.wrap_up_s,
                    max_missed_offers=spec.max_missed_offers,
                )
            )
        agent_id = 0
        for group in self.scenario.agents:
            # Without shifts, agents stay until the day's work is done.
            shifts = tuple((s.start_h * 3600.0, s.end_h * 3600.0) for s in group.shifts or ()) or (
                (0.0, math.inf),
            )
            for _ in range(group.count):
                agent_id += 1
                self.agents[agent_id] = Agent(agent_id, group.name, group.accept_delay, shifts)
                self.router.upsert_agent(
                    engine.AgentConfig(
                        agent_id=agent_id,
                        skills={self._skill_ids[s]: lv for s, lv in group.skills.items()},
                        capacity=dict(group.capacity),
                        exclusive_channels=frozenset(group.exclusive_channels),
                        auto_accept=group.auto_accept,
                    )
                )
                for start, end in shifts:
                    self._at(start, _SHIFT_START, agent_id)
                    if end != math.inf:
                        self._at(end, _SHIFT_END, agent_id)
        for n, stream in enumerate(self._streams):
            first = stream.next_arrival()
            if first is not None:
                self._at(first, _ARRIVAL, n)

    # The run ------------------------------------------------------------------------------

    def run(self, progress: Callable[[float], None] | None = None) -> Result:
        self._configure()
        router, heap, clock = self.router, self._heap, self.clock
        react = self._react
        while True:
            deadline = router.next_deadline()
            if deadline is not None and (not heap or deadline <= heap[0][0]):
                clock.t = max(clock.t, deadline)
                react(router.tick(clock.t))
                continue
            if not heap:
                break
            when, kind, _seq, ident = heapq.heappop(heap)
            clock.t = when
            self.events += 1
            if progress is not None and self.events % PROGRESS_EVERY == 0:
                progress(when)
            if kind == _ARRIVAL:
                self._arrive(ident, when)
            elif kind == _ACCEPT:
                if ident in self._open_offers:
                    react(router.accept(ident, when))
            elif kind == _COMPLETE:
                contact = self.contacts[ident]
                contact.ended_s = when
                react(router.complete(ident, when))
            elif kind == _ABANDON:
                contact = self.contacts[ident]
                if contact.answered_s is None and contact.abandoned_s is None:
                    contact.abandoned_s = when
                    react(router.abandon(ident, when))
            elif kind == _SHIFT_START:
                react(router.set_presence(ident, "available", when, "shift"))
            else:
                react(router.set_presence(ident, "offline", when, "shift_end"))
        if progress is not None:
            progress(clock.t)
        return Result(
            self.scenario,
            self.seed,
            self.contacts,
            list(self.agents.values()),
            self.events,
            clock.t,
        )

    def _arrive(self, stream_index: int, now: float) -> None:
        stream = self._streams[stream_index]
        traffic = stream.traffic
        rng = stream.rng
        contact_id = len(self.contacts)
        queue_id = self._queue_ids[traffic.queue]
        contact = Contact(
            id=contact_id,
            queue=traffic.queue,
            channel=traffic.channel,
            arrived_s=now,
            handle_s=sample(traffic.handle_time, rng),
            patience_s=math.inf if traffic.patience is None else sample(traffic.patience, rng),
            wrap_up_s=self._wrap_up[queue_id],
        )
        self.contacts.append(contact)
        if contact.patience_s != math.inf:
            self._at(now + contact.patience_s, _ABANDON, contact_id)
        following = stream.next_arrival()
        if following is not None:
            self._at(following, _ARRIVAL, stream_index)
        item = engine.WorkItem(
            item_id=contact_id,
            conversation_id=contact_id,
            contact_id=contact_id,
            channel=traffic.channel,
            queue_id=queue_id,
            priority=1,
            enqueued_at=now,
        )
        self._react(self.router.enqueue(item, now))

    def _react(self, decisions: list[engine.Decision]) -> None:
        now = self.clock.t
        for decision in decisions:
            if type(decision) is engine.OfferMade:
                self._open_offers.add(decision.offer_id)
                agent = self.agents[decision.agent_id]
                delay = sample(agent.accept_delay, self._accept_rng)
                self._at(now + delay, _ACCEPT, decision.offer_id)
            elif type(decision) is engine.Assigned:
                if decision.offer_id is not None:
                    self._open_offers.discard(decision.offer_id)
                contact = self.contacts[decision.item_id]
                contact.agent_id = decision.agent_id
                contact.answered_s = now
                self._at(now + contact.handle_s, _COMPLETE, decision.item_id)
            elif type(decision) in (engine.OfferTimedOut, engine.OfferWithdrawn):
                self._open_offers.discard(decision.offer_id)  # type: ignore[union-attr]
