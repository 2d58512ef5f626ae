"""Erlang B, C and A against independent exact computations, published values and limits."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnidesk.analytics.erlang import (
    Load,
    Target,
    erlang_a_agents,
    erlang_a_metrics,
    erlang_b,
    erlang_b_lines,
    erlang_c,
    erlang_c_agents,
    erlang_c_metrics,
    scheduled_agents,
)
from omnidesk.kit.errors import ValidationFailed

# --- oracles: the textbook formulas with factorials, in exact arithmetic --------------------


def exact_b(traffic: Fraction, lines: int) -> Fraction:
    terms = [traffic**k / math.factorial(k) for k in range(lines + 1)]
    return terms[-1] / sum(terms)


def exact_c(traffic: Fraction, agents: int) -> Fraction:
    head = sum(traffic**k / math.factorial(k) for k in range(agents))
    top = traffic**agents / math.factorial(agents) * agents / (agents - traffic)
    return top / (head + top)


def log_space_b(traffic: float, lines: int) -> float:
    """Erlang B from log-terms (log-sum-exp): another road for thousands of lines."""
    logs = [k * math.log(traffic) - math.lgamma(k + 1) for k in range(lines + 1)]
    peak = max(logs)
    return math.exp(logs[-1] - peak) / math.fsum(math.exp(x - peak) for x in logs)


# --- the worked example ----------------------------------------------------------

KNOWN = Load(calls=100, interval_s=1800, aht_s=180)


def test_known_case_staffing() -> None:
    result = erlang_c_agents(KNOWN, Target(0.8, 20, max_occupancy=0.85))
    assert result.agents == 14
    assert result.erlangs == 10
    assert round(result.wait_probability, 4) == 0.1741
    assert round(result.service_level, 4) == 0.8884
    assert result.asa_s is not None
    assert round(result.asa_s, 2) == 7.84
    assert round(result.occupancy, 4) == 0.7143
    assert scheduled_agents(result.agents, 0.3) == 20


def test_thirteen_agents_miss_the_known_target() -> None:
    metrics = erlang_c_metrics(KNOWN, 13, 20)
    assert metrics.service_level < 0.8
    assert erlang_c_metrics(KNOWN, 14, 20).service_level >= 0.8


# --- Erlang B ----------------------------------------------------------------------------

# Values of standard Erlang B tables (traffic, lines, blocking to 4 decimals).
PUBLISHED_B = [
    (10, 17, 0.0129),
    (5, 10, 0.0184),
    (10, 10, 0.2146),
    (1, 1, 0.5),
    (2, 2, 0.4),
    (20, 30, 0.0085),
]


@pytest.mark.parametrize(("traffic", "lines", "blocking"), PUBLISHED_B)
def test_erlang_b_matches_published_tables(traffic: float, lines: int, blocking: float) -> None:
    assert round(erlang_b(traffic, lines), 4) == blocking
    assert erlang_b(traffic, lines) == pytest.approx(float(exact_b(Fraction(traffic), lines)))


# Grade-of-service tables: the traffic (to 2 decimals) N lines carry at 1 % blocking.
@pytest.mark.parametrize(
    ("lines", "traffic"), [(5, 1.36), (10, 4.46), (20, 12.03), (50, 37.90), (100, 84.06)]
)
def test_erlang_b_one_percent_table(lines: int, traffic: float) -> None:
    assert round(erlang_b(traffic, lines), 3) == 0.010
    assert erlang_b_lines(traffic, 0.01) == lines
    assert erlang_b(traffic + 0.01, lines) > 0.01  # the table's entry is the largest


@given(
    traffic=st.fractions(min_value=0, max_value=60, max_denominator=8),
    lines=st.integers(min_value=0, max_value=60),
)
@settings(max_examples=60, deadline=None)
def test_erlang_b_fractional_traffic_matches_exact(traffic: Fraction, lines: int) -> None:
    assert erlang_b(float(traffic), lines) == pytest.approx(
        float(exact_b(traffic, lines)), rel=1e-12, abs=1e-300
    )


@given(
    traffic=st.floats(min_value=0.01, max_value=500), lines=st.integers(min_value=0, max_value=600)
)
@settings(max_examples=60, deadline=None)
def test_blocking_falls_as_lines_are_added(traffic: float, lines: int) -> None:
    fewer, more = erlang_b(traffic, lines), erlang_b(traffic, lines + 1)
    assert more < fewer or more == fewer == 0.0  # (below 1e-308 both are 0)


def test_erlang_b_edge_cases() -> None:
    assert erlang_b(0, 0) == 1.0  # no line: whatever comes is blocked
    assert erlang_b(0, 5) == 0.0
    assert erlang_b(3.7, 0) == 1.0


def test_erlang_b_thousands_of_lines() -> None:
    blocking = erlang_b(2450.5, 2500)
    assert 0 < blocking < 1
    assert blocking == pytest.approx(log_space_b(2450.5, 2500), rel=1e-9)
    assert erlang_b_lines(2450.5, blocking) == 2500


# --- Erlang C ----------------------------------------------------------------------------


@given(
    traffic=st.fractions(min_value=0, max_value=40, max_denominator=4),
    spare=st.integers(min_value=1, max_value=15),
)
@settings(max_examples=60, deadline=None)
def test_erlang_c_matches_the_factorial_formula(traffic: Fraction, spare: int) -> None:
    agents = math.floor(traffic) + spare
    assert erlang_c(float(traffic), agents) == pytest.approx(
        float(exact_c(traffic, agents)) if traffic else 0.0, rel=1e-11, abs=1e-300
    )


def test_erlang_c_metrics_follow_their_definitions() -> None:
    load = Load(calls=330, interval_s=1800, aht_s=240)  # 44 erlangs
    wait = float(exact_c(Fraction(44), 50))
    metrics = erlang_c_metrics(load, 50, threshold_s=30)
    assert metrics.wait_probability == pytest.approx(wait, rel=1e-12)
    assert metrics.service_level == pytest.approx(1 - wait * math.exp(-6 * 30 / 240))
    assert metrics.asa_s == pytest.approx(wait * 240 / 6)
    assert metrics.occupancy == pytest.approx(44 / 50)


@given(
    traffic=st.floats(min_value=0.1, max_value=300),
    extra=st.integers(min_value=1, max_value=40),
    threshold=st.floats(min_value=0, max_value=120),
)
@settings(max_examples=60, deadline=None)
def test_service_level_rises_with_agents(traffic: float, extra: int, threshold: float) -> None:
    load = Load(calls=traffic, interval_s=3600, aht_s=3600)  # `traffic` erlangs
    agents = math.floor(traffic) + extra
    fewer = erlang_c_metrics(load, agents, threshold)
    more = erlang_c_metrics(load, agents + 1, threshold)
    assert more.service_level >= fewer.service_level
    assert more.wait_probability <= fewer.wait_probability
    assert more.asa_s is not None
    assert fewer.asa_s is not None
    assert more.asa_s <= fewer.asa_s


def test_load_at_or_above_the_agents_is_unstable_not_an_error() -> None:
    for agents in (0, 5, 10):
        metrics = erlang_c_metrics(KNOWN, agents, 20)  # 10 erlangs
        assert metrics.stable is False
        assert metrics.asa_s is None
        assert metrics.wait_probability == 1.0
        assert metrics.service_level == 0.0
        assert metrics.occupancy == 1.0
    assert erlang_c(10, 10) == 1.0
    assert erlang_c_metrics(KNOWN, 11, 20).stable is True


def test_zero_calls_need_no_agent() -> None:
    load = Load(calls=0, interval_s=1800, aht_s=180)
    staffed = erlang_c_agents(load, Target(0.8, 20))
    assert (staffed.agents, staffed.service_level, staffed.asa_s, staffed.occupancy) == (0, 1, 0, 0)
    assert staffed.wait_probability == 0.0
    assert scheduled_agents(0, 0.3) == 0
    assert erlang_c_metrics(load, 3, 20).service_level == 1.0


def test_fractional_erlangs() -> None:
    load = Load(calls=37, interval_s=900, aht_s=200)  # 8.2222… erlangs
    staffed = erlang_c_agents(load, Target(0.9, 15))
    below = erlang_c_metrics(load, staffed.agents - 1, 15)
    assert staffed.service_level >= 0.9 > below.service_level
    exact = exact_c(Fraction(37 * 200, 900), staffed.agents)
    assert staffed.wait_probability == pytest.approx(float(exact), rel=1e-12)


def test_targets_on_occupancy_and_answer_time() -> None:
    by_service_level = erlang_c_agents(KNOWN, Target(0.8, 20)).agents
    capped = erlang_c_agents(KNOWN, Target(0.8, 20, max_occupancy=0.6))
    assert by_service_level == 14
    assert capped.agents == 17  # 10 ÷ 0.6 = 16.7
    assert capped.occupancy <= 0.6
    quick = erlang_c_agents(KNOWN, Target(0.8, 20, asa_s=2))
    assert quick.asa_s is not None
    assert quick.asa_s <= 2
    assert erlang_c_metrics(KNOWN, quick.agents - 1, 20).asa_s > 2  # type: ignore[operator]


def test_thousands_of_agents() -> None:
    load = Load(calls=2400 * 1800 / 180, interval_s=1800, aht_s=180)  # 2,400 erlangs
    staffed = erlang_c_agents(load, Target(0.8, 20))
    assert 2400 < staffed.agents < 2500
    assert 0.8 <= staffed.service_level < 1
    previous = erlang_c_metrics(load, staffed.agents - 1, 20)
    assert previous.service_level < 0.8
    metrics = erlang_c_metrics(load, 2500, 20)
    spare = 2500 - 2400
    blocking = log_space_b(2400, 2500)
    wait = 2500 * blocking / (spare + 2400 * blocking)
    assert metrics.wait_probability == pytest.approx(wait, rel=1e-9)
    assert math.isfinite(metrics.service_level)
    assert 0 < metrics.wait_probability < 1


@pytest.mark.parametrize(
    ("agents", "shrinkage", "scheduled"), [(14, 0.3, 20), (14, 0, 14), (10, 0.35, 16), (1, 0.5, 2)]
)
def test_scheduled_agents(agents: int, shrinkage: float, scheduled: int) -> None:
    assert scheduled_agents(agents, shrinkage) == scheduled


# --- Erlang A ----------------------------------------------------------------------------


def _hypoexponential(rates: list[Fraction], theta: Fraction, threshold: int) -> tuple[Decimal, ...]:
    """For a wait that is a sum of exponentials of distinct ``rates``, and an exponential
    patience of rate ``theta``: P(answered within threshold) and E[wait; answered], from the
    partial-fraction density (exact coefficients, 60 digits)."""
    with localcontext() as ctx:
        ctx.prec = 60
        within = Decimal(0)
        mean = Fraction(0)
        for k, r in enumerate(rates):
            coefficient = Fraction(1)
            for i, other in enumerate(rates):
                if i != k:
                    coefficient *= other / (other - r)
            share = coefficient * r / (r + theta)
            decay = (-(r + theta) * threshold).limit_denominator(10**30)
            exp = (Decimal(decay.numerator) / Decimal(decay.denominator)).exp()
            within += Decimal(share.numerator) / Decimal(share.denominator) * (1 - exp)
            mean += coefficient * r / (r + theta) ** 2
        return within, Decimal(mean.numerator) / Decimal(mean.denominator)


def _decimal(value: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return Decimal(value.numerator) / Decimal(value.denominator)


def erlang_a_oracle(
    calls: int, interval: int, aht: int, patience: int, agents: int, threshold: int
) -> dict[str, float]:
    """M/M/n+M by brute force in exact arithmetic: the birth-death chain truncated far out,
    each queue position's wait as its own sum of exponentials."""
    lam, mu, theta = Fraction(calls, interval), Fraction(1, aht), Fraction(1, patience)
    pi = [Fraction(1)]
    for k in range(1, agents + 60):
        pi.append(pi[-1] * lam / (min(k, agents) * mu + max(k - agents, 0) * theta))
    total = sum(pi)
    wait = sum(pi[agents:]) / total
    queue = sum(max(k - agents, 0) * p for k, p in enumerate(pi)) / total
    abandon = theta * queue / lam
    service_level = _decimal(sum(pi[:agents]) / total)
    answered_wait = Decimal(0)
    for j, p in enumerate(pi[agents:]):
        if j > 55:  # further states weigh < 1e-20
            break
        rates = [agents * mu + m * theta for m in range(j + 1)]
        within, mean = _hypoexponential(rates, theta, threshold)
        share = _decimal(p / total)
        service_level += share * within
        answered_wait += share * mean
    return {
        "wait": float(wait),
        "abandon": float(abandon),
        "service_level": float(service_level),
        "asa": float(answered_wait) / (1 - float(abandon)),
    }


