"""`omnidesk erlang …` through the real command line (Typer's runner), JSON checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from omnidesk.cli import app


def run(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["erlang", *args, "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_erlang_c_known_case() -> None:
    report = run(
        "c", "--calls", "100", "--interval", "1800", "--aht", "180", "--target", "0.8",
        "--threshold", "20", "--max-occupancy", "0.85", "--shrinkage", "0.3",
    )  # fmt: skip
    assert report["agents"] == 14
    assert report["scheduled_agents"] == 20
    assert round(report["service_level"], 4) == 0.8884
    assert round(report["wait_probability"], 4) == 0.1741
    assert round(report["asa_s"], 2) == 7.84
    assert round(report["occupancy"], 4) == 0.7143
    assert report["stable"] is True
    assert report["meets_target"] is True


def test_erlang_c_given_too_few_agents_reports_an_unstable_queue() -> None:
    report = run("c", "--calls", "100", "--aht", "180", "--agents", "10")
    assert report["stable"] is False
    assert report["asa_s"] is None
    assert report["meets_target"] is False


def test_erlang_a() -> None:
    report = run("a", "--calls", "100", "--aht", "180", "--patience", "300", "--agents", "14")
    assert report["agents"] == 14
    assert 0 < report["abandon_probability"] < 0.05
    assert report["service_level"] > 0.8
    staffed = run("a", "--calls", "100", "--aht", "180", "--patience", "300")
    assert staffed["agents"] <= 14
    assert staffed["meets_target"] is True
    patient = run("a", "--calls", "100", "--aht", "180", "--patience", "inf", "--agents", "14")
    assert patient["patience_s"] is None
    assert patient["abandon_probability"] == 0.0
    assert round(patient["service_level"], 4) == 0.8884


def test_erlang_b() -> None:
    report = run("b", "--erlangs", "10", "--lines", "17")
    assert round(report["blocking_probability"], 4) == 0.0129
    assert run("b", "--erlangs", "10", "--blocking", "0.013")["lines"] == 17


def test_tables_without_json() -> None:
    result = CliRunner().invoke(app, ["erlang", "c", "--calls", "100", "--aht", "180"])
    assert result.exit_code == 0
    assert "service_level" in result.stdout
    assert "0.8884" in result.stdout


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["c", "--calls", "-5", "--aht", "180"], "--calls"),
        (["c", "--calls", "100", "--aht", "180", "--target", "1.5"], "--target"),
        (["c", "--calls", "100", "--aht", "0"], "--aht"),
        (["c", "--calls", "100", "--aht", "180", "--shrinkage", "1"], "--shrinkage"),
        (["c", "--calls", "100", "--aht", "180", "--max-occupancy", "0"], "--max-occupancy"),
        (["c", "--calls", "100", "--aht", "180", "--interval", "-1"], "--interval"),
        (["a", "--calls", "100", "--aht", "180", "--patience", "0"], "--patience"),
        (["c", "--calls", "100", "--aht", "180", "--agents", "-2"], "--agents"),
        (["b", "--erlangs", "-1", "--lines", "3"], "--erlangs"),
        (["b", "--erlangs", "1"], "--lines"),
        (["forecast"], "--account"),
        (["forecast", "--account", "1"], "--from"),
        (["forecast", "--account", "1", "--from", "2026-01-05", "--to", "soon"], "--to"),
    ],
)
def test_bad_input_exits_2_naming_the_field(args: list[str], field: str) -> None:
    result = CliRunner().invoke(app, ["erlang", *args, "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {field}:")


def test_forecast_then_plan(tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    lines = ["start,calls"]
    for day in range(3, 10):  # a week from Monday 3 March 2025
        for half_hour in range(48):
            calls = 100 if 16 <= half_hour < 36 else 0
            lines.append(f"2025-03-{day:02d}T{half_hour // 2:02d}:{half_hour % 2 * 30:02d},{calls}")
    history.write_text("\n".join(lines) + "\n")

    report = run("forecast", str(history), "--method", "seasonal-naive", "--days", "1")
    assert report["season_intervals"] == 7 * 48
    assert len(report["intervals"]) == 48
    assert report["intervals"][0]["start"] == "2025-03-10T00:00:00"

    result = CliRunner().invoke(app, ["erlang", "forecast", str(history), "--csv"])
    assert result.exit_code == 0
    forecast = tmp_path / "forecast.csv"
    forecast.write_text(result.stdout)

    plan = run(
        "plan", str(forecast), "--interval", "1800", "--aht", "180", "--target", "0.8",
        "--threshold", "20", "--shrinkage", "0.3",
    )  # fmt: skip
    busy = [row for row in plan["intervals"] if row["calls"] == 100]
    quiet = [row for row in plan["intervals"] if row["calls"] == 0]
    assert len(busy) == 20
    assert len(quiet) == 28
    assert {row["agents"] for row in busy} == {14}
    assert {row["scheduled_agents"] for row in busy} == {20}
    assert {row["agents"] for row in quiet} == {0}
    assert plan["agent_hours"] == 14 * 10
    assert plan["scheduled_hours"] == 20 * 10
    assert plan["peak_agents"] == 14

    table = CliRunner().invoke(app, ["erlang", "plan", str(forecast), "--aht", "180"])
    assert table.exit_code == 0
    assert "140.0 agent-hours" in table.stdout


def test_plan_with_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("start,calls\n2025-03-10T08:00,lots\n")
    result = CliRunner().invoke(app, ["erlang", "plan", str(bad), "--aht", "180"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --calls:")
    assert "line 2" in result.stderr
    missing = CliRunner().invoke(app, ["erlang", "plan", str(tmp_path / "no.csv"), "--aht", "1"])
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr
