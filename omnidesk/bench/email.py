"""``omnidesk bench email``: raw mails parsed, threaded and stored, as the SMTP listener does.

The corpus (``tests/channels/email/payloads/*.eml``, or ``--corpus``) is repeated to
``emails`` mails. Each gets a Message-ID and a customer of its own (one of ``customers``);
a share of them (``reply_share``) answer an earlier mail of the same customer with
In-Reply-To and References, so threading by references is exercised, and a few are
delivered twice (``duplicate_share``), so deduplication is too. New threads get a subject
of their own so that the subject rule never joins two of them.

Each mail goes the real way: :func:`~omnidesk.channels.email.mime.to_inbound` on this
process's loop, then the process's :class:`~omnidesk.conversations.inbound.InboundWriter`
(group commit on its own thread, SQLite inline), with ``concurrency`` mails in flight like
as many SMTP sessions. A reply is only sent once its parent is stored (it is planned at
least ``concurrency`` mails later, and waits for it if need be), so every reply must land
in its parent's conversation.
Latency is per mail from the start of its parse to its commit; nothing else is timed.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from omnidesk.accounts.models import Account
from omnidesk.bench.harness import BenchError, ScratchDatabase, machine_info, self_cpu_s
from omnidesk.channels.email.mime import to_inbound, without_headers
from omnidesk.conversations.inbound import InboundWriter
from omnidesk.conversations.models import Attachment, Conversation, Message
from omnidesk.conversations.service import InboundItem
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.clock import SystemClock
from omnidesk.kit.db import Database
from omnidesk.kit.errors import OmnideskError
from omnidesk.kit.migrate import upgrade
from omnidesk.kit.storage import LocalStorage

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "tests/channels/email/payloads"
TARGET_EMAILS_PER_S = 200.0
#: Headers the bench sets itself on every mail (the rest of the corpus mail is kept).
_REPLACED = frozenset(
    {b"from", b"sender", b"message-id", b"in-reply-to", b"references", b"subject"}
)


@dataclass(frozen=True)
class EmailBenchConfig:
    emails: int = 3000
    customers: int = 200
    reply_share: float = 0.5
    duplicate_share: float = 0.02
    concurrency: int = 32
    seed: int = 0
    corpus: Path = DEFAULT_CORPUS
    target_emails_per_s: float = TARGET_EMAILS_PER_S


@dataclass(frozen=True)
class Planned:
    raw: bytes
    message_id: str
    #: The index of the mail this one answers (None: a new thread).
    parent: int | None
    duplicate_of: int | None = None


def load_corpus(directory: Path) -> list[bytes]:
    files = sorted(directory.glob("*.eml"))
    if not files:
        raise BenchError(f"no .eml files in {directory} (pass --corpus)")
    return [path.read_bytes() for path in files]


def plan(config: EmailBenchConfig, corpus: list[bytes]) -> list[Planned]:
    """The mails to send, in order; seeded, so every run sends the same."""
    rng = random.Random(config.seed)
    planned: list[Planned] = []
    threads: dict[int, list[int]] = {}  # customer -> their mails, oldest first
    subjects: dict[int, str] = {}  # mail -> its thread's subject
    for index in range(config.emails):
        if index and rng.random() < config.duplicate_share:
            original = rng.randrange(max(0, index - 50), index)
            first = planned[original]
            planned.append(Planned(first.raw, first.message_id, None, duplicate_of=original))
            continue
        customer = rng.randrange(config.customers)
        earlier = [
            i for i in threads.get(customer, []) if i <= index - config.concurrency
        ]  # stored before this one is sent
        parent = earlier[-1] if earlier and rng.random() < config.reply_share else None
        message_id = f"bench-{config.seed}-{index}@customers.example.com"
        if parent is None:
            subject = f"Case {index}: question"
            refs: list[str] = []
        else:
            subject = f"Re: {subjects[parent]}"
            refs = [planned[i].message_id for i in threads[customer] if i <= parent][-5:]
        subjects[index] = subjects[parent] if parent is not None else subject
        headers = [
            f"From: Customer {customer} <customer-{customer}@customers.example.com>",
            f"Subject: {subject}",
            f"Message-ID: <{message_id}>",
        ]
        if parent is not None:
            headers.append(f"In-Reply-To: <{planned[parent].message_id}>")
            headers.append("References: " + " ".join(f"<{r}>" for r in refs))
        raw = _with_headers(corpus[index % len(corpus)], headers)
        planned.append(Planned(raw, message_id, parent))
        threads.setdefault(customer, []).append(index)
    return planned


def _with_headers(raw: bytes, headers: list[str]) -> bytes:
    """``raw`` with the bench's own From, Subject and threading headers."""
    kept, body = without_headers(raw, _REPLACED)
    new = [h.encode() for h in headers]
    return b"\r\n".join(new + kept) + b"\r\n\r\n" + body.replace(b"\n", b"\r\n")


async def run_bench(config: EmailBenchConfig, console: Console | None = None) -> dict[str, Any]:
    say = console.print if console is not None else (lambda *_a, **_k: None)
    corpus = load_corpus(config.corpus)
    planned = plan(config, corpus)
    with tempfile.TemporaryDirectory(prefix="omnidesk-bench-email-") as scratch:
        directory = Path(scratch)
        database = ScratchDatabase(None, directory)
        await upgrade(database.url)
        db = Database(database.url)
        clock = SystemClock()
        try:
            inbox = await _set_up(db, clock)
            writer = InboundWriter(
                db, clock, LocalStorage(directory / "attachments"), linger_s=0.010
            )
            await writer.start()
            try:
                say(f"sending {len(planned)} mails ({len(corpus)} in the corpus)")
                run = await _send(writer, inbox, planned, config.concurrency)
            finally:
                await writer.stop()
            stored = await _stored(db)
        finally:
            await db.dispose()
    return _report(config, corpus, planned, run, stored)