@pytest.mark.parametrize(
    ("calls", "interval", "aht", "patience", "agents", "threshold"),
    [
        (100, 1800, 180, 300, 14, 20),
        (100, 1800, 180, 300, 10, 20),  # load = agents: Erlang A is still stable
        (90, 1800, 240, 60, 9, 30),  # 12 erlangs on 9 agents, impatient callers
        (20, 3600, 300, 600, 3, 60),
        (50, 1800, 180, 120, 1, 10),
    ],
)
def test_erlang_a_matches_brute_force(
    calls: int, interval: int, aht: int, patience: int, agents: int, threshold: int
) -> None:
    oracle = erlang_a_oracle(calls, interval, aht, patience, agents, threshold)
    metrics = erlang_a_metrics(Load(calls, interval, aht), agents, patience, threshold)
    assert metrics.wait_probability == pytest.approx(oracle["wait"], abs=1e-10)
    assert metrics.abandon_probability == pytest.approx(oracle["abandon"], abs=1e-10)
    assert metrics.service_level == pytest.approx(oracle["service_level"], abs=1e-9)
    assert metrics.asa_s == pytest.approx(oracle["asa"], rel=1e-9)
    assert metrics.mean_wait_s == pytest.approx(oracle["abandon"] * patience, rel=1e-9)
    assert metrics.stable is True


