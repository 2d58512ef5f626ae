"""``omnidesk bench rules``: every active rule's condition evaluated against each event.

A seeded generator writes ``rules`` realistic conditions (2-6 leaves in nested all/any/not
groups over every field type: priorities, tags, body contains and regexes, languages, hours,
custom fields…), compiles them once, then builds ``events`` seeded events; for each event
the facts are built (what a caller does once per event) and every rule is evaluated, with
``time.perf_counter_ns`` around the whole event. Pure CPU, no I/O.
"""

from __future__ import annotations

import gc
import math
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from omnidesk.automation.conditions import (
    WEEKDAYS,
    ConditionIndex,
    ContactFacts,
    ConversationFacts,
    Facts,
    MessageFacts,
    compile,
    evaluate,
)
from omnidesk.bench.harness import machine_info
from omnidesk.conversations.vocabulary import PRIORITIES, STATUSES

TAGS = ("billing", "vip", "refund", "bug", "sales", "churn", "shipping", "legal", "spam", "b2b")
WORDS = (
    "refund", "invoice", "broken", "cancel", "password", "delivery", "urgent", "thanks",
    "order", "account", "upgrade", "price", "late", "help", "error", "login",
)  # fmt: skip
PATTERNS = (
    r"order\s*#?\d{4,}",
    r"(?i)\b(cancel|terminate)\b",
    r"\b[A-Z]{3}-\d+\b",
    r"https?://\S+",
    r"^re:",
    r"(?i)money back|chargeback",
)
CHANNELS = ("email", "api", "webchat", "sms", "whatsapp")
LANGUAGES = ("en", "fr", "de", "es", "pt-BR", "fr-CA")
PLANS = ("free", "pro", "gold", "enterprise")


def _leaf(rng: random.Random) -> dict[str, Any]:
    kind = rng.randrange(14)
    if kind == 0:
        return {"field": "conversation.priority", "op": "in", "value": rng.sample(PRIORITIES, 2)}
    if kind == 1:
        return {"field": "conversation.status", "op": "eq", "value": rng.choice(STATUSES)}
    if kind == 2:
        return {"field": "conversation.tags", "op": "has_any", "value": rng.sample(TAGS, 2)}
    if kind == 3:
        return {"field": "message.body", "op": "contains", "value": rng.choice(WORDS)}
    if kind == 4:
        return {"field": "message.body", "op": "matches", "value": rng.choice(PATTERNS)}
    if kind == 5:
        return {"field": "conversation.subject", "op": "starts_with", "value": rng.choice(WORDS)}
    if kind == 6:
        return {"field": "message.language", "op": "in", "value": rng.sample(LANGUAGES, 2)}
    if kind == 7:
        return {"field": "time.hour", "op": rng.choice(("gte", "lt")), "value": rng.randrange(24)}
    if kind == 8:
        return {"field": "time.weekday", "op": "in", "value": rng.sample(WEEKDAYS, 5)}
    if kind == 9:
        return {"field": "conversation.custom.plan", "op": "eq", "value": rng.choice(PLANS)}
    if kind == 10:
        return {"field": "contact.attribute.lifetime_value", "op": "gt", "value": 1000}
    if kind == 11:
        return {"field": "conversation.channel", "op": "eq", "value": rng.choice(CHANNELS)}
    if kind == 12:
        return {"field": "time.now", "op": "within_business_hours", "value": 1}
    return {"field": "contact.email", "op": "matches", "value": r"@(gmail|yahoo)\.com$"}


def make_rule(rng: random.Random) -> dict[str, Any]:
    leaves = [_leaf(rng) for _ in range(rng.randint(2, 6))]
    if rng.random() < 0.2:
        leaves[0] = {"not": leaves[0]}
    if len(leaves) >= 4 and rng.random() < 0.5:
        leaves = [*leaves[:2], {"any": leaves[2:]}]
    return {"all": leaves}


