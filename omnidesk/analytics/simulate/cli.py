"""``omnidesk simulate scenario.yaml``: a simulated day, its figures, a variant beside it.

Tables on stdout (a progress bar over virtual time on stderr), or JSON only with ``--json``.
A bad scenario exits 2 with the path of the bad field on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from omnidesk.analytics.simulate import plot, report, scenario
from omnidesk.analytics.simulate.simulation import Simulation
from omnidesk.kit.errors import OmnideskError

_errors = Console(stderr=True)

#: Rows of the tables: (key, label, format).
_ROWS: tuple[tuple[str, str, str], ...] = (
    ("offered", "offered", "d"),
    ("answered", "answered", "d"),
    ("abandoned", "abandoned", "d"),
    ("abandonment_rate", "abandonment", "%"),
    ("service_level", "service level", "%"),
    ("service_level_abandon_inclusive", "SL, abandons included", "%"),
    ("asa_s", "ASA s", "s"),
    ("handle_s", "handle s", "s"),
    ("wrap_s", "wrap-up s", "s"),
    ("resolution_s_median", "resolution s, median", "s"),
    ("resolution_s_p90", "resolution s, p90", "s"),
    ("occupancy", "occupancy", "%"),
    ("utilisation", "utilisation", "%"),
    ("contacts_per_agent_day", "contacts per agent-day", "s"),
)
#: Columns of the per-queue and per-channel table.
_GROUP_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("offered", "offered", "d"),
    ("abandonment_rate", "aband.", "%"),
    ("service_level", "SL", "%"),
    ("service_level_abandon_inclusive", "SL incl. ab.", "%"),
    ("asa_s", "ASA s", "s"),
    ("handle_s", "handle s", "s"),
)


@contextmanager
def _field_errors() -> Iterator[None]:
    try:
        yield
    except OmnideskError as exc:
        _errors.print(Text.assemble(("error: ", "red"), exc.message), soft_wrap=True)
        raise typer.Exit(2) from exc


def _run(path: Path, seed: int | None, *, show_progress: bool) -> dict[str, Any]:
    with _field_errors():
        day = scenario.load(path)
    simulation = Simulation(day, seed=seed)
    if not show_progress:
        return report.report(simulation.run())
    with Progress(
        TextColumn(f"[bold]{day.name}[/bold]"),
        BarColumn(),
        TextColumn("{task.fields[clock]}"),
        TimeElapsedColumn(),
        console=_errors,
        transient=True,
    ) as bar:
        task = bar.add_task("simulating", total=day.end_s, clock="")

        def moved(t: float) -> None:
            now = simulation.clock.now()
            bar.update(task, completed=min(t, day.end_s), clock=f"virtual {now:%a %H:%M}")

        result = simulation.run(moved)
    return report.report(result)


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "%":
        return f"{100 * value:.1f} %"
    if kind == "d":
        return f"{value:,}"
    return f"{value:,.1f}"


def _overall_table(run: dict[str, Any]) -> Table:
    target = run["target"]
    table = Table(
        title=f"{run['scenario']}: {run['measured_contacts']:,} contacts, {run['agents']} agents,"
        f" seed {run['seed']}",
        caption=f"service level: answered within {target['threshold_s']:g} s"
        f" (target {100 * target['service_level']:g} %)",
    )
    table.add_column("metric")
    table.add_column("overall", justify="right")
    for key, label, kind in _ROWS:
        table.add_row(label, _cell(run["overall"].get(key), kind))
    return table


def _groups_table(run: dict[str, Any]) -> Table:
    table = Table(title=f"{run['scenario']}: by queue and channel")
    groups = [("queue", k, v) for k, v in run["by_queue"].items()]
    groups += [("channel", k, v) for k, v in run["by_channel"].items()]
    table.add_column("by")
    table.add_column("name", no_wrap=True)
    for _, label, _ in _GROUP_COLUMNS:
        table.add_column(label, justify="right")
    for by, name, figures in groups:
        cells = (_cell(figures.get(key), kind) for key, _, kind in _GROUP_COLUMNS)
        table.add_row(by, name, *cells)
    return table


def _difference(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key, va in a["overall"].items():
        vb = b["overall"][key]
        numeric = isinstance(va, int | float) and isinstance(vb, int | float)
        out[key] = vb - va if numeric else None
    return out


def _change(value: float, kind: str) -> str:
    sign = "+" if value > 0 else ""
    if kind == "%":
        return f"{sign}{100 * value:.1f} pp"
    return sign + _cell(value, kind)


def _compare_table(a: dict[str, Any], b: dict[str, Any], delta: dict[str, Any]) -> Table:
    table = Table(title=f"{a['scenario']} against {b['scenario']} (seed {a['seed']})")
    table.add_column("metric")
    table.add_column(a["scenario"], justify="right")
    table.add_column(b["scenario"], justify="right")
    table.add_column("difference", justify="right")
    for key, label, kind in _ROWS:
        change = delta.get(key)
        shown = "-" if change is None else _change(change, kind)
        table.add_row(
            label, _cell(a["overall"].get(key), kind), _cell(b["overall"][key], kind), shown
        )
    table.add_row("agents", str(a["agents"]), str(b["agents"]), f"{b['agents'] - a['agents']:+d}")
    return table


def simulate(
    scenario_file: Path = typer.Argument(..., metavar="SCENARIO.YAML", help="The day to simulate."),
    compare: Path | None = typer.Option(
        None, "--compare", metavar="OTHER.YAML", help="A variant to run on the same customers."
    ),
    seed: int | None = typer.Option(None, help="Seed instead of the scenario's own."),
    plot_file: Path | None = typer.Option(
        None, "--plot", help="Draw the day: a PNG for a .png name, an SVG otherwise."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON only, on stdout."),
) -> None:
    """Simulate a day through the real routing engine and print the reports' figures."""
    runs = [_run(scenario_file, seed, show_progress=not json_output)]
    if compare is not None:
        # The variant meets the same customers: the baseline's seed unless one is given.
        runs.append(_run(compare, runs[0]["seed"], show_progress=not json_output))
    if plot_file is not None:
        with _field_errors():
            plot.write(plot_file, runs)
    if json_output:
        if len(runs) == 1:
            typer.echo(json.dumps(runs[0], indent=2))
        else:
            both = {"baseline": runs[0], "variant": runs[1]}
            typer.echo(json.dumps({**both, "difference": _difference(*runs)}, indent=2))
        return
    console = Console()
    for run in runs:
        console.print(_overall_table(run))
        console.print(_groups_table(run))
    if len(runs) == 2:
        console.print(_compare_table(runs[0], runs[1], _difference(*runs)))