def test_erlang_a_agrees_with_the_closed_form_of_garnett_mandelbaum_reiman() -> None:
    # P(abandon) = [1/(rho·A(a, y)) + 1 - 1/rho]·P(wait), A(a, y) = Σ_j y^j / Π_{i≤j} (a + i).
    calls, interval, aht, patience, agents = 100, 1800, 180, 300, 12
    lam, mu, theta = calls / interval, 1 / aht, 1 / patience
    a, y, rho = agents * mu / theta, lam / theta, lam / (agents * mu)
    series, term = 1.0, 1.0
    for i in range(1, 400):
        term *= y / (a + i)
        series += term
    blocking = float(exact_b(Fraction(10), agents))
    wait = series * blocking / (1 + (series - 1) * blocking)
    metrics = erlang_a_metrics(Load(calls, interval, aht), agents, patience, 20)
    assert metrics.wait_probability == pytest.approx(wait, rel=1e-12)
    assert metrics.abandon_probability == pytest.approx(
        (1 / (rho * series) + 1 - 1 / rho) * wait, rel=1e-10
    )


@given(
    agents=st.integers(min_value=1, max_value=80),
    utilisation=st.floats(min_value=0.05, max_value=0.98),
    threshold=st.sampled_from([0, 10, 20, 60]),
)
@settings(max_examples=30, deadline=None)
def test_erlang_a_tends_to_erlang_c_as_patience_grows(
    agents: int, utilisation: float, threshold: int
) -> None:
    # Patience far beyond every wait. (Near a utilisation of 1, Erlang C's waits grow without
    # bound, and so does the patience at which Erlang A comes close.)
    load = Load(calls=agents * utilisation * 10, interval_s=1800, aht_s=180)
    c = erlang_c_metrics(load, agents, threshold)
    a = erlang_a_metrics(load, agents, 1e12, threshold)
    assert a.wait_probability == pytest.approx(c.wait_probability, abs=1e-4)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-4)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-3, abs=1e-4)
    assert a.occupancy == pytest.approx(c.occupancy, abs=1e-4)
    assert a.abandon_probability is not None
    assert a.abandon_probability < 1e-4


