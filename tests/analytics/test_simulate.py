"""The simulated day: the world around the routing engine plays by the scenario's rules."""

from __future__ import annotations

import copy
import itertools
import math
import random
import statistics
from typing import Any

import pytest

from omnidesk.analytics.simulate import report, scenario
from omnidesk.analytics.simulate.scenario import Distribution
from omnidesk.analytics.simulate.simulation import Result, Simulation, VirtualClock, sample

BASE: dict[str, Any] = {
    "seed": 3,
    "hours": 2,
    "queues": {"support": {}},
    "agents": [{"name": "team", "count": 4, "capacity": {"voice": 1}, "auto_accept": True}],
    "traffic": [
        {
            "queue": "support",
            "channel": "voice",
            "arrivals": {"per_hour": 60},
            "handle_time": {"mean_s": 180},
        }
    ],
}


def run(data: dict[str, Any], *, seed: int | None = None) -> Result:
    return Simulation(scenario.parse(data), seed=seed).run()


def changed(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


def waits(result: Result) -> list[float]:
    return [c.answered_s - c.arrived_s for c in result.contacts if c.answered_s is not None]


def test_the_same_seed_gives_the_same_day() -> None:
    data = changed(
        traffic=[
            {**BASE["traffic"][0], "patience": {"mean_s": 60}},
        ],
        agents=[
            {
                "name": "team",
                "count": 3,
                "capacity": {"voice": 1},
                "accept_delay": {"kind": "exponential", "mean_s": 4},
            }
        ],
    )
    first, second = report.report(run(data)), report.report(run(data))
    assert first == second
    other = report.report(run(data, seed=4))
    assert other["overall"] != first["overall"]
    assert other["seed"] == 4


def test_every_contact_is_answered_or_abandoned_and_the_clock_is_virtual() -> None:
    result = run(changed(traffic=[{**BASE["traffic"][0], "patience": {"mean_s": 30}}]))
    assert len(result.contacts) > 60
    for contact in result.contacts:
        assert (contact.answered_s is None) != (contact.abandoned_s is None)
        if contact.answered_s is not None:
            assert contact.ended_s == pytest.approx(contact.answered_s + contact.handle_s)
        else:
            assert contact.abandoned_s == pytest.approx(contact.arrived_s + contact.patience_s)
    assert any(c.abandoned_s is not None for c in result.contacts)
    clock = VirtualClock(result.scenario.start)
    clock.t = 90.0
    assert (clock.now() - result.scenario.start).total_seconds() == 90.0


def test_no_agent_means_everyone_gives_up() -> None:
    data = changed(
        agents=[],
        traffic=[{**BASE["traffic"][0], "patience": {"kind": "fixed", "mean_s": 45}}],
    )
    figures = report.report(run(data))["overall"]
    assert figures["offered"] > 0
    assert figures["abandoned"] == figures["offered"]
    assert figures["abandonment_rate"] == 1.0
    assert figures["answered"] == 0
    assert figures["service_level"] == 0.0


def test_arrivals_follow_the_curve() -> None:
    curve = {"interval_min": 60, "counts": [0, 500]}
    result = run(changed(traffic=[{**BASE["traffic"][0], "arrivals": curve}]))
    arrivals = [c.arrived_s for c in result.contacts]
    assert min(arrivals) >= 3600  # nothing expected in the first hour
    assert 430 <= len(arrivals) <= 570  # Poisson(500): sd ≈ 22
    assert max(arrivals) < 7200


def test_shifts_decide_who_answers_and_when() -> None:
    data = changed(
        agents=[
            {
                "name": "late",
                "count": 2,
                "capacity": {"voice": 1},
                "auto_accept": True,
                "shifts": [{"start_h": 1, "end_h": 1.5}],
            }
        ],
    )
    result = run(data)
    answered = [c for c in result.contacts if c.answered_s is not None]
    assert answered
    assert min(c.answered_s for c in answered) >= 3600
    # After the shift, work under way is finished but nothing new is taken.
    assert max(c.answered_s for c in answered) <= 5400  # type: ignore[type-var]
    assert any(c.answered_s is None for c in result.contacts)
    measured = report.day(result)
    assert sum(measured.agent_seconds.values()) == pytest.approx(2 * 1800)


def test_a_chat_agent_holds_three_chats_at_once_and_no_more() -> None:
    data = changed(
        agents=[{"name": "chat", "count": 1, "capacity": {"chat": 3}, "auto_accept": True}],
        traffic=[
            {
                "queue": "support",
                "channel": "chat",
                "arrivals": {"per_hour": 60},
                "handle_time": {"kind": "fixed", "mean_s": 600},
            }
        ],
    )
    result = run(data)
    spans = [(c.answered_s, c.ended_s) for c in result.contacts if c.answered_s is not None]
    changes = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    held, most = 0, 0
    for _, step in changes:
        held += step
        most = max(most, held)
    assert most == 3
    figures = report.report(result)["overall"]
    assert figures["utilisation"] > 1.5 > figures["occupancy"]


def test_skills_send_work_to_the_agents_who_have_them() -> None:
    data = changed(
        queues={"billing": {"skills": {"billing": 3}}, "general": {}},
        agents=[
            {
                "name": "experts",
                "count": 2,
                "skills": {"billing": 5},
                "capacity": {"voice": 1},
                "auto_accept": True,
            },
            {
                "name": "juniors",
                "count": 2,
                "skills": {"billing": 1},
                "capacity": {"voice": 1},
                "auto_accept": True,
            },
        ],
        traffic=[
            {**BASE["traffic"][0], "queue": "billing", "arrivals": {"per_hour": 20}},
            {**BASE["traffic"][0], "queue": "general", "arrivals": {"per_hour": 20}},
        ],
    )
    result = run(data)
    groups = {agent.id: agent.group for agent in result.agents}
    by_queue: dict[str, set[str]] = {}
    for contact in result.contacts:
        if contact.agent_id is not None:
            by_queue.setdefault(contact.queue, set()).add(groups[contact.agent_id])
    assert by_queue["billing"] == {"experts"}
    assert by_queue["general"] == {"experts", "juniors"}


def test_offers_left_unanswered_time_out_and_go_to_someone_else() -> None:
    data = changed(
        queues={"support": {"offer_timeout_s": 10}},
        agents=[
            {
                "name": "slow",
                "count": 1,
                "capacity": {"voice": 1},
                "accept_delay": {"kind": "fixed", "mean_s": 60},
            },
            {
                "name": "quick",
                "count": 1,
                "capacity": {"voice": 1},
                "accept_delay": {"kind": "fixed", "mean_s": 2},
            },
        ],
        traffic=[{**BASE["traffic"][0], "arrivals": {"per_hour": 10}}],
    )
    result = run(data)
    groups = {agent.id: agent.group for agent in result.agents}
    answered = [c for c in result.contacts if c.answered_s is not None]
    assert answered
    assert {groups[c.agent_id] for c in answered} == {"quick"}  # type: ignore[index]
    assert all(w >= 2 for w in waits(result))


def test_wrap_up_keeps_the_agent_from_the_next_contact() -> None:
    data = changed(
        queues={"support": {"wrap_up_s": 120}},
        agents=[{"name": "one", "count": 1, "capacity": {"voice": 1}, "auto_accept": True}],
        traffic=[{**BASE["traffic"][0], "handle_time": {"kind": "fixed", "mean_s": 60}}],
    )
    result = run(data)
    answered = sorted(c.answered_s for c in result.contacts if c.answered_s is not None)
    assert len(answered) > 5
    assert all(b - a >= 180 - 1e-9 for a, b in itertools.pairwise(answered))
    figures = report.report(result)["overall"]
    assert figures["wrap_s"] == 120
    assert figures["handle_s"] == 180


def test_a_variant_meets_the_same_customers() -> None:
    base = run(changed(agents=[{**BASE["agents"][0], "count": 3}]))
    more = run(changed(agents=[{**BASE["agents"][0], "count": 5}]))
    assert [(c.arrived_s, c.handle_s) for c in base.contacts] == [
        (c.arrived_s, c.handle_s) for c in more.contacts
    ]
    assert statistics.mean(waits(more)) < statistics.mean(waits(base))


def test_the_report_measures_with_the_reports_metrics() -> None:
    result = run(changed(warm_up_h=1))
    out = report.report(result)
    assert out["measured_contacts"] == sum(1 for c in result.contacts if c.arrived_s >= 3600)
    assert out["overall"]["offered"] == out["measured_contacts"]
    assert set(out["by_queue"]) == {"support"}
    assert set(out["by_channel"]) == {"voice"}
    assert "csat" not in out["overall"]  # not modelled, not printed
    assert len(out["timeline"]) == 4
    assert sum(row["offered"] for row in out["timeline"]) == out["measured_contacts"]
    assert out["timeline"][0]["agents"] == 4


@pytest.mark.parametrize(
    ("distribution", "mean", "sd"),
    [
        (Distribution(kind="fixed", mean_s=42), 42, 0),
        (Distribution(kind="exponential", mean_s=100), 100, 100),
        (Distribution(kind="lognormal", mean_s=300, sd_s=120), 300, 120),
    ],
)
def test_handle_time_distributions_have_their_mean_and_spread(
    distribution: Distribution, mean: float, sd: float
) -> None:
    rng = random.Random(5)
    values = [sample(distribution, rng) for _ in range(20_000)]
    assert statistics.mean(values) == pytest.approx(mean, rel=0.03)
    assert statistics.pstdev(values) == pytest.approx(sd, rel=0.05, abs=1e-9)
    assert all(v >= 0 and math.isfinite(v) for v in values)
