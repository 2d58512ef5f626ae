"""`omnidesk simulate` through the real command line (Typer's runner)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from omnidesk.cli import app

SMALL: dict[str, Any] = {
    "name": "small",
    "seed": 5,
    "hours": 1,
    "queues": {"support": {"wrap_up_s": 10}},
    "agents": [
        {
            "name": "team",
            "count": 3,
            "capacity": {"voice": 1, "chat": 3},
            "accept_delay": {"kind": "fixed", "mean_s": 2},
        }
    ],
    "traffic": [
        {
            "queue": "support",
            "channel": "voice",
            "arrivals": {"per_hour": 40},
            "handle_time": {"mean_s": 200},
            "patience": {"mean_s": 90},
        },
        {
            "queue": "support",
            "channel": "chat",
            "arrivals": {"interval_min": 30, "counts": [10, 20]},
            "handle_time": {"kind": "lognormal", "mean_s": 400, "sd_s": 200},
        },
    ],
}


def write(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(app, ["simulate", *(str(a) for a in args)])


def test_json_prints_the_reports_metrics_only(tmp_path: Path) -> None:
    result = invoke(write(tmp_path, "s.yaml", SMALL), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)  # nothing but JSON on stdout
    assert out["scenario"] == "small"
    assert out["seed"] == 5
    assert out["agents"] == 3
    overall = out["overall"]
    assert overall["offered"] == out["contacts"] > 0
    assert overall["answered"] + overall["abandoned"] <= overall["offered"]
    for key in ("service_level", "service_level_abandon_inclusive", "asa_s", "occupancy"):
        assert overall[key] >= 0
    assert set(out["by_channel"]) == {"voice", "chat"}
    assert out["by_channel"]["chat"]["abandoned"] == 0  # chat customers have no patience set


def test_the_seed_option_replaces_the_scenarios(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", SMALL)
    again = json.loads(invoke(path, "--json", "--seed", "5").stdout)
    assert again == json.loads(invoke(path, "--json").stdout)
    other = json.loads(invoke(path, "--json", "--seed", "6").stdout)
    assert other["seed"] == 6
    assert other["overall"] != again["overall"]


def test_compare_runs_both_variants_on_the_same_customers(tmp_path: Path) -> None:
    more = {**SMALL, "name": "more", "agents": [{**SMALL["agents"][0], "count": 6}]}
    base, variant = write(tmp_path, "a.yaml", SMALL), write(tmp_path, "b.yaml", more)
    result = invoke(base, "--compare", variant, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["baseline"]["scenario"] == "small"
    assert out["variant"]["scenario"] == "more"
    assert out["variant"]["seed"] == out["baseline"]["seed"] == 5
    a, b = out["baseline"]["overall"], out["variant"]["overall"]
    assert a["offered"] == b["offered"]
    assert out["difference"]["offered"] == 0
    assert out["difference"]["asa_s"] == pytest.approx(b["asa_s"] - a["asa_s"])
    assert b["asa_s"] < a["asa_s"]

    table = invoke(base, "--compare", variant)
    assert table.exit_code == 0, table.output
    assert "small against more" in table.stdout
    assert "difference" in table.stdout
    assert "pp" in table.stdout


def test_tables_show_overall_and_each_queue_and_channel(tmp_path: Path) -> None:
    result = invoke(write(tmp_path, "s.yaml", SMALL))
    assert result.exit_code == 0, result.output
    for words in ("service level", "occupancy", "by queue and channel", "support", "voice", "chat"):
        assert words in result.stdout


def test_plot_writes_the_png_or_svg_its_name_asks_for(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", SMALL)
    result = invoke(path, "--plot", tmp_path / "day.png", "--json")
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)
    with Image.open(tmp_path / "day.png") as picture:
        assert (picture.format, picture.size) == ("PNG", (960, 560))
        # Drawn on: the offered bars' colour and the first variant's blue line are there.
        colours = {rgb for _, rgb in picture.convert("RGB").getcolors(maxcolors=1 << 16) or []}
    assert {(0xC7, 0xD7, 0xEA), (0x1F, 0x77, 0xB4)} <= colours

    result = invoke(path, "--plot", tmp_path / "day.svg", "--json")
    assert result.exit_code == 0, result.output
    svg = (tmp_path / "day.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg")
    assert "polyline" in svg
    assert "small" in svg


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"surprise": 1}, "surprise"),
        ({"service_level": {"target": 1.5}}, "service_level.target"),
        (
            {"traffic": [{**SMALL["traffic"][0], "arrivals": {"per_hour": -3}}]},
            "traffic[0].arrivals.per_hour",
        ),
    ],
)
def test_bad_scenarios_exit_2_naming_the_field(
    tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    result = invoke(write(tmp_path, "bad.yaml", {**SMALL, **change}), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert field in result.stderr
    assert "error" in result.stderr


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = invoke(tmp_path / "nowhere.yaml")
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_the_examples_run(tmp_path: Path) -> None:
    examples = Path(__file__).parents[2] / "examples" / "simulator"
    result = invoke(
        examples / "omnichannel-day.yaml",
        "--compare",
        examples / "omnichannel-day-plus-2.yaml",
        "--json",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["difference"]["service_level"] > 0  # two more agents help
    assert set(out["baseline"]["by_channel"]) == {"voice", "chat", "email"}