def test_erlang_a_gets_closer_to_c_the_more_patient_callers_are() -> None:
    c = erlang_c_metrics(KNOWN, 14, 20)
    gaps = [
        abs(erlang_a_metrics(KNOWN, 14, patience, 20).wait_probability - c.wait_probability)
        for patience in (300, 3000, 30_000, 300_000)
    ]
    assert gaps == sorted(gaps, reverse=True)
    infinite = erlang_a_metrics(KNOWN, 14, math.inf, 20)
    assert infinite.wait_probability == c.wait_probability
    assert infinite.abandon_probability == 0.0


@given(
    traffic=st.floats(min_value=0.5, max_value=40),
    agents=st.integers(min_value=0, max_value=50),
    patience=st.sampled_from([30, 120, 600]),
)
@settings(max_examples=30, deadline=None)
def test_erlang_a_more_agents_serve_better(traffic: float, agents: int, patience: int) -> None:
    load = Load(calls=traffic * 10, interval_s=1800, aht_s=180)
    fewer = erlang_a_metrics(load, agents, patience, 20)
    more = erlang_a_metrics(load, agents + 1, patience, 20)
    assert more.service_level >= fewer.service_level - 1e-12
    assert more.abandon_probability is not None
    assert fewer.abandon_probability is not None
    assert more.abandon_probability <= fewer.abandon_probability + 1e-12
    assert 0 <= more.service_level <= 1 - more.abandon_probability + 1e-12


