"""Erlang B, C and A: how many agents a flow of calls needs. Pure: no I/O, no clock.

Definitions and a worked example are in ``docs/workforce.md``. Every formula avoids
factorials and powers: Erlang B comes from its recurrence
``B(0) = 1, B(n) = A·B(n-1) / (n + A·B(n-1))``, which is stable for any number of lines
(thousands of agents are fine) and takes fractional traffic ``A``; Erlang C is derived from
B; Erlang A (M/M/n+M, Palm's model with exponential patience) sums the queue's
birth-death weights around their peak, in log scale, and computes the wait distribution by
uniformisation — no series that overflows, no alternating sums.

Units: a *load* is ``calls`` arriving per ``interval_s`` seconds, each handled in ``aht_s``
seconds on average; its traffic in erlangs is ``calls x aht_s ÷ interval_s``. Bad input raises
:class:`~omnidesk.kit.errors.ValidationFailed` naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from omnidesk.kit.errors import ValidationFailed

# Comparisons against targets forgive rounding noise this small.
_TOLERANCE = 1e-12
# Relative mass of the queue-length distribution left out when it is truncated.
_TAIL = 1e-17
# Erlang A refuses a queue-length distribution wider than this (patience long enough to be
# Erlang C, on an overloaded system).
_MAX_STATES = 2_000_000
# Agents beyond this are not a staffing answer but a runaway search.
_MAX_AGENTS = 10_000_000


# --- validation --------------------------------------------------------------------------


def check_number(
    value: float,
    field: str,
    *,
    minimum: float | None = None,
    above: float | None = None,
    maximum: float | None = None,
    below: float | None = None,
    infinite: bool = False,
) -> float:
    """``value`` as a float, or a :class:`ValidationFailed` naming ``field``."""
    number = float(value)
    if math.isnan(number) or (math.isinf(number) and not (infinite and number > 0)):
        raise ValidationFailed(f"{field} must be a finite number", field=field)
    if minimum is not None and number < minimum:
        raise ValidationFailed(f"{field} must be at least {minimum:g}", field=field)
    if above is not None and number <= above:
        raise ValidationFailed(f"{field} must be greater than {above:g}", field=field)
    if maximum is not None and number > maximum:
        raise ValidationFailed(f"{field} must be at most {maximum:g}", field=field)
    if below is not None and number >= below:
        raise ValidationFailed(f"{field} must be less than {below:g}", field=field)
    return number


def check_count(value: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationFailed(f"{field} must be a whole number, 0 or more", field=field)
    if value > _MAX_AGENTS:
        raise ValidationFailed(f"{field} must be at most {_MAX_AGENTS}", field=field)
    return value


@dataclass(frozen=True)
class Load:
    """Calls offered in an interval and how long each takes to handle."""

    calls: float
    interval_s: float
    aht_s: float

    def __post_init__(self) -> None:
        check_number(self.calls, "calls", minimum=0)
        check_number(self.interval_s, "interval", above=0)
        check_number(self.aht_s, "aht", above=0)

    @property
    def erlangs(self) -> float:
        """Offered traffic: the agents that would be busy if every call were answered."""
        return self.calls * self.aht_s / self.interval_s

    @property
    def rate_per_s(self) -> float:
        return self.calls / self.interval_s


@dataclass(frozen=True)
class Target:
    """What a staffing must achieve: ``service_level`` of calls answered within
    ``threshold_s``, optionally a mean answer time of at most ``asa_s``, agents busy at most
    ``max_occupancy`` of the time."""

    service_level: float = 0.8
    threshold_s: float = 20.0
    asa_s: float | None = None
    max_occupancy: float = 1.0

    def __post_init__(self) -> None:
        # A service level of 1 can never be met with random arrivals: some caller always waits.
        check_number(self.service_level, "target", minimum=0, below=1)
        check_number(self.threshold_s, "threshold", minimum=0)
        if self.asa_s is not None:
            check_number(self.asa_s, "asa", above=0)
        check_number(self.max_occupancy, "max_occupancy", above=0, maximum=1)


# --- Erlang B and C ----------------------------------------------------------------------


def erlang_b(erlangs: float, lines: int) -> float:
    """Blocking probability of ``lines`` servers offered ``erlangs`` of traffic (M/M/n/n).

    Fractional traffic is fine; lines are whole. B(0 lines) is 1 — every call is blocked.
    """
    traffic = check_number(erlangs, "erlangs", minimum=0)
    check_count(lines, "lines")
    return _erlang_b(traffic, lines)


def erlang_b_lines(erlangs: float, blocking: float) -> int:
    """The fewest lines that block at most ``blocking`` of ``erlangs`` of traffic."""
    traffic = check_number(erlangs, "erlangs", minimum=0)
    share = check_number(blocking, "blocking", above=0, maximum=1)
    lines, b = 0, 1.0
    while b > share + _TOLERANCE:
        lines += 1
        b = traffic * b / (lines + traffic * b)
        if lines > _MAX_AGENTS:
            raise ValidationFailed(
                "the traffic needs more lines than can be computed", field="erlangs"
            )
    return lines


def _erlang_b(traffic: float, lines: int) -> float:
    blocking = 1.0
    for n in range(1, lines + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return blocking


def _c_from_b(traffic: float, agents: int, blocking: float) -> float:
    """Erlang C from Erlang B of the same traffic and agents; the system must be stable."""
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def erlang_c(erlangs: float, agents: int) -> float:
    """Probability that a call waits (M/M/n): 1 when ``erlangs ≥ agents`` (no steady state)."""
    traffic = check_number(erlangs, "erlangs", minimum=0)
    check_count(agents, "agents")
    if traffic == 0:
        return 0.0
    if traffic >= agents:
        return 1.0
    return _c_from_b(traffic, agents, _erlang_b(traffic, agents))


@dataclass(frozen=True)
class Metrics:
    """What ``agents`` achieve against a load.

    ``stable`` is false when the traffic is at least the agents (Erlang C: the queue grows
    without bound): then ``wait_probability`` is 1, ``service_level`` 0, ``asa_s`` is ``None``
    (infinite) and ``occupancy`` 1. Erlang A is always stable; its ``abandon_probability``
    and ``mean_wait_s`` (of every caller, abandoners included) are ``None`` for Erlang C.
    """

    agents: int
    erlangs: float
    stable: bool
    wait_probability: float
    service_level: float
    asa_s: float | None
    occupancy: float
    abandon_probability: float | None = None
    mean_wait_s: float | None = None


def _idle(agents: int, erlangs: float, *, abandon: bool) -> Metrics:
    zero = 0.0 if abandon else None
    return Metrics(agents, erlangs, True, 0.0, 1.0, 0.0, 0.0, zero, zero)


def _c_metrics(load: Load, agents: int, threshold_s: float, blocking: float) -> Metrics:
    traffic = load.erlangs
    if traffic == 0:
        return _idle(agents, traffic, abandon=False)
    if traffic >= agents:
        return Metrics(agents, traffic, False, 1.0, 0.0, None, 1.0)
    wait = _c_from_b(traffic, agents, blocking)
    spare = agents - traffic
    service_level = 1.0 - wait * math.exp(-spare * threshold_s / load.aht_s)
    asa = wait * load.aht_s / spare
    return Metrics(agents, traffic, True, wait, service_level, asa, traffic / agents)


def erlang_c_metrics(load: Load, agents: int, threshold_s: float) -> Metrics:
    """Erlang C (M/M/n, callers never give up) for ``agents`` answering ``load``.

    Service level: P(wait ≤ threshold) = 1 - C·e^(-(n - A)·threshold ÷ AHT).
    ASA: mean wait of every call (all are answered) = C·AHT ÷ (n - A).
    """
    check_count(agents, "agents")
    check_number(threshold_s, "threshold", minimum=0)
    return _c_metrics(load, agents, threshold_s, _erlang_b(load.erlangs, agents))


def meets(metrics: Metrics, target: Target) -> bool:
    """Whether ``metrics`` meet every part of ``target``."""
    return (
        metrics.stable
        and metrics.service_level >= target.service_level - _TOLERANCE
        and metrics.occupancy <= target.max_occupancy + _TOLERANCE
        and (
            target.asa_s is None
            or (metrics.asa_s is not None and metrics.asa_s <= target.asa_s + _TOLERANCE)
        )
    )


def erlang_c_agents(load: Load, target: Target) -> Metrics:
    """The fewest agents meeting ``target`` under Erlang C, with what they achieve."""
    traffic = load.erlangs
    if traffic == 0:
        return _idle(0, 0.0, abandon=False)
    # Start at the fewest agents that are both stable and within the occupancy cap.
    agents = max(math.floor(traffic) + 1, math.ceil(traffic / target.max_occupancy - 1e-9))
    blocking = _erlang_b(traffic, agents)
    while agents <= _MAX_AGENTS:
        metrics = _c_metrics(load, agents, target.threshold_s, blocking)
        if meets(metrics, target):
            return metrics
        agents += 1
        blocking = traffic * blocking / (agents + traffic * blocking)
    raise ValidationFailed("the load needs more agents than can be computed", field="calls")


def scheduled_agents(agents: int, shrinkage: float) -> int:
    """Agents to schedule so that ``agents`` are on the phones once ``shrinkage`` (breaks,
    training, absence: a share of paid time) is taken out: ⌈agents ÷ (1 - shrinkage)⌉."""
    check_count(agents, "agents")
    share = check_number(shrinkage, "shrinkage", minimum=0, below=1)
    # 14 ÷ 0.7 is 20.000000000000004 in floating point: it means 20.
    return math.ceil(agents / (1.0 - share) - 1e-9)


# --- Erlang A ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Queue:
    """The queue an arrival finds when every agent is busy: ``weights[i]`` is proportional
    to the probability that ``lo + i`` callers are already waiting (0 = no queue yet)."""

    lo: int
    weights: list[float]
    log_total: float  # log Σ w_j with w_0 = 1, w_j = Π_{i≤j} y ÷ (a + i)


def _tail_done(term: float, ratio: float, total: float) -> bool:
    # Terms shrink by at most `ratio` from here on: the rest is below term·ratio ÷ (1 - ratio).
    return ratio < 1.0 and term * ratio / (1.0 - ratio) <= _TAIL * total


def _queue(a: float, y: float) -> _Queue:
    """Weights w_j = Π_{i=1..j} y ÷ (a + i) (j ≥ 0), kept where they matter.

    ``a`` is n·μ ÷ θ and ``y`` is λ ÷ θ. The weights rise while a + j < y and then fall,
    so they are summed from their peak outwards until what is left is negligible.
    """
    peak = max(0, math.floor(y - a))
    if peak > _MAX_STATES:
        raise ValidationFailed(
            "patience is too long for Erlang A at this load: use Erlang C", field="patience"
        )
    if peak <= 100_000:
        log_peak = math.fsum(math.log(y / (a + i)) for i in range(1, peak + 1))
    else:
        log_peak = peak * math.log(y) - (math.lgamma(a + peak + 1) - math.lgamma(a + 1))
    below: list[float] = []
    total = 1.0
    term, j = 1.0, peak
    while j > 0:
        ratio = (a + j) / y
        term *= ratio
        j -= 1
        below.append(term)
        total += term
        if _tail_done(term, (a + j) / y, total) or len(below) > _MAX_STATES:
            break
    above: list[float] = []
    term, j = 1.0, peak
    while True:
        ratio = y / (a + j + 1)
        if _tail_done(term, ratio, total):
            break
        term *= ratio
        j += 1
        above.append(term)
        total += term
        if len(above) > _MAX_STATES:
            raise ValidationFailed(
                "patience is too long for Erlang A at this load: use Erlang C",
                field="patience",
            )
    weights = [*reversed(below), 1.0, *above]
    return _Queue(peak - len(below), weights, log_peak + math.log(math.fsum(weights)))


def _served_within(
    probabilities: Sequence[float], lo: int, rate: float, theta: float, threshold_s: float
) -> float:
    """P(answered within ``threshold_s``) of a caller who found ``lo + i`` waiting with
    probability ``probabilities[i]`` and all ``rate ÷ μ`` agents busy.

    With m callers ahead, the caller moves up at rate n·μ + m·θ (an answer or an abandon
    ahead) — from m = 0 that is being answered — and gives up at rate θ. That chain is
    uniformised at rate Λ ≥ every exit rate: after k events, the answered mass is a
    non-decreasing sum, weighted by the Poisson(Λ·t) probability of k events.
    """
    if threshold_s == 0 or rate == 0:
        return 0.0
    hi = lo + len(probabilities) - 1
    uniform = rate + (hi + 1) * theta
    mean = uniform * threshold_s
    spread = 12.0 * math.sqrt(mean) + 40.0
    first, last = max(0, math.floor(mean - spread)), math.ceil(mean + spread)
    down = [(rate + m * theta) / uniform for m in range(hi + 1)]
    stay = [1.0 - (rate + (m + 1) * theta) / uniform for m in range(hi + 1)]
    log_mean = math.log(mean)
    queue = list(probabilities)
    offset = lo
    answered = 0.0
    within = 0.0
    for k in range(last + 1):
        if k >= first:
            within += math.exp(-mean + k * log_mean - math.lgamma(k + 1)) * answered
        top = offset + len(queue)
        moved = [
            q * s + q_next * d
            for q, s, q_next, d in zip(
                queue, stay[offset:top], queue[1:], down[offset + 1 : top], strict=False
            )
        ]
        moved.append(queue[-1] * stay[top - 1])
        if offset > 0:
            moved.insert(0, queue[0] * down[offset])
            offset -= 1
        else:
            answered += queue[0] * down[0]
        queue = moved
    return min(within, 1.0)


def erlang_a_metrics(load: Load, agents: int, patience_s: float, threshold_s: float) -> Metrics:
    """Erlang A (M/M/n+M): callers give up after an exponential patience of mean
    ``patience_s`` (infinite patience is Erlang C).

    ``wait_probability``: an arrival finds every agent busy. ``abandon_probability``: a
    caller hangs up before being answered. ``service_level``: a caller is answered within
    the threshold — abandoners are failures, whenever they hang up. ``asa_s``: mean wait of
    the answered calls (``None`` if none is). ``mean_wait_s``: mean time every caller spends
    waiting, abandoners included. ``occupancy``: answered traffic ÷ agents.
    """
    check_count(agents, "agents")
    patience = check_number(patience_s, "patience", above=0, infinite=True)
    threshold = check_number(threshold_s, "threshold", minimum=0)
    if math.isinf(patience):
        c = erlang_c_metrics(load, agents, threshold)
        return replace(c, abandon_probability=0.0, mean_wait_s=c.asa_s)
    traffic = load.erlangs
    if traffic == 0:
        return _idle(agents, traffic, abandon=True)
    theta = 1.0 / patience
    rate = agents / load.aht_s  # n·μ
    a, y = rate / theta, load.rate_per_s / theta
    blocking = _erlang_b(traffic, agents)
    queue = _queue(a, y)
    # P(wait) = W·B ÷ (1 + (W - 1)·B) with W = Σ w_j, written to neither overflow nor divide by 0.
    if blocking == 0.0:
        wait = 0.0
    else:
        x = (
            math.log1p(-blocking) - math.log(blocking) - queue.log_total
            if blocking < 1
            else -math.inf
        )
        wait = 1.0 / (1.0 + math.exp(x)) if x <= 0 else math.exp(-x) / (1.0 + math.exp(-x))
    total = math.fsum(queue.weights)
    probabilities = [w / total for w in queue.weights]
    # A caller who finds j waiting is answered with probability a ÷ (a + j + 1); their mean
    # wait when answered is (1/θ)·Σ_{k=0..j} 1 ÷ (a + 1 + k).
    lo = queue.lo
    harmonic = math.fsum(1.0 / (a + 1 + k) for k in range(lo))
    abandon_if_wait: list[float] = []
    answered_wait: list[float] = []
    for i, p in enumerate(probabilities):
        j = lo + i
        harmonic += 1.0 / (a + 1 + j)
        abandon_if_wait.append(p * (j + 1) / (a + j + 1))
        answered_wait.append(p * a / (a + j + 1) * harmonic * patience)
    abandon = wait * math.fsum(abandon_if_wait)
    answered = 1.0 - abandon
    within = _served_within(probabilities, lo, rate, theta, threshold)
    service_level = (1.0 - wait) + wait * within
    asa = wait * math.fsum(answered_wait) / answered if answered > 0 else None
    occupancy = traffic * answered / agents if agents else 0.0
    return Metrics(
        agents=agents,
        erlangs=traffic,
        stable=True,
        wait_probability=wait,
        service_level=min(service_level, 1.0),
        asa_s=asa,
        occupancy=occupancy,
        abandon_probability=abandon,
        mean_wait_s=abandon * patience,
    )


def erlang_a_agents(load: Load, target: Target, patience_s: float) -> Metrics:
    """The fewest agents meeting ``target`` under Erlang A, with what they achieve.

    More agents never lower the service level, so the answer is found by doubling and
    bisection, starting from the Erlang C staffing (usually at or just above it).
    """
    patience = check_number(patience_s, "patience", above=0, infinite=True)
    if math.isinf(patience):
        return erlang_a_metrics(load, erlang_c_agents(load, target).agents, patience, 0.0)
    if load.erlangs == 0:
        return _idle(0, 0.0, abandon=True)

    def at(agents: int) -> Metrics:
        return erlang_a_metrics(load, agents, patience, target.threshold_s)

    return _fewest(at, lambda m: meets(m, target), erlang_c_agents(load, target).agents)


def _fewest(at: Callable[[int], Metrics], good: Callable[[Metrics], bool], guess: int) -> Metrics:
    high, best = guess, at(guess)
    while not good(best):
        if high >= _MAX_AGENTS:
            raise ValidationFailed("the load needs more agents than can be computed", field="calls")
        high = min(2 * high, _MAX_AGENTS)
        best = at(high)
    low = -1  # every count up to `low` fails
    while high - low > 1:
        middle = (low + high) // 2
        metrics = at(middle)
        if good(metrics):
            high, best = middle, metrics
        else:
            low = middle
    return best
