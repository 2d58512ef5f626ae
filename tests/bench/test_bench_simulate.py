"""``omnidesk bench simulate`` at a tiny size: the report's shape, not speed."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from omnidesk.bench.simulate import day_scenario
from omnidesk.cli import app


def test_bench_simulate_small() -> None:
    args = ["--contacts", "2000", "--agents", "40", "--ciw-servers", "5", "--ciw-customers", "500"]
    result = CliRunner().invoke(app, ["bench", "simulate", "--json", *args])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["channels"] == ["chat", "email", "voice"]
    assert report["agents"] == 40
    assert 1_800 <= report["contacts"] <= 2_200  # Poisson around 2,000
    assert report["events"] > 2 * report["contacts"]
    assert report["events_per_s"] == report["events"] / report["wall_s"]
    mmc = report["mmc"]
    assert mmc["servers"] == 5
    assert 400 <= mmc["customers"] <= 600
    assert mmc["ciw_served"] > 0
    assert 0 <= mmc["ciw_within_20s"] <= 1
    assert report["ciw_ratio"] == mmc["wall_s"] / mmc["ciw_wall_s"]


def test_the_bench_day_has_the_asked_size() -> None:
    day = day_scenario(100_000, 500, seed=1)
    assert sum(group.count for group in day.agents) == 500
    assert {stream.channel for stream in day.traffic} == {"voice", "chat", "email"}
    expected = sum(sum(stream.arrivals.counts or ()) for stream in day.traffic)
    assert round(expected) == 100_000
