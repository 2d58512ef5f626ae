"""``omnidesk bench simulate``: a day of about 100,000 contacts through the simulator.

The day: 16 hours, three channels (voice into two skill queues, chat at three at once, email
at two at once, auto-accepted), Poisson arrivals on an hourly curve, lognormal and
exponential handle times, exponential patience on voice and chat, 500 agents in an early
and a late shift (two hours of overlap), offers accepted after a few seconds, wrap-up on
voice. ``wall_s`` is the simulation alone (event loop and routing engine), ``report_s`` the
figures computed from its records afterwards.

The comparison with ciw (a discrete-event queueing library, a development dependency): one
M/M/c model — ``ciw_servers`` servers, Poisson arrivals at 85 % load, exponential service
of mean 180 s, run for ``ciw_customers / λ`` seconds — simulated by both, each timed from
building the model to the end of the run, records not collected: ours through
:class:`~omnidesk.analytics.simulate.simulation.Simulation` and the routing engine (one
queue, auto-accepting agents, no patience), ciw's with its own engine. ``ciw_ratio`` is our
wall time divided by ciw's: below 1, ours is faster. CPU times (``cpu_s``, ``ciw_cpu_ratio``) are
printed beside the wall times: on a host loaded by other work, wall time includes waiting
for a core, CPU time does not.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.table import Table

from omnidesk.analytics.simulate import report, scenario
from omnidesk.analytics.simulate.simulation import Simulation
from omnidesk.bench.harness import machine_info

#: Contacts per hour of the day, relative (sums to 16).
CURVE = (0.6, 0.9, 1.1, 1.2, 1.2, 1.1, 1.0, 1.0, 1.0, 1.1, 1.2, 1.2, 1.1, 0.9, 0.8, 0.6)
#: Share of the contacts per stream: (queue, channel, share, handle time, patience).
STREAMS: tuple[tuple[str, str, float, dict[str, Any], dict[str, Any] | None], ...] = (
    ("sales", "voice", 0.20, {"kind": "lognormal", "mean_s": 150, "sd_s": 90}, {"mean_s": 120}),
    ("support", "voice", 0.25, {"kind": "exponential", "mean_s": 150}, {"mean_s": 180}),
    ("chat", "chat", 0.35, {"kind": "lognormal", "mean_s": 300, "sd_s": 150}, {"mean_s": 90}),
    ("email", "email", 0.20, {"kind": "exponential", "mean_s": 200}, None),
)
#: Agents per shift: (group, count, skills, capacity).
GROUPS: tuple[tuple[str, int, dict[str, int], dict[str, int]], ...] = (
    ("voice", 135, {"sales": 5, "support": 5}, {"voice": 1}),
    ("chat", 75, {"chat": 4}, {"chat": 3, "email": 1}),
    ("back office", 40, {}, {"email": 2}),
)
MMC_AHT_S = 180.0
MMC_LOAD = 0.85


def day_scenario(contacts: int, agents: int, seed: int) -> scenario.Scenario:
    """The benchmark's day, scaled to ``contacts`` and ``agents`` (``GROUPS`` is 500)."""
    per_shift = sum(count for _, count, _, _ in GROUPS)
    scale = agents / (2 * per_shift)
    hourly = [contacts * weight / sum(CURVE) for weight in CURVE]
    return scenario.parse(
        {
            "name": "bench day",
            "seed": seed,
            "hours": len(CURVE),
            "service_level": {"threshold_s": 20, "target": 0.8},
            "queues": {
                "sales": {"skills": {"sales": 3}, "wrap_up_s": 10},
                "support": {"skills": {"support": 3}, "wrap_up_s": 15},
                "chat": {"skills": {"chat": 2}, "policy": "least_occupied"},
                "email": {"offer_timeout_s": 120},
            },
            "traffic": [
                {
                    "queue": queue,
                    "channel": channel,
                    "arrivals": {"interval_min": 60, "counts": [share * n for n in hourly]},
                    "handle_time": handle,
                    "patience": patience,
                }
                for queue, channel, share, handle, patience in STREAMS
            ],
            "agents": [
                {
                    "name": f"{name} {shift}",
                    "count": round(count * scale),
                    "skills": skills,
                    "capacity": capacity,
                    "auto_accept": name == "back office",
                    "accept_delay": {"kind": "exponential", "mean_s": 3},
                    "shifts": [{"start_h": start, "end_h": end}],
                }
                for shift, start, end in (("early", 0, 9), ("late", 7, 16))
                for name, count, skills, capacity in GROUPS
            ],
        },
        source="bench",
    )


