"""``omnidesk bench messages`` at a tiny size: the report is complete and nothing is lost.

This checks the benchmark's correctness (set-up, routing check, accounting), not the
server's speed: there is no timing assertion. It runs a real server in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import APP_USES_REDIS, PG_URL, REDIS_URL, require_service

pytestmark = pytest.mark.slow

FIELDS = (
    "rate_per_s",
    "achieved_rate_per_s",
    "sent",
    "delivered",
    "lost",
    "errors",
    "p50_ms",
    "p99_ms",
    "max_ms",
    "max_sustained_per_s",
    "database",
    "broker",
    "agents",
    "duration_s",
    "machine",
    "cpu",
    "notes",
)


def _bench(*args: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIDESK_")}
    done = subprocess.run(
        [sys.executable, "-m", "omnidesk", "bench", "messages", "--json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, object] = json.loads(done.stdout)
    return report


def _check(report: dict[str, object], *, database: str, broker: str) -> None:
    for name in FIELDS:
        assert name in report, name
    assert report["database"] == database
    assert report["broker"] == broker
    assert report["agents"] == 3
    assert report["sent"] == 40
    assert report["delivered"] == report["sent"]
    assert report["lost"] == 0
    assert report["errors"] == 0
    assert report["misrouted"] == 0
    machine = report["machine"]
    assert isinstance(machine, dict)
    assert machine["cores"]
    assert machine["python"]


def test_bench_messages_in_this_runs_set_up() -> None:
    """The embedded set-up in the SQLite pass, the scale-out one in the PostgreSQL pass."""
    args = ["--agents", "3", "--rate", "20", "--duration", "2", "--supervisors", "1"]
    if PG_URL:
        require_service(APP_USES_REDIS and bool(REDIS_URL), "the scale-out pass needs Redis")
        args += ["--database-url", PG_URL, "--redis-url", REDIS_URL]
    report = _bench(*args)
    _check(
        report,
        database="postgresql" if PG_URL else "sqlite",
        broker="redis" if PG_URL else "memory",
    )
    assert report["supervisors"] == 1
