"""``omnidesk bench routing`` at a tiny size: the report's shape and accounting, not speed."""

from __future__ import annotations

import json
import subprocess
import sys

from omnidesk.bench.routing import build_centre

FIELDS = (
    "decisions_per_s",
    "p50_us",
    "p99_us",
    "mean_us_per_decision",
    "baseline_decisions_per_s",
    "baseline_agrees",
    "decision_kinds",
    "scaling",
    "machine",
)


def test_bench_routing_small() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "omnidesk",
            "bench",
            "routing",
            "--json",
            "--agents",
            "50",
            "--queues",
            "5",
            "--skills",
            "10",
            "--waiting",
            "200",
            "--decisions",
            "1500",
            "--baseline-decisions",
            "150",
            "--seed",
            "7",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout)
    for name in FIELDS:
        assert name in report, name
    assert (report["agents"], report["queues"], report["skills"]) == (50, 5, 10)
    assert report["decisions"] >= 1500
    assert sum(report["decision_kinds"].values()) == report["decisions"]
    assert report["commands_with_decisions"] <= report["commands"]
    assert 0 < report["p50_us"] <= report["p99_us"] <= report["max_us"]
    assert report["decisions_per_s"] > 0
    # The naive router replayed the same world from the same state: same decisions.
    assert report["baseline_decisions"] >= 150
    assert report["baseline_agrees"] is True
    assert report["baseline_compared_decisions"] >= 150
    # Offers are answered: accepted, declined or timed out; every assignment came from one.
    kinds = report["decision_kinds"]
    assert kinds["OfferMade"] > 0
    assert kinds["Completed"] > 0
    scaling = report["scaling"]
    assert [p["agents"] for p in scaling["points"]] == [5, 50, 500]
    assert [p["waiting"] for p in scaling["points"]] == [20, 200, 2000]
    assert scaling["cost_ratio_10x_agents"] > 0
    assert report["machine"]["python"]


def test_bench_routing_is_deterministic() -> None:
    from omnidesk.bench.routing import RoutingBenchConfig, run_bench

    config = RoutingBenchConfig(
        agents=30,
        queues=4,
        skills=8,
        waiting=100,
        decisions=500,
        baseline_decisions=50,
        scaling=False,
        seed=3,
    )
    first, second = run_bench(config), run_bench(config)
    assert first["decision_kinds"] == second["decision_kinds"]
    assert first["waiting_at_end"] == second["waiting_at_end"]
    assert first["groups"] == second["groups"]


def test_a_centre_with_fewer_skills_than_an_agent_usually_holds() -> None:
    # Agents hold four to eight skills; with three in the centre each holds them all.
    centre = build_centre(agents=20, queues=4, skills=3, seed=7)
    assert {frozenset(a.skills) for a in centre.agents} == {frozenset({1, 2, 3})}
    assert all(set(q.required_skills) <= {1, 2, 3} for q in centre.queues)


def test_a_centre_without_skills_is_refused_naming_the_option() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "omnidesk", "bench", "routing", "--skills", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "--skills" in done.stderr
