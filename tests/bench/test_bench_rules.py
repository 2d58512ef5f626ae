"""``omnidesk bench rules`` at a tiny size: the report's shape, not speed."""

from __future__ import annotations

import json
import random
import subprocess
import sys

from omnidesk.automation.conditions import compile
from omnidesk.bench.rules import make_rule

SMALL = ("--rules", "40", "--events", "30", "--seed", "3")


def test_bench_rules_small() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "omnidesk", "bench", "rules", "--json", *SMALL],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout)
    assert (report["rules"], report["events"], report["seed"]) == (40, 30, 3)
    for name in ("p50_us_per_event", "p99_us_per_event", "max_us_per_event"):
        assert report[name] > 0, name
    assert report["p50_us_per_event"] <= report["p99_us_per_event"] <= report["max_us_per_event"]
    assert report["leaves"] >= 2 * 40
    assert 0 <= report["matches_per_event"] <= 40
    assert {"cores", "python"} <= set(report["machine"])


def test_generated_rules_compile_and_are_seeded() -> None:
    first = [make_rule(random.Random(5)) for _ in range(3)]
    assert first == [make_rule(random.Random(5)) for _ in range(3)]
    rng = random.Random(1)
    for _ in range(300):
        compile(make_rule(rng))
