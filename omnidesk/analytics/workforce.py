"""Staffing plans: agents per interval of a day from calls per interval. Pure: the CSV comes
in as text and goes out as text; reading and writing files is the caller's business."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from omnidesk.analytics.erlang import (
    Load,
    Metrics,
    Target,
    check_number,
    erlang_a_agents,
    erlang_c_agents,
    scheduled_agents,
)
from omnidesk.kit.errors import ValidationFailed


def parse_counts(text: str, *, source: str = "file") -> list[tuple[datetime, float]]:
    """Rows of a ``start,calls`` CSV (a header line naming both columns; others are ignored).

    ``start`` is an ISO 8601 date and time (all with a UTC offset, or all without); ``calls``
    a number, 0 or more (fractions are fine: a forecast's are).
    """
    reader = csv.DictReader(io.StringIO(text))
    names = [name.strip().lower() for name in reader.fieldnames or []]
    if "start" not in names or "calls" not in names:
        raise ValidationFailed(
            f"{source}: the first line must name the columns start,calls", field="file"
        )
    reader.fieldnames = names
    rows: list[tuple[datetime, float]] = []
    for record in reader:
        line = reader.line_num
        raw_start, raw_calls = (record.get("start") or "").strip(), record.get("calls")
        if not raw_start and not (raw_calls or "").strip():
            continue  # a blank line
        try:
            start = datetime.fromisoformat(raw_start)
        except ValueError:
            raise ValidationFailed(
                f"{source} line {line}: start {raw_start!r} is not an ISO 8601 date and time",
                field="start",
            ) from None
        try:
            calls = float((raw_calls or "").strip())
        except ValueError:
            calls = math.nan
        if not (math.isfinite(calls) and calls >= 0):
            raise ValidationFailed(
                f"{source} line {line}: calls must be a number, 0 or more (got {raw_calls!r})",
                field="calls",
            )
        if rows and (start.tzinfo is None) != (rows[0][0].tzinfo is None):
            raise ValidationFailed(
                f"{source} line {line}: every start needs a UTC offset, or none does",
                field="start",
            )
        rows.append((start, calls))
    if not rows:
        raise ValidationFailed(f"{source}: no rows after the header", field="file")
    return rows


def format_counts(rows: Sequence[tuple[datetime, float]]) -> str:
    """The ``start,calls`` CSV of ``rows`` (calls to 4 decimals) — what :func:`parse_counts`
    reads, so a forecast can be planned."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["start", "calls"])
    for start, calls in rows:
        writer.writerow([start.isoformat(), f"{round(calls, 4):g}"])
    return out.getvalue()


@dataclass(frozen=True)
class PlanRow:
    start: datetime
    calls: float
    metrics: Metrics
    scheduled_agents: int


@dataclass(frozen=True)
class Plan:
    interval_s: float
    rows: list[PlanRow]

    @property
    def agent_hours(self) -> float:
        return sum(row.metrics.agents for row in self.rows) * self.interval_s / 3600

    @property
    def scheduled_hours(self) -> float:
        return sum(row.scheduled_agents for row in self.rows) * self.interval_s / 3600

    @property
    def peak_agents(self) -> int:
        return max((row.metrics.agents for row in self.rows), default=0)


def staffing_plan(
    rows: Sequence[tuple[datetime, float]],
    *,
    interval_s: float,
    aht_s: float,
    target: Target,
    shrinkage: float = 0.0,
    patience_s: float | None = None,
) -> Plan:
    """For each interval, the fewest agents meeting ``target`` (Erlang C, or Erlang A with
    ``patience_s``) and the agents to schedule given ``shrinkage``."""
    check_number(shrinkage, "shrinkage", minimum=0, below=1)
    planned: list[PlanRow] = []
    for start, calls in sorted(rows, key=lambda row: row[0]):
        load = Load(calls, interval_s, aht_s)
        metrics = (
            erlang_c_agents(load, target)
            if patience_s is None
            else erlang_a_agents(load, target, patience_s)
        )
        planned.append(PlanRow(start, calls, metrics, scheduled_agents(metrics.agents, shrinkage)))
    return Plan(interval_s, planned)
