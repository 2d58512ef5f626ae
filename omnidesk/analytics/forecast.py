"""Forecasts of calls per interval from history. Pure: no I/O, no clock.

Two methods, both seasonal (a contact centre's day has a shape, and so has its week):

* **seasonal naive** — each future interval repeats the same interval one season earlier
  (the same weekday and time of day a week before when a week of history is there, else the
  same time the day before);
* **exponential smoothing** (additive Holt-Winters) — a smoothed level, optionally a trend,
  and a smoothed seasonal offset per interval of the season; the smoothing constants are the
  ones with the smallest one-step-ahead squared error over the history, from a small grid.

``forecast_series`` works on timestamped counts (rows of ``start, calls`` at a fixed interval);
the other functions on plain lists of counts. Definitions in ``docs/workforce.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import product
from typing import Literal

from omnidesk.kit.errors import ValidationFailed

Method = Literal["seasonal-naive", "ets"]
METHODS: tuple[Method, ...] = ("seasonal-naive", "ets")

DAY_S = 86_400
WEEK_S = 7 * DAY_S

_ALPHAS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
_BETAS = (0.0, 0.01, 0.05, 0.1)
_GAMMAS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


def _check_history(history: Sequence[float], season: int, horizon: int, seasons: int) -> None:
    if season < 1:
        raise ValidationFailed("season must be at least 1 interval", field="season")
    if horizon < 0:
        raise ValidationFailed("horizon must be 0 or more", field="horizon")
    if len(history) < seasons * season:
        raise ValidationFailed(
            f"history must cover at least {seasons} season(s) of {season} intervals "
            f"(it has {len(history)})",
            field="history",
        )
    for value in history:
        if not (math.isfinite(value) and value >= 0):
            raise ValidationFailed("history counts must be numbers, 0 or more", field="history")


def seasonal_naive(history: Sequence[float], season: int, horizon: int) -> list[float]:
    """The next ``horizon`` values, each the value one ``season`` earlier (repeating the last
    season as often as needed)."""
    _check_history(history, season, horizon, 1)
    start = len(history) - season
    return [float(history[start + h % season]) for h in range(horizon)]


@dataclass(frozen=True)
class Smoothing:
    alpha: float  # level
    beta: float  # trend (0: none)
    gamma: float  # seasonal offsets


@dataclass(frozen=True)
class _Run:
    sse: float
    level: float
    trend: float
    seasonal: list[float]


def _smooth(history: Sequence[float], season: int, params: Smoothing) -> _Run:
    first = history[:season]
    level = math.fsum(first) / season
    seasonal = [y - level for y in first]
    trend = 0.0
    if params.beta > 0 and len(history) >= 2 * season:
        trend = (math.fsum(history[season : 2 * season]) / season - level) / season
    sse = 0.0
    alpha, beta, gamma = params.alpha, params.beta, params.gamma
    for t in range(season, len(history)):
        y = history[t]
        offset = seasonal[t % season]
        error = y - (level + trend + offset)
        sse += error * error
        previous = level
        level = alpha * (y - offset) + (1 - alpha) * (level + trend)
        trend = beta * (level - previous) + (1 - beta) * trend
        seasonal[t % season] = gamma * (y - level) + (1 - gamma) * offset
    return _Run(sse, level, trend, seasonal)


def fit_smoothing(history: Sequence[float], season: int, *, trend: bool = True) -> Smoothing:
    """The grid's smoothing constants with the least one-step-ahead squared error."""
    _check_history(history, season, 0, 2)
    grid = product(_ALPHAS, _BETAS if trend else (0.0,), _GAMMAS)
    candidates = [Smoothing(a, b, g) for a, b, g in grid]
    return min(candidates, key=lambda p: _smooth(history, season, p).sse)


def exponential_smoothing(
    history: Sequence[float],
    season: int,
    horizon: int,
    params: Smoothing | None = None,
    *,
    trend: bool = True,
) -> list[float]:
    """Additive Holt-Winters: level + h·trend + seasonal offset, never below 0.

    It needs two seasons of history (one to start the seasonal offsets, one to learn from);
    ``params`` default to :func:`fit_smoothing`'s.
    """
    _check_history(history, season, horizon, 2)
    chosen = params or fit_smoothing(history, season, trend=trend)
    run = _smooth(history, season, chosen)
    n = len(history)
    return [
        max(0.0, run.level + (h + 1) * run.trend + run.seasonal[(n + h) % season])
        for h in range(horizon)
    ]


@dataclass(frozen=True)
class Forecast:
    method: Method
    interval_s: int
    season_intervals: int
    rows: list[tuple[datetime, float]]


def regular_series(
    rows: Sequence[tuple[datetime, float]], interval_s: int
) -> list[tuple[datetime, float]]:
    """``rows`` sorted on a regular grid of ``interval_s`` from the first start to the last,
    an interval missing from the rows counting 0 calls."""
    if interval_s <= 0 or DAY_S % interval_s:
        raise ValidationFailed("interval must divide a day (e.g. 900 or 1800)", field="interval")
    if not rows:
        raise ValidationFailed("history has no rows", field="history")
    ordered = sorted(rows, key=lambda row: row[0])
    first = ordered[0][0]
    step = timedelta(seconds=interval_s)
    counts: dict[int, float] = {}
    for start, calls in ordered:
        offset, rest = divmod(start - first, step)
        if rest:
            raise ValidationFailed(
                f"{start.isoformat()} is not on the {interval_s} s grid starting at "
                f"{first.isoformat()}",
                field="start",
            )
        if offset in counts:
            raise ValidationFailed(f"{start.isoformat()} appears twice", field="start")
        counts[offset] = calls
    return [(first + i * step, counts.get(i, 0.0)) for i in range(max(counts) + 1)]


def forecast_series(
    rows: Sequence[tuple[datetime, float]], interval_s: int, method: str, days: int
) -> Forecast:
    """Calls for each interval of the ``days`` after the history's last interval.

    The season is a week (weekday x time of day) when the history holds enough of them — one
    week for seasonal naive, two for exponential smoothing — else a day.
    """
    chosen = next((m for m in METHODS if m == method), None)
    if chosen is None:
        raise ValidationFailed(f"method must be one of {', '.join(METHODS)}", field="method")
    if days < 1:
        raise ValidationFailed("days must be at least 1", field="days")
    series = regular_series(rows, interval_s)
    counts = [calls for _, calls in series]
    needed = 1 if chosen == "seasonal-naive" else 2
    week, day = WEEK_S // interval_s, DAY_S // interval_s
    season = week if len(counts) >= needed * week else day
    horizon = days * day
    if chosen == "seasonal-naive":
        values = seasonal_naive(counts, season, horizon)
    else:
        values = exponential_smoothing(counts, season, horizon)
    step = timedelta(seconds=interval_s)
    last = series[-1][0]
    return Forecast(
        chosen, interval_s, season, [(last + (h + 1) * step, v) for h, v in enumerate(values)]
    )
