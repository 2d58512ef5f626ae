"""``omnidesk bench routing``: the router's decision core in virtual time, no I/O.

A seeded synthetic contact centre (agents with random skills, levels, channels and
capacities; queues with required skills, policies and overflow steps) is filled with
``waiting`` items, then run in a steady state: agents accept offers after a few seconds
(some decline, some let the offer time out), complete after a random handle time, now and
then step away; each completion or abandonment brings a new arrival, so the backlog stays.
Only the router's commands are timed (``time.perf_counter_ns`` around each call), never the
simulation around them.

The naive router starts from a copy of the same filled state and replays the same
simulation for fewer decisions: its figures are the baseline, and its decisions must be
the indexed router's (``baseline_agrees``). Scaling runs the indexed router at a tenth and
ten times the agents, with the backlog scaled alike so every size runs under the same load.
"""

from __future__ import annotations

import copy
import gc
import heapq
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from omnidesk.bench.harness import machine_info
from omnidesk.routing.engine import (
    Abandoned,
    AgentConfig,
    Assigned,
    Completed,
    Decision,
    NaiveRouter,
    OfferDeclined,
    OfferMade,
    OfferTimedOut,
    OfferWithdrawn,
    OverflowStep,
    PresenceChanged,
    QueueConfig,
    Requeued,
    Router,
    WorkItem,
)
from omnidesk.routing.engine.core import RouterCore

#: channel -> (share of queues, capacity of an agent who works it, mean handle time in s)
CHANNELS: dict[str, tuple[float, int, float]] = {
    "voice": (0.3, 1, 240.0),
    "chat": (0.35, 3, 420.0),
    "email": (0.2, 5, 300.0),
    "sms": (0.1, 3, 300.0),
    "whatsapp": (0.05, 3, 360.0),
}
POLICIES = ("longest_idle", "least_occupied", "highest_skill")
#: Virtual seconds run after the fill before measuring.
WARM_UP_S = 120.0


@dataclass(frozen=True)
class RoutingBenchConfig:
    agents: int = 2000
    queues: int = 200
    skills: int = 50
    waiting: int = 10_000
    decisions: int = 100_000
    baseline_decisions: int = 1000
    baseline_seconds: float = 30.0
    seed: int = 0
    scaling: bool = True


@dataclass
class Centre:
    queues: list[QueueConfig]
    agents: list[AgentConfig]
    queue_channel: dict[int, str]


def build_centre(agents: int, queues: int, skills: int, seed: int) -> Centre:
    """Seeded: the same arguments always give the same centre."""
    rng = random.Random(seed)
    names = list(CHANNELS)
    shares = [CHANNELS[c][0] for c in names]
    queue_configs: list[QueueConfig] = []
    queue_channel: dict[int, str] = {}
    for qid in range(1, queues + 1):
        required = {rng.randint(1, skills): rng.randint(1, 5)}
        if rng.random() < 0.4:
            required[rng.randint(1, skills)] = rng.randint(1, 4)
        others = tuple(rng.randint(1, queues) for _ in range(2))
        queue_configs.append(
            QueueConfig(
                queue_id=qid,
                priority_bonus=rng.randint(0, 2),
                required_skills=required,
                policy=rng.choice(POLICIES),  # type: ignore[arg-type]
                offer_timeout_s=20.0,
                wrap_up_s=rng.choice((0.0, 10.0, 30.0)),
                max_missed_offers=3,
                sticky_window_s=rng.choice((0.0, 30.0)),
                overflow=(
                    OverflowStep(after_s=60.0, relax_levels=2),
                    OverflowStep(after_s=180.0, add_queue_ids=others, raise_priority_by=1),
                    OverflowStep(after_s=600.0, drop_skills=True),
                ),
            )
        )
        queue_channel[qid] = rng.choices(names, shares)[0]
    agent_configs: list[AgentConfig] = []
    for aid in range(1, agents + 1):
        # Four to eight skills each, or every skill when there are fewer.
        held = rng.sample(range(1, skills + 1), rng.randint(min(4, skills), min(8, skills)))
        levels = {s: rng.randint(3, 10) for s in held}
        capacity = {"chat": CHANNELS["chat"][1]}
        for channel, share in (("voice", 0.5), ("email", 0.6), ("sms", 0.3), ("whatsapp", 0.3)):
            if rng.random() < share:
                capacity[channel] = CHANNELS[channel][1]
        agent_configs.append(
            AgentConfig(
                agent_id=aid,
                skills=levels,
                capacity=capacity,
                exclusive_channels=frozenset({"voice"}),
                auto_accept=rng.random() < 0.1,
            )
        )
    return Centre(queue_configs, agent_configs, queue_channel)