def mmc_scenario(servers: int, customers: int, seed: int) -> scenario.Scenario:
    per_hour = MMC_LOAD * servers / MMC_AHT_S * 3600
    return scenario.parse(
        {
            "name": f"M/M/{servers}",
            "seed": seed,
            "hours": customers / per_hour,
            "queues": {"calls": {}},
            "agents": [
                {"name": "agents", "count": servers, "capacity": {"voice": 1}, "auto_accept": True}
            ],
            "traffic": [
                {
                    "queue": "calls",
                    "channel": "voice",
                    "arrivals": {"per_hour": per_hour},
                    "handle_time": {"kind": "exponential", "mean_s": MMC_AHT_S},
                }
            ],
        },
        source="bench",
    )


def _ciw(servers: int, customers: int, seed: int) -> dict[str, Any]:
    """The same M/M/c model in ciw, timed the same way."""
    try:
        import ciw  # type: ignore[import-untyped]
    except ImportError:
        return {"ciw_wall_s": None, "ciw_note": "ciw is not installed: pip install -e '.[dev]'"}
    rate = MMC_LOAD * servers / MMC_AHT_S
    ciw.seed(seed)
    started, cpu_started = time.perf_counter(), time.process_time()
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=rate)],
        service_distributions=[ciw.dists.Exponential(rate=1 / MMC_AHT_S)],
        number_of_servers=[servers],
    )
    model = ciw.Simulation(network)
    model.simulate_until_max_time(customers / rate)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    records = model.get_all_records()
    return {
        "ciw_wall_s": wall,
        "ciw_cpu_s": cpu,
        "ciw_served": len(records),
        "ciw_within_20s": sum(1 for r in records if r.waiting_time <= 20) / max(len(records), 1),
        "ciw_version": ciw.__version__,
    }


def run_bench(
    *,
    contacts: int = 100_000,
    agents: int = 500,
    ciw_servers: int = 50,
    ciw_customers: int = 20_000,
    seed: int = 0,
    console: Console | None = None,
) -> dict[str, Any]:
    day = day_scenario(contacts, agents, seed)
    if console is not None:
        console.print(f"simulating {contacts:,} contacts, {agents} agents…")
    started, cpu_started = time.perf_counter(), time.process_time()
    result = Simulation(day).run()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    started = time.perf_counter()
    figures = report.report(result)
    report_s = time.perf_counter() - started

    if console is not None:
        console.print(f"M/M/{ciw_servers} with {ciw_customers:,} customers: ours, then ciw…")
    mmc = mmc_scenario(ciw_servers, ciw_customers, seed)
    started, cpu_started = time.perf_counter(), time.process_time()
    ours = Simulation(mmc).run()
    ours_wall, ours_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    ours_figures = report.report(ours)["overall"]
    theirs = _ciw(ciw_servers, ciw_customers, seed)
    ratio = ours_wall / theirs["ciw_wall_s"] if theirs["ciw_wall_s"] else None
    cpu_ratio = ours_cpu / theirs["ciw_cpu_s"] if theirs["ciw_wall_s"] else None
    return {
        "benchmark": "simulate",
        "machine": machine_info(),
        "seed": seed,
        "agents": len(result.agents),
        "channels": sorted(figures["by_channel"]),
        "contacts": len(result.contacts),
        "events": result.events,
        "wall_s": wall,
        "cpu_s": cpu,
        "events_per_s": result.events / wall,
        "contacts_per_s": len(result.contacts) / wall,
        "report_s": report_s,
        "simulated_hours": result.end_s / 3600,
        "service_level": figures["overall"]["service_level"],
        "abandonment_rate": figures["overall"]["abandonment_rate"],
        "occupancy": figures["overall"]["occupancy"],
        "mmc": {
            "servers": ciw_servers,
            "load": MMC_LOAD,
            "aht_s": MMC_AHT_S,
            "customers": len(ours.contacts),
            "wall_s": ours_wall,
            "cpu_s": ours_cpu,
            "within_20s": ours_figures["service_level"],
            **theirs,
        },
        "ciw_ratio": ratio,
        "ciw_cpu_ratio": cpu_ratio,
    }


def print_table(out: dict[str, Any], console: Console) -> None:
    table = Table(title="omnidesk bench simulate", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in ("agents", "contacts", "events", "wall_s", "cpu_s", "events_per_s", "report_s"):
        value = out[key]
        table.add_row(key, f"{value:,.2f}" if isinstance(value, float) else f"{value:,}")
    mmc = out["mmc"]
    table.add_row(f"M/M/{mmc['servers']}: ours s", f"{mmc['wall_s']:.2f}")
    ciw_wall = mmc.get("ciw_wall_s")
    table.add_row(f"M/M/{mmc['servers']}: ciw s", "-" if ciw_wall is None else f"{ciw_wall:.2f}")
    ratio = out["ciw_ratio"]
    table.add_row("ciw_ratio (ours / ciw)", "-" if ratio is None else f"{ratio:.2f}")
    console.print(table)
