"""``omnidesk erlang …``: Erlang C, A and B, staffing plans and forecasts from the command line.

Each command prints a Rich table, or JSON with ``--json``. Bad input exits 2 with a message
on stderr naming the field. Definitions: ``docs/workforce.md``.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from omnidesk.analytics import erlang, forecast, workforce
from omnidesk.kit.errors import OmnideskError, ValidationFailed

erlang_app = typer.Typer(
    help="Workforce maths: Erlang C, A and B, staffing plans, forecasts (docs/workforce.md).",
    no_args_is_help=True,
)
_errors = Console(stderr=True)

# Shared options (Typer reads the defaults as declarations).
_CALLS = typer.Option(..., help="Calls offered in one interval.")
_INTERVAL = typer.Option(1800.0, help="Length of the interval in seconds.")
_AHT = typer.Option(..., help="Average handling time in seconds (talk + hold + wrap-up).")
_TARGET = typer.Option(0.8, help="Service level target: share answered within the threshold.")
_THRESHOLD = typer.Option(20.0, help="Service level threshold in seconds.")
_ASA = typer.Option(None, help="Also require a mean answer time of at most this (seconds).")
_MAX_OCC = typer.Option(1.0, help="Highest acceptable occupancy (share of time busy).")
_SHRINKAGE = typer.Option(0.0, help="Share of paid time off the phones (breaks, training…).")
_JSON = typer.Option(False, "--json", help="Print JSON on stdout.")


@contextmanager
def _field_errors() -> Iterator[None]:
    """A validation error becomes exit code 2 and a message naming the field on stderr."""
    try:
        yield
    except OmnideskError as exc:
        where = f"--{exc.field.replace('_', '-')}: " if exc.field else ""
        _errors.print(Text.assemble(("error: ", "red"), where, exc.message), soft_wrap=True)
        raise typer.Exit(2) from exc


def _number(value: float | None) -> float | None:
    return None if value is None or math.isinf(value) else value


def _metrics(metrics: erlang.Metrics) -> dict[str, Any]:
    out = asdict(metrics)
    if out["abandon_probability"] is None:
        del out["abandon_probability"], out["mean_wait_s"]
    return out


def _show(report: dict[str, Any], *, json_output: bool, title: str) -> None:
    if json_output:
        typer.echo(json.dumps(report, indent=2))
        return
    table = Table(title=title, show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report.items():
        table.add_row(key, _cell(key, value))
    Console().print(table)


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "∞" if key == "asa_s" else "-"
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _load_and_target(
    calls: float,
    interval: float,
    aht: float,
    target: float,
    threshold: float,
    asa: float | None,
    max_occupancy: float,
) -> tuple[erlang.Load, erlang.Target]:
    return (
        erlang.Load(calls, interval, aht),
        erlang.Target(target, threshold, asa, max_occupancy),
    )


def _staffing_report(
    load: erlang.Load,
    target: erlang.Target,
    shrinkage: float,
    metrics: erlang.Metrics,
    extra: dict[str, Any],
) -> dict[str, Any]:
    return {
        **extra,
        "calls": load.calls,
        "interval_s": load.interval_s,
        "aht_s": load.aht_s,
        "target": target.service_level,
        "threshold_s": target.threshold_s,
        "asa_target_s": target.asa_s,
        "max_occupancy": target.max_occupancy,
        "shrinkage": shrinkage,
        **_metrics(metrics),
        "scheduled_agents": erlang.scheduled_agents(metrics.agents, shrinkage),
        "meets_target": erlang.meets(metrics, target),
    }


@erlang_app.command("c")
def erlang_c(
    calls: float = _CALLS,
    interval: float = _INTERVAL,
    aht: float = _AHT,
    target: float = _TARGET,
    threshold: float = _THRESHOLD,
    asa: float | None = _ASA,
    max_occupancy: float = _MAX_OCC,
    shrinkage: float = _SHRINKAGE,
    agents: int | None = typer.Option(
        None, help="Report on this many agents instead of finding the fewest that meet the target."
    ),
    json_output: bool = _JSON,
) -> None:
    """Erlang C (callers wait as long as it takes): agents needed, or what given agents achieve."""
    with _field_errors():
        load, goal = _load_and_target(calls, interval, aht, target, threshold, asa, max_occupancy)
        erlang.check_number(shrinkage, "shrinkage", minimum=0, below=1)
        metrics = (
            erlang.erlang_c_agents(load, goal)
            if agents is None
            else erlang.erlang_c_metrics(load, erlang.check_count(agents, "agents"), threshold)
        )
        report = _staffing_report(load, goal, shrinkage, metrics, {"model": "erlang-c"})
    _show(report, json_output=json_output, title="Erlang C")


@erlang_app.command("a")
def erlang_a(
    calls: float = _CALLS,
    interval: float = _INTERVAL,
    aht: float = _AHT,
    patience: float = typer.Option(..., help="Callers' mean patience in seconds ('inf': none)."),
    target: float = _TARGET,
    threshold: float = _THRESHOLD,
    asa: float | None = _ASA,
    max_occupancy: float = _MAX_OCC,
    shrinkage: float = _SHRINKAGE,
    agents: int | None = typer.Option(
        None, help="Report on this many agents instead of finding the fewest that meet the target."
    ),
    json_output: bool = _JSON,
) -> None:
    """Erlang A (callers hang up after an exponential patience): abandonment and service level
    counting abandoners as failures."""
    with _field_errors():
        load, goal = _load_and_target(calls, interval, aht, target, threshold, asa, max_occupancy)
        erlang.check_number(shrinkage, "shrinkage", minimum=0, below=1)
        erlang.check_number(patience, "patience", above=0, infinite=True)
        metrics = (
            erlang.erlang_a_agents(load, goal, patience)
            if agents is None
            else erlang.erlang_a_metrics(
                load, erlang.check_count(agents, "agents"), patience, threshold
            )
        )
        extra = {"model": "erlang-a", "patience_s": _number(patience)}
        report = _staffing_report(load, goal, shrinkage, metrics, extra)
        report.setdefault("abandon_probability", 0.0)
        report.setdefault("mean_wait_s", report["asa_s"])
    _show(report, json_output=json_output, title="Erlang A")


@erlang_app.command("b")
def erlang_b(
    erlangs: float = typer.Option(..., help="Offered traffic in erlangs (fractions are fine)."),
    lines: int | None = typer.Option(None, help="Lines (trunks, agents without a queue)."),
    blocking: float | None = typer.Option(
        None, help="Instead of --lines: the highest acceptable blocking; finds the fewest lines."
    ),
    json_output: bool = _JSON,
) -> None:
    """Erlang B (no queue: a call finding every line busy is lost): blocking probability."""
    with _field_errors():
        if (lines is None) == (blocking is None):
            raise ValidationFailed("give either --lines or --blocking", field="lines")
        if lines is None:
            assert blocking is not None
            lines = erlang.erlang_b_lines(erlangs, blocking)
        report = {
            "model": "erlang-b",
            "erlangs": erlangs,
            "lines": lines,
            "blocking_probability": erlang.erlang_b(erlangs, lines),
        }
    _show(report, json_output=json_output, title="Erlang B")


def _moment(value: str | None, field: str) -> datetime:
    if value is None:
        raise ValidationFailed("needed with --account", field=field)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{value!r} is not an ISO 8601 date and time", field=field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _history_from_database(
    account: int, start: str | None, end: str | None, interval: int
) -> list[tuple[datetime, float]]:
    from omnidesk.analytics import service
    from omnidesk.kit.db import Database
    from omnidesk.settings import Settings

    period = service.check_period(
        _moment(start, "from"), _moment(end, "to"), service.MAX_HISTORY_DAYS
    )
    db = Database(Settings().database_url)
    try:
        async with db.transaction() as session:
            counts = await service.arrival_counts(session, account, period, interval)
    finally:
        await db.dispose()
    return [(t, float(c)) for t, c in counts]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"cannot read {path}: {exc}", field="file") from exc


@erlang_app.command("plan")
def plan(
    forecast_csv: Path = typer.Argument(
        ..., metavar="FORECAST.CSV", help="start,calls rows, one per interval."
    ),
    interval: float = typer.Option(1800.0, help="Length of each row's interval in seconds."),
    aht: float = _AHT,
    target: float = _TARGET,
    threshold: float = _THRESHOLD,
    asa: float | None = _ASA,
    max_occupancy: float = _MAX_OCC,
    shrinkage: float = _SHRINKAGE,
    patience: float | None = typer.Option(
        None, help="Plan with Erlang A for callers of this mean patience (seconds)."
    ),
    json_output: bool = _JSON,
) -> None:
    """A staffing plan: agents and scheduled agents for each interval of a forecast."""
    with _field_errors():
        goal = erlang.Target(target, threshold, asa, max_occupancy)
        erlang.check_number(interval, "interval", above=0)
        rows = workforce.parse_counts(_read(forecast_csv), source=str(forecast_csv))
        result = workforce.staffing_plan(
            rows,
            interval_s=interval,
            aht_s=aht,
            target=goal,
            shrinkage=shrinkage,
            patience_s=patience,
        )
    report = {
        "model": "erlang-c" if patience is None else "erlang-a",
        "interval_s": interval,
        "aht_s": aht,
        "patience_s": _number(patience),
        "target": target,
        "threshold_s": threshold,
        "asa_target_s": asa,
        "max_occupancy": max_occupancy,
        "shrinkage": shrinkage,
        "agent_hours": result.agent_hours,
        "scheduled_hours": result.scheduled_hours,
        "peak_agents": result.peak_agents,
        "intervals": [
            {
                "start": row.start.isoformat(),
                "calls": row.calls,
                **_metrics(row.metrics),
                "scheduled_agents": row.scheduled_agents,
            }
            for row in result.rows
        ],
    }
    if json_output:
        typer.echo(json.dumps(report, indent=2))
        return
    _plan_table(report)


def _plan_table(report: dict[str, Any]) -> None:
    table = Table(
        title=f"Staffing plan: {report['agent_hours']:.1f} agent-hours, "
        f"{report['scheduled_hours']:.1f} scheduled"
    )
    columns: list[tuple[str, str, Callable[[Any], str]]] = [
        ("start", "start", lambda v: v.replace("T", " ")[5:16]),
        ("calls", "calls", lambda v: f"{v:.4g}"),
        ("erlangs", "erlangs", lambda v: f"{v:.2f}"),
        ("agents", "agents", str),
        ("scheduled_agents", "sched.", str),
        ("service_level", "SL", lambda v: f"{v:.3f}"),
        ("asa_s", "ASA s", lambda v: "∞" if v is None else f"{v:.1f}"),
        ("occupancy", "occ.", lambda v: f"{v:.3f}"),
    ]
    for _, title, _ in columns:
        table.add_column(title, justify="left" if title == "start" else "right", no_wrap=True)
    for row in report["intervals"]:
        table.add_row(*(fmt(row[key]) for key, _, fmt in columns))
    Console().print(table)


@erlang_app.command("forecast")
def forecast_command(
    history_csv: Path | None = typer.Argument(
        None, metavar="[HISTORY.CSV]", help="start,calls rows of past intervals."
    ),
    method: str = typer.Option(
        "seasonal-naive", help="seasonal-naive or ets (exponential smoothing)."
    ),
    days: int = typer.Option(1, help="Days to forecast after the history's last interval."),
    interval: int = typer.Option(1800, help="Length of each interval in seconds (divides a day)."),
    account: int | None = typer.Option(
        None, help="Read the history from the database instead: this account's arrivals."
    ),
    history_from: str | None = typer.Option(None, "--from", help="With --account: ISO 8601 start."),
    history_to: str | None = typer.Option(None, "--to", help="With --account: ISO 8601 end."),
    csv_output: bool = typer.Option(False, "--csv", help="Print start,calls CSV (for `plan`)."),
    json_output: bool = _JSON,
) -> None:
    """Calls per interval for the next days, from the history of calls per interval (a CSV,
    or the contacts that arrived in an account, read from the database)."""
    with _field_errors():
        if (history_csv is None) == (account is None):
            raise ValidationFailed("give HISTORY.CSV or --account", field="account")
        if history_csv is not None:
            rows = workforce.parse_counts(_read(history_csv), source=str(history_csv))
        else:
            assert account is not None
            rows = asyncio.run(_history_from_database(account, history_from, history_to, interval))
        result = forecast.forecast_series(rows, interval, method, days)
    if csv_output:
        typer.echo(workforce.format_counts(result.rows), nl=False)
        return
    report = {
        "method": result.method,
        "interval_s": result.interval_s,
        "season_intervals": result.season_intervals,
        "intervals": [{"start": s.isoformat(), "calls": c} for s, c in result.rows],
    }
    if json_output:
        typer.echo(json.dumps(report, indent=2))
        return
    table = Table(title=f"Forecast ({result.method}, season {result.season_intervals} intervals)")
    table.add_column("start")
    table.add_column("calls", justify="right")
    for start, calls in result.rows:
        table.add_row(start.isoformat(), f"{calls:.1f}")
    Console().print(table)