@dataclass
class Sim:
    """The world around the router: customers and agents reacting to its decisions."""

    centre: Centre
    rng: random.Random
    now: float = 0.0
    next_item: int = 1
    seq: int = 0
    events: list[tuple[float, int, str, int, int]] = field(default_factory=list)
    state: dict[int, str] = field(default_factory=dict)  # item -> waiting/offered/assigned
    assignments: dict[int, int] = field(default_factory=dict)  # item -> assignment number
    open_offers: set[int] = field(default_factory=set)
    channels: dict[int, str] = field(default_factory=dict)
    waiting: int = 0

    def at(self, when: float, kind: str, a: int, b: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.events, (when, self.seq, kind, a, b))

    def new_item(self, enqueued_at: float) -> WorkItem:
        rng = self.rng
        qid = rng.randint(1, len(self.centre.queues))
        iid = self.next_item
        self.next_item += 1
        sticky = rng.randint(1, len(self.centre.agents)) if rng.random() < 0.05 else None
        if rng.random() < 0.02:
            self.at(self.now + rng.uniform(30.0, 600.0), "abandon", iid)
        self.channels[iid] = self.centre.queue_channel[qid]
        return WorkItem(
            item_id=iid,
            conversation_id=iid,
            contact_id=iid,
            channel=self.channels[iid],
            queue_id=qid,
            priority=rng.choices((0, 1, 2, 3), (0.2, 0.6, 0.15, 0.05))[0],
            enqueued_at=enqueued_at,
            sticky_agent_id=sticky,
        )

    def _set(self, item_id: int, state: str | None) -> None:
        old = self.state.pop(item_id, None)
        if old == "waiting":
            self.waiting -= 1
        if state is not None:
            self.state[item_id] = state
            if state == "waiting":
                self.waiting += 1

    def enqueued(self, item: WorkItem) -> None:
        self._set(item.item_id, "waiting")

    def react(self, decisions: list[Decision]) -> None:
        rng, now = self.rng, self.now
        for d in decisions:
            if isinstance(d, OfferMade):
                self._set(d.item_id, "offered")
                self.open_offers.add(d.offer_id)
                roll = rng.random()
                if roll < 0.03:
                    self.at(now + rng.uniform(1.0, 5.0), "decline", d.offer_id)
                elif roll >= 0.04:  # the other 1 % are missed: they time out
                    self.at(now + rng.uniform(0.5, 4.0), "accept", d.offer_id)
            elif isinstance(d, Assigned):
                if d.offer_id is not None:
                    self.open_offers.discard(d.offer_id)
                self._set(d.item_id, "assigned")
                n = self.assignments.get(d.item_id, 0) + 1
                self.assignments[d.item_id] = n
                mean = CHANNELS[self.channels[d.item_id]][2]
                self.at(now + rng.expovariate(1.0 / mean), "complete", d.item_id, n)
            elif isinstance(d, OfferWithdrawn | OfferDeclined | OfferTimedOut):
                self.open_offers.discard(d.offer_id)
            elif isinstance(d, Requeued):
                self._set(d.item_id, "waiting")
            elif isinstance(d, Completed | Abandoned):
                self._set(d.item_id, None)
                self.assignments.pop(d.item_id, None)
                self.channels.pop(d.item_id, None)
                self.at(now + rng.expovariate(1.0), "arrive", 0)
                if isinstance(d, Completed) and rng.random() < 0.002:
                    self.at(now + 1.0, "away", d.agent_id)
            elif isinstance(d, PresenceChanged) and d.reason == "missed_offers":
                self.at(now + 30.0, "back", d.agent_id)


@dataclass
class Timings:
    ns: list[int] = field(default_factory=list)  # per command that made decisions
    total_ns: int = 0
    decisions: int = 0
    commands: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    log: list[Decision] = field(default_factory=list)
    keep_log: int = 0


def _timed(router: RouterCore, timings: Timings, name: str, *args: Any) -> list[Decision]:
    method = getattr(router, name)
    start = time.perf_counter_ns()
    out: list[Decision] = method(*args)
    elapsed = time.perf_counter_ns() - start
    timings.total_ns += elapsed
    timings.commands += 1
    if out:
        timings.ns.append(elapsed)
        timings.decisions += len(out)
        for d in out:
            timings.kinds[type(d).__name__] += 1
        if len(timings.log) < timings.keep_log:
            timings.log.extend(out)
    return out


