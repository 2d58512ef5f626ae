"""Reports from the event log: the period's contacts measured (``metrics.summarise``), arrivals
per interval, and forecasts from them set against what arrived. Supervisors and admins."""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.principal import Principal
from omnidesk.analytics import extract, forecast
from omnidesk.analytics import repository as repo
from omnidesk.analytics.metrics import (
    FIELDS,
    GROUP_KEYS,
    NONE_KEY,
    ContactRecord,
    Summary,
    group_by,
    summarise,
)
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import ValidationFailed

#: The longest period one report reads (a quarter), and the longest history of arrivals.
MAX_REPORT_DAYS = 93
MAX_HISTORY_DAYS = 366
SUPERVISORS = ("admin", "supervisor")
#: Periods outside these years are typing mistakes (and would overflow date arithmetic).
MIN_YEAR, MAX_YEAR = 1970, 9000
#: How long after the period a wrap-up of its work is looked for.
WRAP_UP_HORIZON = timedelta(days=1)


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def check_period(start: datetime, end: datetime, max_days: int) -> Period:
    """``[start, end)``, both with a UTC offset, in order, and at most ``max_days`` long."""
    for name, value in (("from", start), ("to", end)):
        if value.tzinfo is None:
            raise ValidationFailed(f"{name} needs a UTC offset (e.g. Z or +01:00)", field=name)
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValidationFailed(
                f"{name} must lie between the years {MIN_YEAR} and {MAX_YEAR}", field=name
            )
    if end <= start:
        raise ValidationFailed("to must come after from", field="to")
    if end - start > timedelta(days=max_days):
        raise ValidationFailed(f"the period may be at most {max_days} days long", field="to")
    return Period(start.astimezone(UTC), end.astimezone(UTC))


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # a folder, a bad key
        raise ValidationFailed(f"unknown time zone {name!r}", field="tz") from None


@dataclass(frozen=True)
class Contacts:
    """A period's offered contacts and its agents' presences."""

    period: Period
    until: datetime  # the period's end, or now when that comes first
    records: list[ContactRecord]
    presences: list[extract.PresenceSpan]


async def contacts(
    session: AsyncSession, clock: Clock, account_id: int, period: Period
) -> Contacts:
    """The contacts that arrived in ``period``, followed as far as now."""
    now = clock.now()
    until = min(period.end, now)
    arrivals = await repo.arrivals(session, account_id, period.start, period.end)
    item_ids = [i for e in arrivals if isinstance(i := e.data.get("work_item_id"), int)]
    conversation_ids = [e.conversation_id for e in arrivals if e.conversation_id is not None]
    events = await repo.conversation_events(session, account_id, conversation_ids, period.start)
    channels = await repo.channels_of(session, account_id, item_ids)
    # Wrap-up after work that ended after the period still belongs to it: read a day on.
    horizon = max(min(now, until + WRAP_UP_HORIZON), period.start)
    changes = await repo.presence_changes(session, account_id, period.start, horizon)
    before = await repo.presence_at(session, account_id, period.start, changes)
    spans = extract.presence_spans(before, changes, period.start, horizon)
    records = extract.build_records(
        events,
        item_ids=item_ids,
        channels=channels,
        wrap_ups=extract.wrap_up_periods(spans),
        until=now,
    )
    inside = [_clip(s, period.start, until) for s in spans if s.start < until]
    return Contacts(period, until, [records[i] for i in item_ids if i in records], inside)


def _clip(span: extract.PresenceSpan, start: datetime, end: datetime) -> extract.PresenceSpan:
    return extract.PresenceSpan(
        span.agent_id, span.presence, max(span.start, start), min(span.end, end)
    )


@dataclass(frozen=True)
class ReportRow:
    key: str
    label: str
    summary: Summary


@dataclass(frozen=True)
class Report:
    period: Period
    group_by: str | None
    threshold_s: float
    timezone: str
    total: Summary
    rows: list[ReportRow]


def _time_key(group: str, tz: tzinfo) -> Callable[[datetime], str]:
    fmt = "%H:00" if group == "hour" else "%Y-%m-%d"
    return lambda moment: moment.astimezone(tz).strftime(fmt)


async def summary_report(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    start: datetime,
    end: datetime,
    *,
    group: str | None,
    threshold_s: float,
    tz_name: str = "UTC",
) -> Report:
    """The period's figures in total and per ``group`` (channel, queue, team, agent, hour or
    day). Occupancy needs agents' available time, which is known per agent, team, hour and
    day but not per channel or queue (there it is empty)."""
    principal.require(*SUPERVISORS)
    if group is not None and group not in GROUP_KEYS:
        raise ValidationFailed(f"group_by must be one of {', '.join(GROUP_KEYS)}", field="group_by")
    if not (math.isfinite(threshold_s) and 0 <= threshold_s <= 86_400):
        raise ValidationFailed("threshold_s must lie between 0 and 86400", field="threshold_s")
    tz = zone(tz_name)
    period = check_period(start, end, MAX_REPORT_DAYS)
    found = await contacts(session, clock, principal.account_id, period)
    everyone = extract.available_seconds(found.presences).get("", {})
    total = summarise(
        found.records,
        threshold_s=threshold_s,
        agent_seconds=everyone,
        window=(period.start, found.until),
    )
    rows: list[ReportRow] = []
    if group is not None:
        names = await repo.labels(session, principal.account_id)
        seconds = await _seconds_per_group(
            session, principal.account_id, group, tz, found, everyone
        )
        for key, records in group_by(found.records, group, tz=tz).items():
            label = names.get(group, {}).get(key, key) if key != NONE_KEY else key
            summary = summarise(
                records, threshold_s=threshold_s, agent_seconds=seconds(key) if seconds else None
            )
            rows.append(ReportRow(key, label, summary))
    return Report(period, group, threshold_s, tz_name, total, rows)


