"""A simulated day measured by the reports' ruler: ContactRecords and ``metrics.summarise``.

Each simulated contact becomes a :class:`~omnidesk.analytics.metrics.ContactRecord`: its team
is the agent's group, its handle time the talk or chat time plus the queue's wrap-up, and it
is resolved when the agent finishes. The figures cover the contacts that arrived after the
warm-up; occupancy divides busy time by the agents' time on shift, both within
[warm-up end, last event].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from omnidesk.analytics import metrics
from omnidesk.analytics.simulate.simulation import Result

#: Length of the intervals of the day's timeline (and of the plot)...
INTERVAL_S = 1800.0
#: ... longer for long runs, so that there are at most this many.
MAX_INTERVALS = 96
#: Figures left out of the printed summary: the simulator does not model them.
UNMODELLED = (
    "first_response_s_median",
    "first_response_s_p90",
    "transfers_per_contact",
    "fcr_rate",
    "csat",
    "csat_satisfied_rate",
    "csat_responses",
    "nps",
    "nps_responses",
)


@dataclass(frozen=True)
class Day:
    """The records of a run and what they are measured against."""

    records: list[metrics.ContactRecord]
    agent_seconds: dict[str, float]
    window: tuple[datetime, datetime]
    threshold_s: float


def _at(start: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else start + timedelta(seconds=seconds)


def day(result: Result) -> Day:
    scenario = result.scenario
    start = scenario.start
    from_s = scenario.warm_up_h * 3600.0
    names = {agent.id: f"{agent.group}-{agent.id}" for agent in result.agents}
    teams = {agent.id: agent.group for agent in result.agents}
    records = []
    for contact in result.contacts:
        if contact.arrived_s < from_s:
            continue
        agent = contact.agent_id
        handled = contact.ended_s is not None
        records.append(
            metrics.ContactRecord(
                channel=contact.channel,
                queue=contact.queue,
                team=None if agent is None else teams[agent],
                agent=None if agent is None else names[agent],
                arrived_at=start + timedelta(seconds=contact.arrived_s),
                answered_at=_at(start, contact.answered_s),
                abandoned_at=_at(start, contact.abandoned_s),
                first_response_at=None,
                resolved_at=_at(start, contact.ended_s),
                handle_s=contact.handle_s + contact.wrap_up_s if handled else None,
                wrap_s=contact.wrap_up_s if handled else 0.0,
            )
        )
    end_s = max(result.end_s, from_s)
    agent_seconds = {
        names[agent.id]: sum(
            max(0.0, min(end, end_s) - max(begin, from_s)) for begin, end in agent.shifts
        )
        for agent in result.agents
    }
    window = (start + timedelta(seconds=from_s), start + timedelta(seconds=end_s))
    return Day(records, agent_seconds, window, scenario.service_level.threshold_s)


def _figures(day: Day, records: list[metrics.ContactRecord], *, agents: bool) -> dict[str, Any]:
    summary = metrics.summarise(
        records,
        threshold_s=day.threshold_s,
        agent_seconds=day.agent_seconds if agents else None,
        window=day.window,
    ).to_dict()
    for key in UNMODELLED:
        summary.pop(key)
    if not agents:
        summary.pop("occupancy")
        summary.pop("utilisation")
    return summary


def timeline(result: Result, day: Day) -> list[dict[str, Any]]:
    """Per interval of arrival: contacts offered, service level, abandonment, agents on shift."""
    start = result.scenario.start
    length = INTERVAL_S * math.ceil(result.scenario.end_s / INTERVAL_S / MAX_INTERVALS)
    buckets: dict[int, list[metrics.ContactRecord]] = {}
    for record in day.records:
        index = int((record.arrived_at - start).total_seconds() // length)
        buckets.setdefault(index, []).append(record)
    rows = []
    for index in range(math.ceil(result.scenario.end_s / length)):
        begin, end = index * length, (index + 1) * length
        on_shift = sum(
            max(0.0, min(e, end) - max(b, begin)) for a in result.agents for b, e in a.shifts
        )
        summary = metrics.summarise(buckets.get(index, []), threshold_s=day.threshold_s)
        rows.append(
            {
                "start": (start + timedelta(seconds=begin)).isoformat(),
                "offered": summary.offered,
                "service_level": summary.service_level,
                "abandonment_rate": summary.abandonment_rate,
                "asa_s": summary.asa_s,
                "agents": on_shift / length,
            }
        )
    return rows


def report(result: Result) -> dict[str, Any]:
    """The run's figures, overall and per queue and channel, and its timeline."""
    scenario = result.scenario
    measured = day(result)
    target = scenario.service_level
    overall = _figures(measured, measured.records, agents=True)
    return {
        "scenario": scenario.name,
        "seed": result.seed,
        "contacts": len(result.contacts),
        "measured_contacts": len(measured.records),
        "agents": len(result.agents),
        "events": result.events,
        "simulated_s": result.end_s,
        "target": {"service_level": target.target, "threshold_s": target.threshold_s},
        "meets_target": overall["service_level"] is not None
        and overall["service_level"] >= target.target,
        "overall": overall,
        "by_queue": {
            name: _figures(measured, records, agents=False)
            for name, records in metrics.group_by(measured.records, "queue").items()
        },
        "by_channel": {
            name: _figures(measured, records, agents=False)
            for name, records in metrics.group_by(measured.records, "channel").items()
        },
        "timeline": timeline(result, measured),
    }