def test_erlang_a_overload_and_no_agent() -> None:
    overloaded = erlang_a_metrics(KNOWN, 5, 300, 20)  # 10 erlangs on 5 agents
    assert overloaded.stable is True
    assert overloaded.abandon_probability is not None
    assert overloaded.abandon_probability > 0.4
    assert overloaded.occupancy < 1
    nobody = erlang_a_metrics(KNOWN, 0, 300, 20)
    assert (nobody.wait_probability, nobody.abandon_probability, nobody.service_level) == (1, 1, 0)
    assert nobody.asa_s is None
    idle = erlang_a_metrics(Load(0, 1800, 180), 3, 300, 20)
    assert (idle.service_level, idle.abandon_probability, idle.asa_s) == (1, 0, 0)


def test_erlang_a_staffing() -> None:
    staffed = erlang_a_agents(KNOWN, Target(0.8, 20), 300)
    assert staffed.service_level >= 0.8
    assert erlang_a_metrics(KNOWN, staffed.agents - 1, 300, 20).service_level < 0.8
    assert staffed.agents <= 14  # callers who give up shorten everyone else's wait


def test_erlang_a_thousands_of_agents() -> None:
    load = Load(calls=2400 * 10, interval_s=1800, aht_s=180)  # 2,400 erlangs
    metrics = erlang_a_metrics(load, 2500, 300, 20)
    c = erlang_c_metrics(load, 2500, 20)
    assert 0 < metrics.wait_probability <= c.wait_probability
    abandon = metrics.abandon_probability or 0
    assert 0 < abandon < 1e-3
    # Callers who give up only shorten the others' waits; they are failures themselves.
    assert c.service_level - abandon <= metrics.service_level < c.service_level
    overloaded = erlang_a_metrics(load, 2300, 300, 20)
    assert 0.03 < (overloaded.abandon_probability or 0) < 0.1
    assert 0 <= overloaded.service_level <= 1


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Load(-1, 1800, 180), "calls"),
        (lambda: Load(math.nan, 1800, 180), "calls"),
        (lambda: Load(10, 0, 180), "interval"),
        (lambda: Load(10, 1800, -3), "aht"),
        (lambda: Target(1.2, 20), "target"),
        (lambda: Target(1.0, 20), "target"),
        (lambda: Target(0.8, -1), "threshold"),
        (lambda: Target(0.8, 20, asa_s=0), "asa"),
        (lambda: Target(0.8, 20, max_occupancy=1.5), "max_occupancy"),
        (lambda: scheduled_agents(10, 1), "shrinkage"),
        (lambda: scheduled_agents(10, -0.1), "shrinkage"),
        (lambda: erlang_b(-2, 3), "erlangs"),
        (lambda: erlang_b(2, -3), "lines"),
        (lambda: erlang_b_lines(2, 0), "blocking"),
        (lambda: erlang_c_metrics(KNOWN, -1, 20), "agents"),
        (lambda: erlang_a_metrics(KNOWN, 10, 0, 20), "patience"),
        (lambda: erlang_a_metrics(KNOWN, 10, -5, 20), "patience"),
    ],
)
def test_bad_input_names_the_field(make: object, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        make()  # type: ignore[operator]
    assert caught.value.field == field
    assert field.split("_")[0] in caught.value.message