def make_event(rng: random.Random, start: datetime) -> Facts:
    words = rng.choices(WORDS, k=rng.randint(5, 60))
    if rng.random() < 0.1:
        words.append(f"order #{rng.randrange(10**6)}")
    return Facts(
        conversation=ConversationFacts(
            status=rng.choice(STATUSES),
            priority=rng.choice(PRIORITIES),
            subject=" ".join(rng.choices(WORDS, k=4)),
            tags=rng.sample(TAGS, rng.randint(0, 3)),
            channel=rng.choice(CHANNELS),
            inbox_id=rng.randint(1, 20),
            team_id=rng.choice((None, 1, 2, 3)),
            assignee_id=rng.choice((None, *range(1, 50))),
            custom={"plan": rng.choice(PLANS)},
        ),
        message=MessageFacts(
            body=" ".join(words),
            direction=rng.choice(("inbound", "outbound")),
            private=rng.random() < 0.1,
            language=rng.choice(LANGUAGES),
        ),
        contact=ContactFacts(
            name="Customer",
            email=f"c{rng.randrange(1000)}@{rng.choice(('gmail.com', 'acme.io'))}",
            attributes={"lifetime_value": rng.randrange(5000)},
        ),
        now=start + timedelta(minutes=rng.randrange(7 * 24 * 60)),
        zone=ZoneInfo("Europe/Paris"),
        business_hours=lambda calendar, at: at.weekday() < 5 and 8 <= at.hour < 18,
    )


def _facts(event: Facts) -> Facts:
    return Facts(
        conversation=event.conversation,
        message=event.message,
        contact=event.contact,
        now=event.now,
        zone=event.zone,
        business_hours=event.business_hours,
    )


def _percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] / 1000.0


def run_bench(rules: int, events: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    definitions = [make_rule(rng) for _ in range(rules)]
    compile_start = time.perf_counter()
    compiled = [compile(d) for d in definitions]
    compile_s = time.perf_counter() - compile_start
    start = datetime(2026, 11, 23, tzinfo=UTC)
    raw = [make_event(rng, start) for _ in range(events)]
    index = ConditionIndex(compiled)
    samples: list[int] = []
    scan: list[int] = []
    matched = 0
    agrees = True
    gc.collect()
    gc.freeze()
    try:
        for event in raw:
            t0 = time.perf_counter_ns()
            facts = _facts(event)  # built per event by the caller: part of the cost
            hits = index.matching(facts)
            samples.append(time.perf_counter_ns() - t0)
            matched += len(hits)
            # The baseline: every rule's condition evaluated, one by one.
            t0 = time.perf_counter_ns()
            facts = _facts(event)
            every = [i for i, condition in enumerate(compiled) if evaluate(condition, facts)]
            scan.append(time.perf_counter_ns() - t0)
            agrees = agrees and every == hits
    finally:
        gc.unfreeze()
    total_ns = sum(samples)
    return {
        "rules": rules,
        "events": events,
        "seed": seed,
        "leaves": sum(_count_leaves(d) for d in definitions),
        "compile_ms": round(compile_s * 1000, 1),
        "matches_per_event": round(matched / events, 2) if events else 0.0,
        "mean_us_per_event": round(total_ns / events / 1000, 1) if events else 0.0,
        "p50_us_per_event": round(_percentile(samples, 0.50), 1) if samples else 0.0,
        "p99_us_per_event": round(_percentile(samples, 0.99), 1) if samples else 0.0,
        "max_us_per_event": round(_percentile(samples, 1.0), 1) if samples else 0.0,
        "scan_p50_us_per_event": round(_percentile(scan, 0.50), 1) if scan else 0.0,
        "scan_p99_us_per_event": round(_percentile(scan, 0.99), 1) if scan else 0.0,
        "scan_agrees": agrees,
        "target_p99_us_per_event": 1000,
        "machine": machine_info(),
        "notes": [
            "per event: its facts are built, then ConditionIndex.matching (the rules filed "
            "under the event's priority, status, ids, tags… plus the unfiled ones)",
            "scan_*: the same events with every rule evaluated one by one (the baseline); "
            "scan_agrees: both found the same rules for every event",
            "rules compiled once beforehand (compile_ms); gc.freeze() after the set-up",
        ],
    }


def _count_leaves(node: dict[str, Any]) -> int:
    if "not" in node:
        return _count_leaves(node["not"])
    for key in ("all", "any"):
        if key in node:
            return sum(_count_leaves(child) for child in node[key])
    return 1


def print_table(report: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"omnidesk bench rules — {report['rules']} rules, {report['events']} events"
    )
    for name in ("leaves", "matches/event", "mean µs", "p50 µs", "p99 µs", "scan p99 µs"):
        table.add_column(name, justify="right")
    table.add_row(
        str(report["leaves"]),
        str(report["matches_per_event"]),
        str(report["mean_us_per_event"]),
        str(report["p50_us_per_event"]),
        str(report["p99_us_per_event"]),
        str(report["scan_p99_us_per_event"]),
    )
    console.print(table)
