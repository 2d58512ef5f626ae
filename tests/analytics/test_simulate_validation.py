"""The simulator against queueing theory: an M/M/c day must land on Erlang C.

Three agents taking calls at once (auto-accept, no wrap-up), Poisson arrivals of 1.5
erlangs, exponential handle times of 180 s, customers who never give up: Erlang C says 80.0 %
answered within 20 s and 23.7 % of callers wait at all. One seeded run of about 50,000
calls, the first hour left out as warm-up (the day starts with an empty queue).

The margin, measured: over 12 seeds at 40,000 calls the run's error had a standard
deviation of 0.0045 (service level) and 0.0041 (wait probability), largest 0.0072 and
0.0070 (means -0.0011 and +0.0012: no visible bias). At 50,000 calls that is about 0.0040
and 0.0037, so the tolerances (1.5 percentage points, 0.02) sit at about 3.7 and 5.4
standard deviations: a correct simulator fails this with about one seed in five thousand,
while a wrong one (answering out of order, losing capacity, miscounting waits) moves these
figures by far more. Three agents rather than the fourteen of the classic example: a small
centre forgets its past queue faster, so fewer calls give the same precision (fourteen
agents at 10 erlangs needed 100,000 calls for a standard deviation of 0.0058).
"""

from __future__ import annotations

from omnidesk.analytics import erlang, metrics
from omnidesk.analytics.simulate import report, scenario
from omnidesk.analytics.simulate.simulation import Simulation

AGENTS = 3
ERLANGS = 1.5
AHT_S = 180.0
THRESHOLD_S = 20.0
CALLS = 50_000


def test_an_mmc_day_agrees_with_erlang_c() -> None:
    per_hour = ERLANGS * 3600 / AHT_S
    day = scenario.parse(
        {
            "name": "M/M/3",
            "seed": 2026,
            "hours": 1 + CALLS / per_hour,
            "warm_up_h": 1,
            "service_level": {"threshold_s": THRESHOLD_S},
            "queues": {"calls": {}},
            "agents": [
                {"name": "agents", "count": AGENTS, "capacity": {"voice": 1}, "auto_accept": True}
            ],
            "traffic": [
                {
                    "queue": "calls",
                    "channel": "voice",
                    "arrivals": {"per_hour": per_hour},
                    "handle_time": {"kind": "exponential", "mean_s": AHT_S},
                }
            ],
        }
    )
    result = Simulation(day).run()
    measured = report.day(result)
    figures = metrics.summarise(
        measured.records,
        threshold_s=THRESHOLD_S,
        agent_seconds=measured.agent_seconds,
        window=measured.window,
    )
    theory = erlang.erlang_c_metrics(
        erlang.Load(calls=per_hour, interval_s=3600, aht_s=AHT_S), AGENTS, THRESHOLD_S
    )
    assert abs(figures.offered - CALLS) < 1_200  # Poisson: sd ≈ 224
    assert figures.answered == figures.offered  # nobody gives up in M/M/c
    waited = sum(1 for r in measured.records if r.answered_at and r.answered_at > r.arrived_at)
    wait_probability = waited / len(measured.records)

    assert abs(figures.service_level - theory.service_level) <= 0.015
    assert abs(wait_probability - theory.wait_probability) <= 0.02
    # The mean answer time and occupancy follow. Measured over 9 seeds at 50,000 calls: ASA
    # off by 5.3 % (sd), occupancy by 0.0008; the tolerances are about 3.8 and 6 sd.
    assert abs(figures.asa_s - theory.asa_s) <= 0.2 * theory.asa_s
    assert abs(figures.occupancy - theory.occupancy) <= 0.005