def fill(centre: Centre, waiting: int, seed: int) -> tuple[Router, Sim]:
    """A router with every agent available and ``waiting`` items left waiting."""
    router = Router(seed)
    sim = Sim(centre, random.Random(seed + 1))
    for queue in centre.queues:
        router.configure_queue(queue)
    for agent in centre.agents:
        router.upsert_agent(agent)
    for agent in centre.agents:
        sim.react(router.set_presence(agent.agent_id, "available", 0.0))
    while sim.waiting < waiting:
        # Already waiting for up to 5 minutes, so overflow steps keep falling due.
        item = sim.new_item(-sim.rng.uniform(0.0, 300.0))
        sim.enqueued(item)
        sim.react(router.enqueue(item, 0.0))
    # The backlog's overdue overflow steps, at once: set-up, not the steady state.
    sim.react(router.tick(0.0))
    # Then the burst of first accepts, declines and time-outs settles.
    steady_state(router, sim, decisions=2**62, until_s=WARM_UP_S)
    # A long-lived router does the same after loading: the collector then only walks what
    # changed since, instead of pausing ~0.1 s for a full pass over every record.
    gc.collect()
    gc.freeze()
    return router, sim


def steady_state(
    router: RouterCore,
    sim: Sim,
    decisions: int,
    keep_log: int = 0,
    budget_s: float = math.inf,
    until_s: float = math.inf,
) -> Timings:
    """Run the simulation until the router has made ``decisions`` decisions (or spent
    ``budget_s`` of timed commands)."""
    timings = Timings(keep_log=keep_log)
    events = sim.events
    budget_ns = budget_s * 1e9
    while timings.decisions < decisions and timings.total_ns < budget_ns and sim.now < until_s:
        start = time.perf_counter_ns()
        deadline = router.next_deadline()
        timings.total_ns += time.perf_counter_ns() - start
        if deadline is not None and (not events or deadline <= events[0][0]):
            sim.now = max(sim.now, deadline)
            sim.react(_timed(router, timings, "tick", sim.now))
            continue
        if not events:
            break
        when, _seq, kind, a, b = heapq.heappop(events)
        sim.now = now = max(sim.now, when)
        out: list[Decision] = []
        if kind == "accept" and a in sim.open_offers:
            out = _timed(router, timings, "accept", a, now)
        elif kind == "decline" and a in sim.open_offers:
            out = _timed(router, timings, "decline", a, now, "busy")
        elif kind == "complete" and sim.assignments.get(a) == b and sim.state.get(a) == "assigned":
            out = _timed(router, timings, "complete", a, now)
        elif kind == "abandon" and sim.state.get(a) in ("waiting", "offered"):
            out = _timed(router, timings, "abandon", a, now)
        elif kind == "arrive":
            item = sim.new_item(now)
            sim.enqueued(item)
            out = _timed(router, timings, "enqueue", item, now)
        elif kind == "away":
            out = _timed(router, timings, "set_presence", a, "away", now, "break")
            sim.at(now + 60.0, "back", a)
        elif kind == "back":
            out = _timed(router, timings, "set_presence", a, "available", now, "back")
        sim.react(out)
    return timings


def _percentile(values: list[int], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] / 1000.0


def _figures(t: Timings) -> dict[str, Any]:
    seconds = t.total_ns / 1e9
    return {
        "decisions": t.decisions,
        "commands": t.commands,
        "commands_with_decisions": len(t.ns),
        "decisions_per_s": round(t.decisions / seconds, 1) if seconds else 0.0,
        "mean_us_per_decision": round(t.total_ns / t.decisions / 1000.0, 2) if t.decisions else 0,
        "p50_us": round(_percentile(t.ns, 0.50), 1),
        "p99_us": round(_percentile(t.ns, 0.99), 1),
        "max_us": round(_percentile(t.ns, 1.0), 1),
    }


def run_point(
    config: RoutingBenchConfig, agents: int, waiting: int, decisions: int
) -> dict[str, Any]:
    centre = build_centre(agents, config.queues, config.skills, config.seed)
    router, sim = fill(centre, waiting, config.seed)
    timings = steady_state(router, sim, decisions)
    return {"agents": agents, "waiting": waiting, **_figures(timings)}