async def _seconds_per_group(
    session: AsyncSession,
    account_id: int,
    group: str,
    tz: tzinfo,
    found: Contacts,
    everyone: Mapping[str, float],
) -> Callable[[str], dict[str, float]] | None:
    """Available seconds per agent for one group's key, where they can be known."""
    if group == "agent":
        return lambda key: {key: everyone.get(key, 0.0)}
    if group == "team":
        members = await repo.team_members(session, account_id)
        return lambda key: {a: everyone.get(a, 0.0) for a in members.get(key, set())}
    if group in ("hour", "day"):
        per_key = extract.available_seconds(found.presences, _time_key(group, tz))
        return lambda key: per_key.get(key, {})
    return None


def report_csv(report: Report) -> str:
    """The report's table: one line per group (key, label, every figure), then the total."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["group_by", "key", "label", *FIELDS])
    lines = [*report.rows, ReportRow("total", "Total", report.total)]
    for row in lines:
        figures = row.summary.to_dict()
        writer.writerow(
            [report.group_by or "", row.key, row.label, *(_cell(figures[f]) for f in FIELDS)]
        )
    return out.getvalue()


def _cell(value: float | int | None) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


# Arrivals and forecasts ---------------------------------------------------------------------


def _grid(period: Period, interval_s: int) -> Period:
    """The period widened to whole intervals counted from midnight UTC."""
    if interval_s <= 0 or forecast.DAY_S % interval_s:
        raise ValidationFailed("interval must divide a day (e.g. 900 or 1800)", field="interval")
    step = timedelta(seconds=interval_s)
    midnight = period.start.replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight + ((period.start - midnight) // step) * step
    end = midnight + -((midnight - period.end) // step) * step
    return Period(start, end)


async def arrivals(
    session: AsyncSession,
    principal: Principal,
    start: datetime,
    end: datetime,
    interval_s: int,
) -> tuple[Period, list[tuple[datetime, int]]]:
    """Contacts offered per interval of ``interval_s`` (every interval, 0 included)."""
    principal.require(*SUPERVISORS)
    period = check_period(start, end, MAX_HISTORY_DAYS)
    return _grid(period, interval_s), await arrival_counts(
        session, principal.account_id, period, interval_s
    )


async def arrival_counts(
    session: AsyncSession, account_id: int, period: Period, interval_s: int
) -> list[tuple[datetime, int]]:
    """Contacts that entered routing per interval, over ``period`` widened to whole intervals
    counted from midnight UTC."""
    grid = _grid(period, interval_s)
    step = timedelta(seconds=interval_s)
    times = await repo.arrival_times(session, account_id, grid.start, grid.end)
    counts = Counter((t - grid.start) // step for t in times)
    n = (grid.end - grid.start) // step
    return [(grid.start + i * step, counts.get(i, 0)) for i in range(n)]


@dataclass(frozen=True)
class ForecastRow:
    start: datetime
    forecast: float
    actual: int | None  # None: not over yet


@dataclass(frozen=True)
class ForecastReport:
    method: forecast.Method
    interval_s: int
    season_intervals: int
    history: Period
    rows: list[ForecastRow]


async def forecast_report(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    start: datetime,
    end: datetime,
    *,
    interval_s: int,
    method: str,
    days: int,
) -> ForecastReport:
    """Arrivals forecast for the ``days`` after the history ``[start, end)`` with ``method``,
    beside what actually arrived in each interval that is over."""
    principal.require(*SUPERVISORS)
    if not 1 <= days <= 31:
        raise ValidationFailed("days must lie between 1 and 31", field="days")
    history = _grid(check_period(start, end, MAX_HISTORY_DAYS), interval_s)
    counts = await arrival_counts(session, principal.account_id, history, interval_s)
    result = forecast.forecast_series([(t, float(c)) for t, c in counts], interval_s, method, days)
    ahead = Period(history.end, history.end + timedelta(days=days))
    actual = dict(await arrival_counts(session, principal.account_id, ahead, interval_s))
    now = clock.now()
    step = timedelta(seconds=interval_s)
    rows = [
        ForecastRow(t, value, actual.get(t) if t + step <= now else None)
        for t, value in result.rows
    ]
    return ForecastReport(result.method, interval_s, result.season_intervals, history, rows)