async def _set_up(db: Database, clock: SystemClock) -> Inbox:
    now = clock.now()
    async with db.transaction() as session:
        account = Account(name="Bench", settings={}, created_at=now)
        session.add(account)
        await session.flush()
        inbox = Inbox(
            account_id=account.id,
            name="Support",
            channel_type="email",
            config={},
            secrets_encrypted="",
            created_at=now,
            updated_at=now,
        )
        session.add(inbox)
        await session.flush()
        return inbox


@dataclass
class _Run:
    wall_s: float
    cpu_s: float
    latencies_ms: list[float]
    outcomes: list[tuple[int, bool] | str]  # (conversation id, created) or an error code


async def _send(
    writer: InboundWriter, inbox: Inbox, planned: list[Planned], concurrency: int
) -> _Run:
    outcomes: list[tuple[int, bool] | str] = [""] * len(planned)
    latencies: list[float] = [0.0] * len(planned)
    answered = [asyncio.Event() for _ in planned]
    next_index = 0

    async def session() -> None:  # one SMTP session: one mail after the other
        nonlocal next_index
        while next_index < len(planned):
            index = next_index
            next_index += 1
            parent = planned[index].parent
            if parent is not None:  # planned well after it; this only guards a slow one
                await answered[parent].wait()
            start = time.perf_counter()
            inbound = to_inbound(planned[index].raw)
            item = InboundItem(inbox.account_id, inbox.id, inbound, channel_type="email")
            try:
                result = await writer.receive(item)
                outcomes[index] = (result.conversation.id, result.created)
            except OmnideskError as exc:
                outcomes[index] = exc.code
            latencies[index] = (time.perf_counter() - start) * 1000
            answered[index].set()

    cpu_start, start = self_cpu_s(), time.perf_counter()
    await asyncio.gather(*(session() for _ in range(max(1, concurrency))))
    return _Run(time.perf_counter() - start, self_cpu_s() - cpu_start, latencies, outcomes)


async def _stored(db: Database) -> dict[str, int]:
    async with db.transaction() as session:
        counts = {}
        for name, model in (
            ("messages", Message),
            ("conversations", Conversation),
            ("attachments", Attachment),
        ):
            counts[name] = await session.scalar(select(func.count()).select_from(model)) or 0
        metas = await session.scalars(select(Message.meta))
        counts["auto_flagged"] = sum(1 for meta in metas if meta.get("auto"))
    return counts


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _report(
    config: EmailBenchConfig,
    corpus: list[bytes],
    planned: list[Planned],
    run: _Run,
    stored: dict[str, int],
) -> dict[str, Any]:
    results = run.outcomes
    errors = Counter(r for r in results if isinstance(r, str))
    created = sum(1 for r in results if isinstance(r, tuple) and r[1])
    duplicates = sum(1 for r in results if isinstance(r, tuple) and not r[1])
    replies = [i for i, p in enumerate(planned) if p.parent is not None]
    conversation_of = {i: r[0] for i, r in enumerate(results) if isinstance(r, tuple)}
    threaded = 0
    for i in replies:
        parent = planned[i].parent
        if parent is not None and i in conversation_of:
            threaded += conversation_of[i] == conversation_of.get(parent)
    new_threads = sum(1 for p in planned if p.parent is None and p.duplicate_of is None)
    per_s = len(planned) / run.wall_s if run.wall_s else 0.0
    passed = (
        per_s >= config.target_emails_per_s
        and not errors
        and threaded == len(replies)
        and stored["conversations"] == new_threads
    )
    return {
        "emails": len(planned),
        "corpus_files": len(corpus),
        "customers": config.customers,
        "concurrency": config.concurrency,
        "seed": config.seed,
        "stored": created,
        "duplicates": duplicates,
        "duplicates_sent": sum(1 for p in planned if p.duplicate_of is not None),
        "refused": dict(errors),
        "replies": len(replies),
        "replies_threaded": threaded,
        "new_threads": new_threads,
        "conversations": stored["conversations"],
        "messages": stored["messages"],
        "attachments": stored["attachments"],
        "auto_flagged": stored["auto_flagged"],
        "wall_s": round(run.wall_s, 3),
        "emails_per_s": round(per_s, 1),
        "p50_ms": round(_percentile(run.latencies_ms, 0.50), 2),
        "p99_ms": round(_percentile(run.latencies_ms, 0.99), 2),
        "max_ms": round(max(run.latencies_ms, default=0.0), 2),
        "cpu_ms_per_email": round(run.cpu_s * 1000 / len(planned), 3) if planned else None,
        "target": {"emails_per_s": config.target_emails_per_s, "database": "sqlite"},
        "passed": passed,
        "machine": machine_info(),
        "notes": [
            "one process: parsing on the main loop, the inbound writer on its own thread",
            "latency: from the start of a mail's parse to its commit (closed loop)",
            "passed: the target rate, nothing refused, every reply in its parent's "
            "conversation and one conversation per new thread",
        ],
    }


def print_table(report: dict[str, Any], console: Console) -> None:
    table = Table(title=f"omnidesk bench email — {report['emails']} mails, SQLite")
    for name in ("emails/s", "p50 ms", "p99 ms", "stored", "dupes", "threaded", "passed"):
        table.add_column(name, justify="right")
    table.add_row(
        str(report["emails_per_s"]),
        str(report["p50_ms"]),
        str(report["p99_ms"]),
        str(report["stored"]),
        str(report["duplicates"]),
        f"{report['replies_threaded']}/{report['replies']}",
        "yes" if report["passed"] else "no",
    )
    console.print(table)