def run_bench(config: RoutingBenchConfig, console: Console | None = None) -> dict[str, Any]:
    say = console.print if console is not None else (lambda *_a, **_k: None)
    say(f"filling: {config.agents} agents, {config.queues} queues, {config.waiting} waiting")
    centre = build_centre(config.agents, config.queues, config.skills, config.seed)
    fill_start = time.perf_counter()
    router, sim = fill(centre, config.waiting, config.seed)
    fill_s = time.perf_counter() - fill_start
    groups_after_fill = router.group_count()
    # The baseline starts from this very state and replays the very same world.
    naive = NaiveRouter.copy_of(router)
    naive_sim = copy.deepcopy(sim)
    keep = config.baseline_decisions
    say(f"indexed router: {config.decisions} decisions")
    timings = steady_state(router, sim, config.decisions, keep_log=keep)
    say(f"naive router: {config.baseline_decisions} decisions or {config.baseline_seconds:g} s")
    baseline = steady_state(
        naive, naive_sim, config.baseline_decisions, keep_log=keep, budget_s=config.baseline_seconds
    )
    compared = min(len(timings.log), len(baseline.log))
    agrees = timings.log[:compared] == baseline.log[:compared]
    figures = _figures(timings)
    base = _figures(baseline)
    report: dict[str, Any] = {
        "agents": config.agents,
        "queues": config.queues,
        "skills": config.skills,
        "waiting": config.waiting,
        "seed": config.seed,
        **figures,
        "waiting_at_end": sim.waiting,
        "groups": router.group_count(),
        "groups_after_fill": groups_after_fill,
        "fill_s": round(fill_s, 2),
        "decision_kinds": dict(sorted(timings.kinds.items())),
        "baseline_decisions": base["decisions"],
        "baseline_decisions_per_s": base["decisions_per_s"],
        "baseline_p50_us": base["p50_us"],
        "baseline_p99_us": base["p99_us"],
        "baseline_agrees": agrees,
        "baseline_compared_decisions": compared,
        "speedup": round(figures["decisions_per_s"] / base["decisions_per_s"])
        if base["decisions_per_s"]
        else None,
        "targets": {
            "decisions_per_s": 20_000,
            "p99_us": 1000,
            "cost_ratio_10x_agents": 2.0,
        },
        "machine": machine_info(),
        "notes": [
            f"after the fill, {WARM_UP_S:g} virtual seconds of warm-up and gc.freeze()",
            "virtual time; only router commands are timed (next_deadline included in the "
            "total, not in the percentiles)",
            "p50/p99 are per command that made decisions (1-3 decisions each, typically)",
            "scaling points keep waiting/agents constant so every size runs under the same load",
        ],
    }
    if config.scaling:
        ratio = config.waiting / config.agents
        points = []
        for factor in (0.1, 10.0):
            agents = max(1, round(config.agents * factor))
            say(f"scaling: {agents} agents")
            points.append(
                run_point(config, agents, max(1, round(agents * ratio)), config.decisions // 2)
            )
        small, large = points
        this = {"agents": config.agents, "waiting": config.waiting, **figures}
        report["scaling"] = {
            "points": [small, this, large],
            "cost_ratio_10x_agents": round(
                large["mean_us_per_decision"] / figures["mean_us_per_decision"], 2
            )
            if figures["mean_us_per_decision"]
            else None,
            "p99_ratio_10x_agents": round(large["p99_us"] / figures["p99_us"], 2)
            if figures["p99_us"]
            else None,
        }
    return report


def print_table(report: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"omnidesk bench routing — {report['agents']} agents, {report['queues']} queues, "
        f"{report['skills']} skills, {report['waiting']} waiting",
    )
    for name in ("run", "agents", "decisions", "decisions/s", "µs/decision", "p50 µs", "p99 µs"):
        table.add_column(name, justify="right" if name != "run" else "left")

    def row(label: str, run: dict[str, Any]) -> None:
        table.add_row(
            label,
            str(run.get("agents", report["agents"])),
            str(run["decisions"]),
            str(run["decisions_per_s"]),
            str(run.get("mean_us_per_decision", "")),
            str(run["p50_us"]),
            str(run["p99_us"]),
        )

    row("indexed", report)
    row(
        "naive",
        {
            "decisions": report["baseline_decisions"],
            "decisions_per_s": report["baseline_decisions_per_s"],
            "p50_us": report["baseline_p50_us"],
            "p99_us": report["baseline_p99_us"],
        },
    )
    scaling = report.get("scaling")
    if scaling:
        for point in scaling["points"]:
            row("scaling", point)
    console.print(table)
    if scaling:
        ratio = scaling["cost_ratio_10x_agents"]
        console.print(f"cost per decision at 10x the agents: {ratio} times")
    console.print(f"naive agrees with indexed: {report['baseline_agrees']}")
