"""Report metrics over offered contacts. Pure: no I/O, no clock, no database.

The reports (built from the event log) and the simulator (built from a simulated day) both
describe each offered contact as a :class:`ContactRecord` and both print :func:`summarise`'s
:class:`Summary`, so a simulated day and a real one are measured by the same ruler.

A contact belongs to a report by its ``arrived_at``. Definitions (also in
``docs/workforce.md``, "Report metrics"):

* **offered** — contacts that arrived; **answered** — those an agent accepted
  (``answered_at`` set); **abandoned** — those the customer left before an answer
  (``abandoned_at`` set and ``answered_at`` not). A contact neither answered nor abandoned is
  still waiting (or was closed unanswered): offered, nothing else.
* **wait** — ``answered_at - arrived_at`` for an answered contact, ``abandoned_at -
  arrived_at`` for an abandoned one.
* **abandonment_rate** — abandoned / offered.
* **service_level** (classic) — answered with wait ≤ threshold / (answered + abandoned with
  wait > threshold): customers who gave up within the threshold count neither way.
* **service_level_abandon_inclusive** — answered with wait ≤ threshold / offered.
* **asa_s** — mean wait of answered contacts.
* **first_response_s** — ``first_response_at - arrived_at``; **resolution_s** —
  ``resolved_at - arrived_at``; both as median and 90th percentile (nearest rank: the
  ⌈0.9·n⌉-th smallest) over the contacts that have one.
* **handle_s** — mean ``handle_s`` (talk or chat time plus wrap-up) over contacts that have
  one; **wrap_s** — mean ``wrap_s`` over the same contacts.
* **transfers_per_contact** — transfers / answered.
* **fcr_rate** (first-contact resolution) — resolved contacts with no transfer and not
  reopened / resolved contacts.
* **csat** — mean score (1 to 5) and **csat_satisfied_rate**, the share of 4s and 5s, over the
  contacts that gave one.
* **nps** — % promoters (9 or 10) minus % detractors (0 to 6), from -100 to 100.
* **occupancy** — busy time / available time. An agent is busy from ``answered_at`` for
  ``handle_s``; overlapping contacts of one agent (concurrent chats) count once, so
  occupancy is the share of available time spent with at least one contact.
* **utilisation** — summed handle time / available time: the work done, in concurrent
  units; above 1 when an agent holds several chats at once. utilisation / occupancy is the
  mean concurrency while busy.
* **contacts_per_agent_day** — answered contacts with an agent / distinct (agent, day of
  ``answered_at``) pairs: contacts handled per agent per day worked.

A rate whose denominator is 0 is ``None`` (not 0: nothing was measured).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

from omnidesk.kit.errors import ValidationFailed

GroupKey = Literal["channel", "queue", "team", "agent", "hour", "day"]
GROUP_KEYS: tuple[GroupKey, ...] = ("channel", "queue", "team", "agent", "hour", "day")
NONE_KEY = "(none)"


@dataclass(frozen=True)
class ContactRecord:
    """One offered contact, from its arrival to its resolution."""

    channel: str
    queue: str | None
    team: str | None
    agent: str | None
    arrived_at: datetime
    answered_at: datetime | None
    abandoned_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    handle_s: float | None
    wrap_s: float = 0
    transfers: int = 0
    reopened: bool = False
    csat: int | None = None
    nps: int | None = None


@dataclass(frozen=True)
class Summary:
    """The report's figures for one set of contacts; see the module's definitions."""

    offered: int
    answered: int
    abandoned: int
    abandonment_rate: float | None
    service_level: float | None
    service_level_abandon_inclusive: float | None
    threshold_s: float
    asa_s: float | None
    first_response_s_median: float | None
    first_response_s_p90: float | None
    resolution_s_median: float | None
    resolution_s_p90: float | None
    handle_s: float | None
    wrap_s: float | None
    transfers_per_contact: float | None
    fcr_rate: float | None
    csat: float | None
    csat_satisfied_rate: float | None
    csat_responses: int
    nps: float | None
    nps_responses: int
    occupancy: float | None
    utilisation: float | None
    contacts_per_agent_day: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


FIELDS: tuple[str, ...] = tuple(Summary.__dataclass_fields__)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile: the ⌈share·n⌉-th smallest value (``None`` for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds()


def _present(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def _union_seconds(spans: list[tuple[datetime, datetime]]) -> float:
    """Length of the union of ``spans``: overlapping spans count once."""
    total = 0.0
    current: tuple[datetime, datetime] | None = None
    for start, end in sorted(spans):
        if current is None or start > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds()
            current = (start, end)
        elif end > current[1]:
            current = (current[0], end)
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total


def busy_seconds(
    records: Iterable[ContactRecord], window: tuple[datetime, datetime] | None = None
) -> float:
    """Each agent's time with at least one contact (from ``answered_at`` for ``handle_s``),
    summed over agents, clipped to ``window`` when given."""
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    for record in records:
        if record.agent is None or record.answered_at is None or not record.handle_s:
            continue
        start = record.answered_at
        end = start + timedelta(seconds=record.handle_s)
        if window is not None:
            start, end = max(start, window[0]), min(end, window[1])
            if end <= start:
                continue
        spans.setdefault(record.agent, []).append((start, end))
    return math.fsum(_union_seconds(agent_spans) for agent_spans in spans.values())


def summarise(
    records: Iterable[ContactRecord],
    *,
    threshold_s: float = 20,
    agent_seconds: Mapping[str, float] | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> Summary:
    """The report's figures for ``records``.

    ``agent_seconds`` is each agent's available (logged-in, not away) time in the period;
    occupancy and utilisation divide by its sum and are ``None`` without it. ``window``
    clips busy time to the period (a contact answered just before its end counts only the
    part inside it).
    """
    if not (math.isfinite(threshold_s) and threshold_s >= 0):
        raise ValidationFailed("threshold_s must be a number, 0 or more", field="threshold_s")
    rows = list(records)
    answered = [r for r in rows if r.answered_at is not None]
    abandoned = [r for r in rows if r.answered_at is None and r.abandoned_at is not None]
    waits = _present(_seconds(r.arrived_at, r.answered_at) for r in answered)
    abandon_waits = _present(_seconds(r.arrived_at, r.abandoned_at) for r in abandoned)
    within = sum(1 for w in waits if w <= threshold_s)
    late_abandons = sum(1 for w in abandon_waits if w > threshold_s)
    first_responses = _present(_seconds(r.arrived_at, r.first_response_at) for r in rows)
    resolutions = _present(_seconds(r.arrived_at, r.resolved_at) for r in rows)
    handled = [r for r in rows if r.handle_s is not None]
    resolved = [r for r in rows if r.resolved_at is not None]
    first_contact = sum(1 for r in resolved if r.transfers == 0 and not r.reopened)
    csat = [float(r.csat) for r in rows if r.csat is not None]
    nps = [r.nps for r in rows if r.nps is not None]
    nps_score = (
        100 * (sum(1 for s in nps if s >= 9) - sum(1 for s in nps if s <= 6)) / len(nps)
        if nps
        else None
    )
    available = math.fsum(agent_seconds.values()) if agent_seconds is not None else 0.0
    work = math.fsum(r.handle_s or 0.0 for r in answered if r.agent is not None)
    by_agent = [r for r in answered if r.agent is not None]
    agent_days = {(r.agent, r.answered_at.date()) for r in by_agent if r.answered_at}
    return Summary(
        offered=len(rows),
        answered=len(answered),
        abandoned=len(abandoned),
        abandonment_rate=_ratio(len(abandoned), len(rows)),
        service_level=_ratio(within, len(answered) + late_abandons),
        service_level_abandon_inclusive=_ratio(within, len(rows)),
        threshold_s=threshold_s,
        asa_s=_mean(waits),
        first_response_s_median=_median(first_responses),
        first_response_s_p90=percentile(first_responses, 0.9),
        resolution_s_median=_median(resolutions),
        resolution_s_p90=percentile(resolutions, 0.9),
        handle_s=_mean([r.handle_s for r in handled if r.handle_s is not None]),
        wrap_s=_mean([r.wrap_s for r in handled]),
        transfers_per_contact=_ratio(sum(r.transfers for r in answered), len(answered)),
        fcr_rate=_ratio(first_contact, len(resolved)),
        csat=_mean(csat),
        csat_satisfied_rate=_ratio(sum(1 for s in csat if s >= 4), len(csat)),
        csat_responses=len(csat),
        nps=nps_score,
        nps_responses=len(nps),
        occupancy=_ratio(busy_seconds(answered, window), available),
        utilisation=_ratio(work, available),
        contacts_per_agent_day=_ratio(len(by_agent), len(agent_days)),
    )


def _key_function(key: str, tz: tzinfo) -> Callable[[ContactRecord], str]:
    if key == "channel":
        return lambda r: r.channel
    if key in ("queue", "team", "agent"):
        return lambda r: getattr(r, key) or NONE_KEY
    if key == "hour":
        return lambda r: r.arrived_at.astimezone(tz).strftime("%H:00")
    if key == "day":
        return lambda r: r.arrived_at.astimezone(tz).date().isoformat()
    raise ValidationFailed(f"group_by must be one of {', '.join(GROUP_KEYS)}", field="group_by")


def group_by(
    records: Iterable[ContactRecord], key: str, *, tz: tzinfo = UTC
) -> dict[str, list[ContactRecord]]:
    """Records by ``key``: channel, queue, team, agent (a missing one is ``"(none)"``), hour
    of day of arrival (``"09:00"``) or day of arrival (``"2026-03-02"``), both in ``tz``.
    Groups come sorted by key."""
    keyed = _key_function(key, tz)
    groups: dict[str, list[ContactRecord]] = {}
    for record in records:
        groups.setdefault(keyed(record), []).append(record)
    return dict(sorted(groups.items()))
