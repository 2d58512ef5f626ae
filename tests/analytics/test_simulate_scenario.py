"""Scenario files: what is accepted, and bad input refused with the path of the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from omnidesk.analytics.simulate import scenario
from omnidesk.kit.errors import ValidationFailed

EXAMPLES = Path(__file__).parents[2] / "examples" / "simulator"

MINIMAL: dict[str, Any] = {
    "hours": 2,
    "queues": {"support": {}},
    "agents": [{"name": "team", "count": 3, "capacity": {"voice": 1}}],
    "traffic": [
        {
            "queue": "support",
            "channel": "voice",
            "arrivals": {"per_hour": 30},
            "handle_time": {"mean_s": 180},
        }
    ],
}


def with_change(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    target: Any = data
    for part in path[:-1]:
        target = target.setdefault(part, {}) if isinstance(part, str) else target[part]
    target[path[-1]] = value
    return data


def refused(data: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        scenario.parse(data)
    return caught.value


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_the_examples_are_valid(name: str) -> None:
    day = scenario.load(EXAMPLES / name)
    assert day.traffic
    assert day.agents


def test_defaults_of_a_minimal_scenario() -> None:
    day = scenario.parse(MINIMAL)
    assert day.end_s == 7200
    assert day.service_level.threshold_s == 20
    assert day.service_level.target == 0.8
    assert day.queues["support"].policy == "longest_idle"
    assert day.traffic[0].handle_time.kind == "exponential"
    assert day.traffic[0].patience is None
    assert day.agents[0].shifts is None


@pytest.mark.parametrize(
    ("path", "value", "field", "words"),
    [
        (("colour",), "blue", "colour", "unknown key"),
        (("traffic", 0, "arrivals", "burst"), 3, "traffic[0].arrivals.burst", "unknown key"),
        (("agents", 0, "speed"), 2, "agents[0].speed", "unknown key"),
        (("traffic", 0, "arrivals", "per_hour"), -5, "traffic[0].arrivals.per_hour", "0"),
        (("service_level", "target"), 1.2, "service_level.target", "less than or equal to 1"),
        (("service_level", "threshold_s"), -1, "service_level.threshold_s", "0"),
        (("hours",), 0, "hours", "greater than 0"),
        (("agents", 0, "count"), -1, "agents[0].count", "0"),
        (("agents", 0, "capacity", "voice"), -2, "agents[0].capacity.voice", "0"),
        (("agents", 0, "skills"), {"billing": 11}, "agents[0].skills.billing", "10"),
        (("queues", "support", "policy"), "random", "queues.support.policy", "longest_idle"),
        (("traffic", 0, "queue"), "sales", "traffic[0].queue", "no queue named 'sales'"),
        (("warm_up_h",), 3, "warm_up_h", "shorter than the day"),
        (("hours",), 200_000, "traffic", "at most 5,000,000"),
    ],
)
def test_bad_input_names_the_field(
    path: tuple[str | int, ...], value: Any, field: str, words: str
) -> None:
    error = refused(with_change(path, value))
    assert error.field == field
    assert field in error.message
    assert words in error.message


def test_negative_counts_in_an_arrival_curve() -> None:
    error = refused(
        with_change(("traffic", 0, "arrivals"), {"interval_min": 30, "counts": [10, -1, 4]})
    )
    assert error.field == "traffic[0].arrivals.counts[1]"


def test_arrivals_need_one_rate() -> None:
    error = refused(with_change(("traffic", 0, "arrivals"), {"per_hour": 3, "counts": [1]}))
    assert error.field == "traffic[0].arrivals"
    assert "either per_hour or counts" in error.message


def test_distributions_are_checked() -> None:
    lognormal = refused(
        with_change(("traffic", 0, "handle_time"), {"kind": "lognormal", "mean_s": 100})
    )
    assert lognormal.field == "traffic[0].handle_time"
    assert "sd_s" in lognormal.message
    zero = refused(with_change(("traffic", 0, "patience"), {"kind": "exponential", "mean_s": 0}))
    assert zero.field == "traffic[0].patience"
    unknown = refused(with_change(("traffic", 0, "handle_time"), {"kind": "gamma", "mean_s": 9}))
    assert unknown.field == "traffic[0].handle_time.kind"


def test_shifts_must_end_after_they_start() -> None:
    error = refused(with_change(("agents", 0, "shifts"), [{"start_h": 4, "end_h": 2}]))
    assert error.field == "agents[0].shifts[0]"


def test_every_problem_is_listed_and_the_first_is_the_field() -> None:
    data = with_change(("colour",), "blue")
    data["service_level"] = {"target": 2}
    error = refused(data)
    assert "colour: unknown key" in error.message
    assert "service_level.target" in error.message


def test_files_that_are_not_scenarios(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("hours: [1,\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="not valid YAML") as caught:
        scenario.load(broken)
    assert caught.value.field == "file"
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="mapping"):
        scenario.load(listed)
    with pytest.raises(ValidationFailed, match="cannot read"):
        scenario.load(tmp_path / "missing.yaml")
