"""Forecasts on synthetic series, and staffing plans from a forecast."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from omnidesk.analytics.erlang import Load, Target, erlang_c_agents
from omnidesk.analytics.forecast import (
    Smoothing,
    exponential_smoothing,
    fit_smoothing,
    forecast_series,
    regular_series,
    seasonal_naive,
)
from omnidesk.analytics.workforce import format_counts, parse_counts, staffing_plan
from omnidesk.kit.errors import ValidationFailed

DAY = [0, 0, 2, 10, 30, 45, 40, 35, 20, 8, 3, 1]  # a day in 2-hour intervals


def _mae(forecast: list[float], truth: list[float]) -> float:
    return sum(abs(f - t) for f, t in zip(forecast, truth, strict=True)) / len(truth)


def test_seasonal_naive_repeats_the_last_season() -> None:
    history = [1, 2, 3, 4, 5, 6, 7]
    assert seasonal_naive(history, 3, 7) == [5, 6, 7, 5, 6, 7, 5]
    assert seasonal_naive(history, 7, 2) == [1, 2]
    assert seasonal_naive(history, 3, 0) == []


def test_smoothing_reproduces_a_pure_seasonal_pattern() -> None:
    history = DAY * 5
    assert exponential_smoothing(history, 12, 24) == pytest.approx(DAY * 2, abs=1e-9)


def test_smoothing_follows_a_trend_that_naive_misses() -> None:
    def truth(t: int) -> float:
        return 50 + 0.5 * t + 10 * math.sin(2 * math.pi * t / 12)

    history = [truth(t) for t in range(12 * 8)]
    future = [truth(t) for t in range(12 * 8, 12 * 9)]
    smoothed = exponential_smoothing(history, 12, 12)
    naive = seasonal_naive(history, 12, 12)
    assert _mae(smoothed, future) < 0.5
    assert _mae(naive, future) == pytest.approx(6.0)  # a whole season of trend behind
    flat = exponential_smoothing(history, 12, 12, trend=False)
    assert _mae(smoothed, future) < _mae(flat, future)


def test_smoothing_beats_naive_on_noise() -> None:
    rng = random.Random(7)
    history = [d + rng.gauss(0, 4) for _ in range(10) for d in DAY]
    history = [max(0.0, v) for v in history]
    smoothed = exponential_smoothing(history, 12, 12)
    assert _mae(smoothed, DAY) < _mae(seasonal_naive(history, 12, 12), DAY)
    assert all(v >= 0 for v in smoothed)


def test_fitted_constants_follow_the_series() -> None:
    rng = random.Random(3)
    steady = [d + 20 + rng.gauss(0, 3) for _ in range(8) for d in DAY]
    shifted = [d + 20 + rng.gauss(0, 1) + (20 if t >= 48 else 0) for t, d in enumerate(DAY * 8)]
    assert fit_smoothing(steady, 12).alpha <= 0.1  # noise: a slow level
    assert fit_smoothing(shifted, 12).alpha >= 0.7  # a lasting shift: a quick level
    chosen = exponential_smoothing(shifted, 12, 12, Smoothing(0.05, 0.0, 0.05))
    fitted = exponential_smoothing(shifted, 12, 12)
    truth = [d + 40 for d in DAY]
    assert _mae(fitted, truth) < _mae(chosen, truth)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: seasonal_naive([1, 2], 3, 1), "history"),
        (lambda: exponential_smoothing(DAY, 12, 1), "history"),  # one season only
        (lambda: seasonal_naive([1, -2, 3], 3, 1), "history"),
        (lambda: seasonal_naive([1, 2, 3], 0, 1), "season"),
    ],
)
def test_bad_series(call: object, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        call()  # type: ignore[operator]
    assert caught.value.field == field


# --- timestamped series -------------------------------------------------------------------

MONDAY = datetime(2025, 3, 3, tzinfo=UTC)
STEP = timedelta(hours=2)


def _weeks(weeks: int, weekend_factor: float = 0.2) -> list[tuple[datetime, float]]:
    rows = []
    for day in range(7 * weeks):
        factor = weekend_factor if (MONDAY + timedelta(days=day)).weekday() >= 5 else 1.0
        for i, calls in enumerate(DAY):
            rows.append((MONDAY + timedelta(days=day) + i * STEP, calls * factor))
    return rows


def test_seasonal_naive_by_weekday_and_time_of_day() -> None:
    history = _weeks(2)[: -12 * 2]  # ends on the second Friday night
    result = forecast_series(history, 7200, "seasonal-naive", 2)
    assert result.season_intervals == 7 * 12  # a week of history: weekday x interval
    assert result.rows[0][0] == MONDAY + timedelta(days=12)  # Saturday 00:00
    assert [c for _, c in result.rows] == pytest.approx([c * 0.2 for c in DAY] * 2)


def test_ets_on_weeks_of_history_knows_the_weekend() -> None:
    result = forecast_series(_weeks(3), 7200, "ets", 7)
    assert result.season_intervals == 7 * 12
    calls = [c for _, c in result.rows]
    assert calls[:12] == pytest.approx(DAY, abs=1e-6)  # Monday
    assert calls[5 * 12 : 6 * 12] == pytest.approx([c * 0.2 for c in DAY], abs=1e-6)


def test_a_short_history_uses_the_day_as_season() -> None:
    history = _weeks(1)[: 12 * 3]
    assert forecast_series(history, 7200, "seasonal-naive", 1).season_intervals == 12
    assert forecast_series(history, 7200, "ets", 1).season_intervals == 12


def test_missing_intervals_count_zero_and_bad_grids_are_refused() -> None:
    rows = [(MONDAY, 5.0), (MONDAY + 3 * STEP, 7.0)]
    assert [c for _, c in regular_series(rows, 7200)] == [5, 0, 0, 7]
    with pytest.raises(ValidationFailed) as caught:
        regular_series([(MONDAY, 1.0), (MONDAY + timedelta(minutes=45), 1.0)], 1800)
    assert caught.value.field == "start"
    with pytest.raises(ValidationFailed) as caught:
        regular_series([(MONDAY, 1.0), (MONDAY, 2.0)], 1800)
    assert caught.value.field == "start"
    with pytest.raises(ValidationFailed) as caught:
        regular_series(rows, 7000)
    assert caught.value.field == "interval"
    with pytest.raises(ValidationFailed) as caught:
        forecast_series(rows, 7200, "magic", 1)
    assert caught.value.field == "method"


# --- CSV and plans ------------------------------------------------------------------------


def test_counts_csv_round_trip() -> None:
    rows = [(MONDAY, 12.5), (MONDAY + STEP, 0.0)]
    text = format_counts(rows)
    assert text.splitlines()[0] == "start,calls"
    assert parse_counts(text) == rows
    assert parse_counts("Start , Calls ,note\n2025-03-03T08:00,4,x\n\n") == [
        (datetime(2025, 3, 3, 8), 4.0)
    ]


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("when,calls\n2025-03-03T08:00,1\n", "file", "start,calls"),
        ("start,calls\n", "file", "no rows"),
        ("start,calls\nmonday,1\n", "start", "line 2"),
        ("start,calls\n2025-03-03T08:00,-1\n", "calls", "line 2"),
        ("start,calls\n2025-03-03T08:00,1\n2025-03-03T08:30,many\n", "calls", "line 3"),
        ("start,calls\n2025-03-03T08:00Z,1\n2025-03-03T08:30,1\n", "start", "offset"),
    ],
)
def test_bad_csv_names_the_field_and_line(text: str, field: str, words: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_counts(text, source="f.csv")
    assert caught.value.field == field
    assert words in caught.value.message


def test_staffing_plan_per_interval() -> None:
    rows = [(MONDAY + i * timedelta(minutes=30), c) for i, c in enumerate([100, 0, 37.5, 250])]
    target = Target(0.8, 20, max_occupancy=0.85)
    plan = staffing_plan(rows, interval_s=1800, aht_s=180, target=target, shrinkage=0.3)
    agents = [row.metrics.agents for row in plan.rows]
    assert agents[:2] == [14, 0]
    assert agents == [erlang_c_agents(Load(c, 1800, 180), target).agents for _, c in rows]
    assert [row.scheduled_agents for row in plan.rows][:2] == [20, 0]
    assert plan.peak_agents == max(agents)
    assert plan.agent_hours == pytest.approx(sum(agents) / 2)
    with_patience = staffing_plan(rows, interval_s=1800, aht_s=180, target=target, patience_s=300)
    assert [r.metrics.agents for r in with_patience.rows] <= agents
    assert all(r.metrics.abandon_probability is not None for r in with_patience.rows)
