"""``omnidesk bench email`` at a tiny size: the report's accounting, not speed."""

from __future__ import annotations

import json
import subprocess
import sys

from omnidesk.bench.email import EmailBenchConfig, load_corpus, plan


def test_bench_email_small() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "omnidesk",
            "bench",
            "email",
            "--json",
            "--emails",
            "120",
            "--customers",
            "6",
            "--concurrency",
            "4",
            "--duplicate-share",
            "0.05",
            "--seed",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout)
    for name in ("emails_per_s", "p50_ms", "p99_ms", "target", "passed", "machine"):
        assert name in report, name
    assert report["emails"] == 120
    assert report["refused"] == {}
    # Every mail is stored once or answered as a duplicate of a stored one.
    assert report["stored"] + report["duplicates"] == 120
    assert report["duplicates"] == report["duplicates_sent"] > 0
    assert report["messages"] == report["stored"]
    # Every reply joined its parent's conversation; every new thread opened one.
    assert 0 < report["replies_threaded"] == report["replies"]
    assert report["conversations"] == report["new_threads"]
    assert report["new_threads"] + report["replies"] + report["duplicates_sent"] == 120
    assert report["attachments"] > 0
    assert report["auto_flagged"] > 0
    assert 0 < report["p50_ms"] <= report["p99_ms"] <= report["max_ms"]
    assert report["target"]["emails_per_s"] == 200


def test_the_plan_is_seeded_and_replies_follow_their_parents() -> None:
    config = EmailBenchConfig(emails=200, customers=5, concurrency=8, seed=1)
    corpus = load_corpus(config.corpus)
    first, second = plan(config, corpus), plan(config, corpus)
    assert first == second
    replies = [(i, p.parent) for i, p in enumerate(first) if p.parent is not None]
    assert replies
    # A reply is sent only once its parent is stored: at least `concurrency` mails later.
    assert all(parent <= i - config.concurrency for i, parent in replies)
    raw = first[replies[0][0]].raw
    head = raw.split(b"\r\n\r\n")[0].lower()
    # The corpus mail's own threading headers are replaced, not doubled.
    assert head.count(b"\nmessage-id:") + head.startswith(b"message-id:") == 1
    assert head.count(b"in-reply-to:") == 1
    assert b"In-Reply-To: <" + first[replies[0][1]].message_id.encode() + b">" in raw
