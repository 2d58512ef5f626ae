"""``omnidesk bench messages``: inbound API-channel messages to agents' websockets, end to end.

The server runs as a separate process (``python -m omnidesk serve``) on a fresh database;
this process is the load generator. Set-up:

* an account, its admin and an API token, and N agents (+ K supervisors) with browser
  sessions, inserted directly through the accounts models (creating and logging in 200
  users through the API would spend ~0.14 s of argon2 per call in the server: set-up, not
  what is measured);
* through the REST API: one API inbox, and per conversation a contact (with an
  ``external`` identity) and a conversation in that inbox assigned to one agent — a
  contact centre, not a broadcast: each message has exactly one entitled agent socket,
  plus every supervisor's;
* every agent (and supervisor) socket connects to ``/ws`` with its session cookie and the
  server's Origin, and waits for ``hello``;
* a warm-up message per conversation checks that each lands in the expected conversation
  (the POST's answer) and reaches exactly the entitled sockets; the run stops otherwise.

The load is open-loop: message i is due at ``t0 + i / rate`` whatever happened to earlier
ones, and waits for a free connection when all ``max_in_flight`` are busy. Latency is
measured from the due time (so a slow server cannot hide behind a generator that waited
for it) to the moment the last entitled socket received the event; both clocks are this
process's ``time.perf_counter``. A message not received by every entitled socket within
``grace_s`` after the last answer is lost; a POST answered non-2xx, or not at all, is an
error; a message still waiting for a connection ``drain_s`` after the end is unsent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import secrets
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Origin

from omnidesk.accounts import service as accounts
from omnidesk.accounts.models import User, UserSession
from omnidesk.accounts.principal import Principal
from omnidesk.bench.harness import (
    LOOPBACK,
    BenchError,
    ScratchDatabase,
    ServerProcess,
    check_redis,
    machine_cpu_s,
    machine_info,
    process_cpu_s,
    process_tree_cpu_s,
    redis_cpu_s,
    self_cpu_s,
)
from omnidesk.bench.httpclient import HttpConnection, HttpError
from omnidesk.kit.clock import SystemClock
from omnidesk.kit.db import Database
from omnidesk.kit.process import tune_for_latency
from omnidesk.kit.security import hash_password, hash_token, new_token
from omnidesk.web.auth import SESSION_COOKIE

#: Rates tried by ``--find-max``, in messages per second, until one fails.
FIND_MAX_RATES = (10, 20, 30, 40, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000)
#: Other processes busier than this share of one core make a run's figures pessimistic.
INTERFERENCE_SHARE = 0.2
SET_UP_CONNECTIONS = 4
CONNECT_CONCURRENCY = 25
HELLO_TIMEOUT_S = 30.0
WARM_UP_RATE = 50.0
REQUEST_TIMEOUT_S = 30.0
#: Between runs, wait until the server's CPU use falls below this share of a core…
SETTLED_SHARE = 0.1
#: …for at most this long.
SETTLE_MAX_S = 30.0
#: A find-max step lasts long enough for this many messages, so that its p99 is not the
#: second-worst of a hundred samples.
MIN_STEP_MESSAGES = 500

_UNSENT = 0
_TRANSPORT_ERROR = -1


@dataclass(frozen=True)
class BenchConfig:
    agents: int = 200
    supervisors: int = 0
    conversations_per_agent: int = 1
    rate: float = 500.0
    duration_s: float = 20.0
    database_url: str | None = None  # a PostgreSQL server; None: SQLite in a temp dir
    redis_url: str | None = None  # None: the in-memory broker
    find_max: bool = False
    step_duration_s: float = 10.0
    max_in_flight: int = 64
    grace_s: float = 5.0
    drain_s: float = 10.0
    p99_target_ms: float = 100.0
    body_chars: int = 160
    ws_compression: bool = True
    server_log_level: str = "INFO"
    server_processes: int = 1
    #: Enabled automation rules on ``message.received`` that never match: the cost of the
    #: rules' job per message (docs/adr/0012-automation-rules.md).
    rules: int = 0

    def check(self) -> None:
        if self.server_processes < 1:
            raise BenchError("--server-processes must be at least 1")
        if self.server_processes > 1 and not self.redis_url:
            raise BenchError("more than one server process needs --redis-url")
        if self.agents < 1:
            raise BenchError("--agents must be at least 1")
        if self.supervisors < 0 or self.conversations_per_agent < 1:
            raise BenchError("--supervisors ≥ 0 and --conversations-per-agent ≥ 1")
        if self.rate <= 0 or self.duration_s <= 0 or self.step_duration_s <= 0:
            raise BenchError("--rate, --duration and --step-duration must be positive")
        if self.max_in_flight < 1:
            raise BenchError("--max-in-flight must be at least 1")
        if self.rules < 0:
            raise BenchError("--rules must be at least 0")


# Set-up -----------------------------------------------------------------------------------


@dataclass
class Person:
    index: int
    user_id: int
    cookie: str
    supervisor: bool


@dataclass
class Fixture:
    account_id: int
    api_token: str
    inbox_id: int
    people: list[Person]
    conversation_ids: list[int]  # by conversation index
    conversation_agent: list[int]  # conversation index → agent index (into people)
    customer_ids: list[str]  # conversation index → the contact's external id


async def _create_people(url: str, token: str, agents: int, supervisors: int) -> Fixture:
    clock = SystemClock()
    domain = f"bench-{token}.example.com"
    db = Database(url)
    try:
        async with db.transaction() as session:
            account, admin = await accounts.create_account(
                session,
                clock,
                name=f"Bench {token}",
                admin_email=f"admin@{domain}",
                admin_name="Bench admin",
                admin_password=secrets.token_urlsafe(18),
            )
            actor = Principal(account_id=account.id, user_id=admin.id, role="admin")
            _, api_token = await accounts.create_api_token(session, clock, actor, "bench")
            # One hash for everyone: a real argon2 hash of a password nobody knows.
            password_hash = hash_password(secrets.token_urlsafe(18))
            now = clock.now()
            users = [
                User(
                    account_id=account.id,
                    email=f"{'supervisor' if i >= agents else 'agent'}-{i}@{domain}",
                    name=f"{'Supervisor' if i >= agents else 'Agent'} {i}",
                    role="supervisor" if i >= agents else "agent",
                    password_hash=password_hash,
                    active=True,
                    created_at=now,
                )
                for i in range(agents + supervisors)
            ]
            session.add_all(users)
            await session.flush()
            people = []
            for i, user in enumerate(users):
                cookie = new_token()
                session.add(
                    UserSession(
                        account_id=account.id,
                        user_id=user.id,
                        token_hash=hash_token(cookie),
                        csrf_token=new_token(nbytes=24),
                        created_at=now,
                        expires_at=now + timedelta(days=1),
                    )
                )
                people.append(Person(i, user.id, cookie, supervisor=i >= agents))
    finally:
        await db.dispose()
    return Fixture(account.id, api_token, 0, people, [], [], [])


async def _api(
    conn: HttpConnection, method: str, path: str, payload: dict[str, Any], expect: int = 201
) -> dict[str, Any]:
    response = await conn.request(method, path, json.dumps(payload).encode())
    if response.status != expect:
        raise BenchError(
            f"{method} {path} answered {response.status}, expected {expect}: "
            f"{response.body[:500].decode(errors='replace')}"
        )
    data: dict[str, Any] = response.json()
    return data


async def _create_rules(fixture: Fixture, port: int, count: int) -> None:
    conn = HttpConnection(LOOPBACK, port, headers={"Authorization": f"Bearer {fixture.api_token}"})
    try:
        for i in range(count):
            await _api(
                conn,
                "POST",
                "/api/v1/automation/rules",
                {
                    "name": f"bench rule {i}",
                    "triggers": ["message.received"],
                    "conditions": {
                        "field": "message.body",
                        "op": "contains",
                        "value": f"never-{i}",
                    },
                    "actions": [{"type": "add_tags", "tags": [f"bench-{i}"]}],
                },
            )
    finally:
        await conn.close()


async def _create_conversations(
    fixture: Fixture, port: int, token: str, count: int, agents: int, advance: Callable[[], None]
) -> None:
    headers = {"Authorization": f"Bearer {fixture.api_token}"}
    pool = [HttpConnection(LOOPBACK, port, headers=headers) for _ in range(SET_UP_CONNECTIONS)]
    try:
        inbox = await _api(
            pool[0], "POST", "/api/v1/inboxes", {"name": "Bench API", "channel_type": "api"}
        )
        fixture.inbox_id = int(inbox["id"])
        fixture.conversation_ids = [0] * count
        fixture.conversation_agent = [c % agents for c in range(count)]
        fixture.customer_ids = [f"bench-{token}-customer-{c}" for c in range(count)]
        todo: asyncio.Queue[int] = asyncio.Queue()
        for c in range(count):
            todo.put_nowait(c)

        async def work(conn: HttpConnection) -> None:
            while not todo.empty():
                c = todo.get_nowait()
                contact = await _api(
                    conn,
                    "POST",
                    "/api/v1/contacts",
                    {
                        "name": f"Customer {c}",
                        "identities": [{"kind": "external", "value": fixture.customer_ids[c]}],
                    },
                )
                agent = fixture.people[fixture.conversation_agent[c]]
                conversation = await _api(
                    conn,
                    "POST",
                    "/api/v1/conversations",
                    {
                        "contact_id": contact["id"],
                        "inbox_id": fixture.inbox_id,
                        "subject": f"Bench conversation {c}",
                        "assignee_id": agent.user_id,
                    },
                )
                if conversation.get("assignee_id") != agent.user_id:
                    raise BenchError(f"conversation {conversation['id']} is not assigned")
                fixture.conversation_ids[c] = int(conversation["id"])
                advance()

        await asyncio.gather(*(work(conn) for conn in pool))
    finally:
        for conn in pool:
            await conn.close()


# Measuring one run --------------------------------------------------------------------------


class Tracker:
    """What happened to each message of one run, indexed by its number in the run."""

    def __init__(
        self,
        prefix: str,
        count: int,
        *,
        rate: float,
        fixture: Fixture,
        entitled_per_message: int,
    ) -> None:
        self.prefix = prefix
        self.count = count
        self.rate = rate
        self.t0 = 0.0
        self.fixture = fixture
        self.sent_at = [0.0] * count
        self.answered_at = [0.0] * count
        self.status = [_UNSENT] * count
        self.answers: list[bytes | None] = [None] * count
        self.remaining = [entitled_per_message] * count
        self.delivered_at = [0.0] * count
        self.delivered = 0
        self.misrouted = 0
        self.duplicates = 0
        self.answered = 0
        self._seen: set[int] = set()
        self._sockets = len(fixture.people)
        self._wanted: int | None = None
        self._all_delivered = asyncio.Event()

    async def wait_delivered(self, wanted: int, timeout_s: float) -> None:
        """Until ``wanted`` messages are delivered, or ``timeout_s`` has passed."""
        self._wanted = wanted
        if self.delivered >= wanted:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._all_delivered.wait()

    def due(self, i: int) -> float:
        return self.t0 + i / self.rate

    def received(self, person: Person, external_id: str, conversation_id: Any, now: float) -> None:
        if not external_id.startswith(self.prefix):
            return  # an earlier run's message, replayed or late
        try:
            i = int(external_id[len(self.prefix) :])
        except ValueError:
            return
        if not 0 <= i < self.count:
            return
        c = i % len(self.fixture.conversation_ids)
        if conversation_id != self.fixture.conversation_ids[c] or not (
            person.supervisor or person.index == self.fixture.conversation_agent[c]
        ):
            self.misrouted += 1
            return
        key = i * self._sockets + person.index
        if key in self._seen:
            self.duplicates += 1
            return
        self._seen.add(key)
        self.remaining[i] -= 1
        if self.remaining[i] == 0:
            self.delivered_at[i] = now
            self.delivered += 1
            if self._wanted is not None and self.delivered >= self._wanted:
                self._all_delivered.set()


class Fleet:
    """Every agent's and supervisor's websocket; reconnects with last_event_id if closed."""

    def __init__(self, base_url: str, people: Sequence[Person], compression: bool) -> None:
        self.ws_url = base_url.replace("http://", "ws://", 1) + "/ws"
        self.origin = Origin(base_url)
        self.people = people
        self.compression = compression
        self.tracker: Tracker | None = None
        self.stopping = False
        self.last_event_id: list[int | None] = [None] * len(people)
        self.hello = [asyncio.Event() for _ in people]
        self.failure: list[str | None] = [None] * len(people)
        self.reconnects = 0
        self.closes: dict[str, int] = {}
        self.frames = 0
        self.bad_frames = 0
        self._sockets: list[ClientConnection | None] = [None] * len(people)
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self, advance: Callable[[], None]) -> None:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def start(person: Person) -> None:
            async with gate:
                self._tasks.append(asyncio.create_task(self._keep(person)))
                try:
                    async with asyncio.timeout(HELLO_TIMEOUT_S):
                        await self.hello[person.index].wait()
                except TimeoutError:
                    raise BenchError(
                        f"socket of user {person.user_id} got no hello in {HELLO_TIMEOUT_S:.0f}s"
                        f": {self.failure[person.index] or 'no answer'}"
                    ) from None
                advance()

        await asyncio.gather(*(start(p) for p in self.people))

    async def close(self) -> None:
        self.stopping = True

        async def close(ws: ClientConnection) -> None:
            with contextlib.suppress(Exception):
                await ws.close()

        await asyncio.gather(*(close(ws) for ws in self._sockets if ws is not None))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _keep(self, person: Person) -> None:
        delay = 0.05
        first = True
        while not self.stopping:
            url = self.ws_url
            last = self.last_event_id[person.index]
            if last is not None:
                url += f"?last_event_id={last}"
            try:
                async with connect(
                    url,
                    origin=self.origin,
                    additional_headers={"Cookie": f"{SESSION_COOKIE}={person.cookie}"},
                    compression="deflate" if self.compression else None,
                    proxy=None,  # loopback only, whatever the environment says
                    ping_interval=None,  # like a browser: the server sends the pings
                    open_timeout=HELLO_TIMEOUT_S,
                    max_size=None,
                ) as ws:
                    self._sockets[person.index] = ws
                    async for raw in ws:
                        self._frame(person, raw, time.perf_counter())
                    reason = f"closed {ws.close_code}"
            except ConnectionClosed as exc:
                reason = f"closed {exc.rcvd.code if exc.rcvd else 'abnormally'}"
            except (InvalidHandshake, OSError, TimeoutError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                self._sockets[person.index] = None
            if self.stopping:
                return
            self.closes[reason] = self.closes.get(reason, 0) + 1
            if first and not self.hello[person.index].is_set():
                self.failure[person.index] = reason
                if reason.startswith("closed 44"):
                    return  # refused (auth, origin): retrying will not help
            first = False
            self.reconnects += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _frame(self, person: Person, raw: str | bytes, now: float) -> None:
        self.frames += 1
        try:
            message = json.loads(raw)
            kind = message["type"]
            if kind == "event":
                event = message["event"]
                self.last_event_id[person.index] = event["id"]
                if event["type"] == "message.received" and self.tracker is not None:
                    data = event["data"]["message"]
                    self.tracker.received(
                        person, data["channel_message_id"] or "", event["conversation_id"], now
                    )
            elif kind == "hello":
                if self.last_event_id[person.index] is None:
                    self.last_event_id[person.index] = message.get("last_event_id")
                self.hello[person.index].set()
        except (ValueError, KeyError, TypeError):
            self.bad_frames += 1


@dataclass
class CpuSnapshot:
    at: float
    generator: float
    server: float | None
    database: dict[int, float] = field(default_factory=dict)
    redis: float | None = None
    machine: tuple[float, float] | None = None
    #: The server's inbound batches so far: (messages, batches), from its /metrics.
    batches: tuple[float, float] | None = None


async def _batches(ctx: Context) -> tuple[float, float] | None:
    """Group commit's batches so far (``omnidesk_inbound_batch_size``; one process only)."""
    response = await ctx.pool[0].request("GET", "/metrics")
    if not response.ok:
        return None
    found: dict[str, float] = {}
    for line in response.body.decode().splitlines():
        name, _, value = line.partition(" ")
        if name in ("omnidesk_inbound_batch_size_sum", "omnidesk_inbound_batch_size_count"):
            found[name] = float(value)
    if len(found) != 2:
        return None
    return found["omnidesk_inbound_batch_size_sum"], found["omnidesk_inbound_batch_size_count"]


async def _cpu_snapshot(ctx: Context) -> CpuSnapshot:
    database: dict[int, float] = {}
    for pid in await ctx.scratch.backend_pids():
        used = process_cpu_s(pid)
        if used is not None:
            database[pid] = used
    return CpuSnapshot(
        at=time.perf_counter(),
        generator=self_cpu_s(),
        server=process_tree_cpu_s(ctx.server.pid),
        database=database,
        redis=await redis_cpu_s(ctx.config.redis_url),
        machine=machine_cpu_s(),
        batches=await _batches(ctx) if ctx.config.server_processes == 1 else None,
    )


def _cpu_report(start: CpuSnapshot, end: CpuSnapshot, messages: int) -> dict[str, Any]:
    wall = max(end.at - start.at, 1e-9)

    def pct(seconds: float | None) -> float | None:
        return None if seconds is None else round(100 * seconds / wall, 1)

    def r(seconds: float | None) -> float | None:
        return None if seconds is None else round(seconds, 2)

    generator = end.generator - start.generator
    server = None if end.server is None or start.server is None else end.server - start.server
    report: dict[str, Any] = {
        "wall_s": round(wall, 2),
        "generator_s": r(generator),
        "generator_pct_of_core": pct(generator),
        "server_s": r(server),
        "server_pct_of_core": pct(server),
        "server_ms_per_message": None
        if server is None or not messages
        else round(1000 * server / messages, 2),
    }
    accounted = generator + (server or 0.0)
    if end.database:
        database = sum(used - start.database.get(pid, 0.0) for pid, used in end.database.items())
        report["database_backends_s"] = r(database)
        report["database_backends_pct_of_core"] = pct(database)
        report["database_backends_ms_per_message"] = (
            round(1000 * database / messages, 2) if messages else None
        )
        accounted += database
    if start.redis is not None and end.redis is not None:
        redis = end.redis - start.redis
        report["redis_server_s"] = r(redis)
        report["redis_server_pct_of_core"] = pct(redis)
        accounted += redis
    if start.machine is not None and end.machine is not None:
        busy = end.machine[0] - start.machine[0]
        total = end.machine[1] - start.machine[1]
        report["machine_busy_pct"] = round(100 * busy / total, 1) if total > 0 else None
        report["other_processes_s"] = r(max(busy - accounted, 0.0))
    if start.batches is not None and end.batches is not None:
        batches = end.batches[1] - start.batches[1]
        report["inbound_batches"] = int(batches)
        report["inbound_mean_batch"] = (
            round((end.batches[0] - start.batches[0]) / batches, 1) if batches else None
        )
    return report


def _percentile(ordered: Sequence[float], q: float) -> float | None:
    """Nearest rank; None for no samples."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


@dataclass
class Context:
    config: BenchConfig
    scratch: ScratchDatabase
    server: ServerProcess
    fixture: Fixture
    fleet: Fleet
    pool: list[HttpConnection]
    token: str
    progress: Progress
    runs: int = 0

    def message_body(self, external_id: str, c: int, text: str) -> bytes:
        return json.dumps(
            {
                "external_id": external_id,
                "sender": {"external_id": self.fixture.customer_ids[c], "name": f"Customer {c}"},
                "body": text,
            },
            separators=(",", ":"),
        ).encode()


def _body_text(config: BenchConfig, i: int) -> str:
    text = f"Hello, this is message {i}. "
    return (text * (config.body_chars // len(text) + 1))[: max(config.body_chars, 1)]


async def run_load(
    ctx: Context, *, rate: float, duration_s: float, label: str, keep_answers: bool = False
) -> tuple[dict[str, Any], Tracker]:
    """One open-loop run at ``rate`` for ``duration_s``; returns its figures."""
    config, fixture = ctx.config, ctx.fixture
    ctx.runs += 1
    count = max(1, round(rate * duration_s))
    conversations = len(fixture.conversation_ids)
    supervisors = sum(p.supervisor for p in fixture.people)
    tracker = Tracker(
        f"bench-{ctx.token}-r{ctx.runs}-",
        count,
        rate=rate,
        fixture=fixture,
        entitled_per_message=1 + supervisors,
    )
    ctx.fleet.tracker = tracker
    path = f"/api/v1/inboxes/{fixture.inbox_id}/messages"
    texts = [_body_text(config, i) for i in range(min(count, 64))]
    # Open (or re-open: the server drops idle keep-alive connections) every connection now.
    await asyncio.gather(*(conn.request("GET", "/healthz") for conn in ctx.pool))

    queue: asyncio.Queue[int | None] = asyncio.Queue()
    task = ctx.progress.add_task(label, total=count)
    cpu_start = await _cpu_snapshot(ctx)
    tracker.t0 = t0 = time.perf_counter() + 0.05
    stop_sending_at = t0 + duration_s + config.drain_s

    async def dispatch() -> None:
        i = 0
        while i < count:
            now = time.perf_counter()
            due = min(count, math.floor((now - t0) * rate) + 1) if now >= t0 else 0
            while i < due:
                queue.put_nowait(i)
                i += 1
            if i < count:
                await asyncio.sleep(max(0.0, tracker.due(i) - time.perf_counter()))
        for _ in ctx.pool:
            queue.put_nowait(None)

    async def work(conn: HttpConnection) -> None:
        while (i := await queue.get()) is not None:
            if time.perf_counter() > stop_sending_at:
                continue  # stays _UNSENT
            c = i % conversations
            body = ctx.message_body(f"{tracker.prefix}{i}", c, texts[i % len(texts)])
            tracker.sent_at[i] = time.perf_counter()
            try:
                response = await conn.request("POST", path, body)
                tracker.status[i] = response.status
                if keep_answers:
                    tracker.answers[i] = response.body
            except (HttpError, TimeoutError):
                tracker.status[i] = _TRANSPORT_ERROR
            tracker.answered_at[i] = time.perf_counter()
            tracker.answered += 1

    async def show() -> None:
        while True:
            ctx.progress.update(task, completed=tracker.delivered)
            await asyncio.sleep(0.25)

    shower = asyncio.create_task(show())
    try:
        await asyncio.gather(dispatch(), *(work(conn) for conn in ctx.pool))
        accepted = sum(1 for s in tracker.status if 200 <= s < 300)
        await tracker.wait_delivered(accepted, config.grace_s)
        cpu_end = await _cpu_snapshot(ctx)
    finally:
        shower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await shower
        ctx.progress.update(task, completed=tracker.delivered)
        ctx.progress.stop_task(task)
    return _figures(ctx, tracker, rate, duration_s, cpu_start, cpu_end), tracker


def _figures(
    ctx: Context,
    tracker: Tracker,
    rate: float,
    duration_s: float,
    cpu_start: CpuSnapshot,
    cpu_end: CpuSnapshot,
) -> dict[str, Any]:
    config = ctx.config
    n = tracker.count
    sent_ix = [i for i in range(n) if tracker.status[i] != _UNSENT]
    accepted_ix = [i for i in sent_ix if 200 <= tracker.status[i] < 300]
    repeated = sum(1 for i in accepted_ix if tracker.status[i] == 200)  # already received?!
    errors: dict[str, int] = {}
    for i in sent_ix:
        status = tracker.status[i]
        if not 200 <= status < 300:
            key = "no answer" if status == _TRANSPORT_ERROR else str(status)
            errors[key] = errors.get(key, 0) + 1
    delivered_ix = [i for i in accepted_ix if tracker.remaining[i] == 0]
    latencies = sorted(tracker.delivered_at[i] - tracker.due(i) for i in delivered_ix)
    from_send = sorted(tracker.delivered_at[i] - tracker.sent_at[i] for i in delivered_ix)
    answers = sorted(tracker.answered_at[i] - tracker.sent_at[i] for i in sent_ix)
    lags = sorted(tracker.sent_at[i] - tracker.due(i) for i in sent_ix)
    last_answer = max((tracker.answered_at[i] for i in sent_ix), default=tracker.t0)
    span = last_answer - tracker.t0
    lost = len(accepted_ix) - len(delivered_ix)
    unsent = n - len(sent_ix)
    p99 = _percentile(latencies, 0.99)
    failures = []
    if lost:
        failures.append(f"{lost} accepted messages never reached every entitled socket")
    if errors:
        failures.append(f"{sum(errors.values())} POSTs failed: {errors}")
    if unsent:
        failures.append(f"{unsent} messages were never sent (generator backlog at the end)")
    if tracker.misrouted:
        failures.append(f"{tracker.misrouted} events reached a socket not entitled to them")
    if p99 is None or p99 * 1000 > config.p99_target_ms:
        failures.append(f"p99 {_ms(p99)} ms is over the {config.p99_target_ms:g} ms target")
    return {
        "rate_per_s": rate,
        "duration_s": duration_s,
        "achieved_rate_per_s": round(len(accepted_ix) / span, 1) if span > 0 else None,
        "scheduled": n,
        "sent": len(sent_ix),
        "accepted": len(accepted_ix),
        "delivered": len(delivered_ix),
        "lost": lost,
        "errors": sum(errors.values()),
        "errors_by_status": errors,
        "unsent": unsent,
        "misrouted": tracker.misrouted,
        "duplicate_events": tracker.duplicates,
        "answered_200_already_received": repeated,
        "p50_ms": _ms(_percentile(latencies, 0.50)),
        "p90_ms": _ms(_percentile(latencies, 0.90)),
        "p99_ms": _ms(p99),
        "p999_ms": _ms(_percentile(latencies, 0.999)),
        "max_ms": _ms(latencies[-1] if latencies else None),
        "from_send_p50_ms": _ms(_percentile(from_send, 0.50)),
        "from_send_p99_ms": _ms(_percentile(from_send, 0.99)),
        "post_answer_p50_ms": _ms(_percentile(answers, 0.50)),
        "post_answer_p99_ms": _ms(_percentile(answers, 0.99)),
        "send_lag_p99_ms": _ms(_percentile(lags, 0.99)),
        "send_lag_max_ms": _ms(lags[-1] if lags else None),
        "passed": not failures,
        "failures": failures,
        "cpu": _cpu_report(cpu_start, cpu_end, len(accepted_ix)),
    }


# The whole benchmark ----------------------------------------------------------------------


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _advancer(progress: Progress, task: TaskID) -> Callable[[], None]:
    return lambda: progress.advance(task)


async def _warm_up(ctx: Context) -> None:
    """One message per conversation: each must land in its conversation and reach exactly
    the entitled sockets. Not measured."""
    conversations = len(ctx.fixture.conversation_ids)
    rate = min(WARM_UP_RATE, float(conversations) * 4)
    figures, tracker = await run_load(
        ctx,
        rate=rate,
        duration_s=conversations / rate,
        label="warm-up (checks routing)",
        keep_answers=True,
    )
    wrong = []
    for i in range(tracker.count):
        answer = tracker.answers[i]
        expected = ctx.fixture.conversation_ids[i % conversations]
        if tracker.status[i] != 201 or answer is None:
            wrong.append(f"message {i}: HTTP {tracker.status[i]} {(answer or b'')[:300]!r}")
            continue
        landed = json.loads(answer).get("conversation_id")
        if landed != expected:
            wrong.append(f"message {i} landed in conversation {landed}, expected {expected}")
    if wrong:
        raise BenchError(
            "inbound messages do not land in the assigned conversations:\n  "
            + "\n  ".join(wrong[:10])
        )
    if figures["delivered"] != tracker.count or figures["misrouted"]:
        raise BenchError(
            f"warm-up: {figures['delivered']}/{tracker.count} messages reached their sockets, "
            f"{figures['misrouted']} reached a socket not entitled to them "
            f"(socket closes: {ctx.fleet.closes})"
        )


async def _settle(ctx: Context) -> None:
    """Wait until the server is idle again (an earlier run may have left it busy)."""
    deadline = time.monotonic() + SETTLE_MAX_S
    while time.monotonic() < deadline:
        before = process_tree_cpu_s(ctx.server.pid)
        await asyncio.sleep(1.0)
        after = process_tree_cpu_s(ctx.server.pid)
        if before is None or after is None or after - before < SETTLED_SHARE:
            return


async def run_bench(config: BenchConfig, console: Console) -> dict[str, Any]:
    config.check()
    started = datetime.now(UTC)
    token = secrets.token_hex(4)
    with tempfile.TemporaryDirectory(prefix="omnidesk-bench-") as tmp:
        directory = Path(tmp)
        scratch = ScratchDatabase(config.database_url, directory)
        if config.redis_url:
            await check_redis(config.redis_url)
        server = ServerProcess(
            database_url=scratch.url,
            data_dir=directory / "data",
            log_path=directory / "server.log",
            redis_url=config.redis_url,
            redis_key_prefix=f"omnidesk-bench-{token}:",
            log_level=config.server_log_level,
            workers=config.server_processes,
        )
        fleet: Fleet | None = None
        pool: list[HttpConnection] = []
        progress = _progress(console)
        try:
            with progress:
                setup = progress.add_task("set-up: server and database", total=3)
                await scratch.create()
                progress.advance(setup)
                await server.start()
                progress.advance(setup)
                fixture = await _create_people(
                    scratch.url, token, config.agents, config.supervisors
                )
                progress.advance(setup)
                count = config.agents * config.conversations_per_agent
                task = progress.add_task("set-up: contacts and conversations", total=count)
                await _create_conversations(
                    fixture, server.port, token, count, config.agents, _advancer(progress, task)
                )
                await _create_rules(fixture, server.port, config.rules)
                task = progress.add_task("set-up: agent sockets", total=len(fixture.people))
                fleet = Fleet(server.base_url, fixture.people, config.ws_compression)
                await fleet.open(_advancer(progress, task))
                headers = {"Authorization": f"Bearer {fixture.api_token}"}
                pool = [
                    HttpConnection(
                        LOOPBACK, server.port, headers=headers, timeout_s=REQUEST_TIMEOUT_S
                    )
                    for _ in range(config.max_in_flight)
                ]
                ctx = Context(config, scratch, server, fixture, fleet, pool, token, progress)
                await _warm_up(ctx)
                # The generator's own collector pauses would be counted as the server's latency.
                tune_for_latency()
                await _settle(ctx)
                main, _ = await run_load(
                    ctx,
                    rate=config.rate,
                    duration_s=config.duration_s,
                    label=f"run: {config.rate:g} msg/s for {config.duration_s:g}s",
                )
                steps: list[dict[str, Any]] = []
                if config.find_max:
                    for rate in FIND_MAX_RATES:
                        await _settle(ctx)
                        seconds = round(max(config.step_duration_s, MIN_STEP_MESSAGES / rate), 1)
                        step, _ = await run_load(
                            ctx,
                            rate=rate,
                            duration_s=seconds,
                            label=f"find-max: {rate} msg/s for {seconds:g}s",
                        )
                        steps.append(step)
                        if not step["passed"]:
                            break
                server_alive = server.process is not None and server.process.returncode is None
                if not server_alive:
                    raise BenchError(f"the server died during the run:\n{server.tail()}")
        finally:
            if fleet is not None:
                await fleet.close()
            for conn in pool:
                await conn.close()
            await server.stop()
            await scratch.drop()
    return _report(config, started, main, steps, fleet, console)


def _report(
    config: BenchConfig,
    started: datetime,
    main: dict[str, Any],
    steps: list[dict[str, Any]],
    fleet: Fleet,
    console: Console,
) -> dict[str, Any]:
    notes = [
        "latency (p50_ms…max_ms): from the message's scheduled send time (open loop) to its "
        "receipt by the last entitled socket; from_send_* start when the POST was actually "
        "written, send_lag_* is the difference (waiting for one of max_in_flight connections)",
        "achieved_rate_per_s: accepted messages / time from the first scheduled send to the "
        "last answer",
    ]
    if config.find_max:
        passing = []
        for step in steps:
            if not step["passed"]:
                break
            passing.append(step["rate_per_s"])
        max_sustained = max(passing) if passing else None
        top = FIND_MAX_RATES[len(steps) - 1] if steps else None
        if steps and steps[-1]["passed"]:
            notes.append(f"find-max: every step passed, up to {top} msg/s (the last step tried)")
        elif steps:
            notes.append(
                f"find-max: {top} msg/s failed ({'; '.join(steps[-1]['failures'])}); "
                f"each step lasted max({config.step_duration_s:g}s, "
                f"{MIN_STEP_MESSAGES} messages)"
            )
    else:
        max_sustained = config.rate if main["passed"] else None
        notes.append(
            "max_sustained_per_s is the target rate when it passed, null otherwise: "
            "run with --find-max to search for the maximum"
        )
    if not main["passed"]:
        notes.append("the target was NOT met: " + "; ".join(main["failures"]))
    for label, run in [("the target run", main), *(("a find-max step", s) for s in steps)]:
        other = run["cpu"].get("other_processes_s")
        if other is not None and other > INTERFERENCE_SHARE * run["cpu"]["wall_s"]:
            notes.append(
                f"during {label} ({run['rate_per_s']:g}/s) other processes used "
                f"{100 * other / run['cpu']['wall_s']:.0f}% of a core: its figures are "
                "pessimistic"
            )
    return {
        "bench": "messages",
        "started_at": started.isoformat(timespec="seconds"),
        "database": "postgresql" if config.database_url else "sqlite",
        "broker": "redis" if config.redis_url else "memory",
        "agents": config.agents,
        "supervisors": config.supervisors,
        "conversations": config.agents * config.conversations_per_agent,
        "max_in_flight": config.max_in_flight,
        "ws_compression": config.ws_compression,
        "body_chars": config.body_chars,
        "rules": config.rules,
        "p99_target_ms": config.p99_target_ms,
        **main,
        "max_sustained_per_s": max_sustained,
        "steps": steps,
        "sockets": {
            "reconnects": fleet.reconnects,
            "closes": fleet.closes,
            "frames_received": fleet.frames,
            "unreadable_frames": fleet.bad_frames,
        },
        "machine": machine_info(),
        "notes": notes,
    }


def print_table(report: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"omnidesk bench messages — {report['database']} + {report['broker']} broker",
        show_header=True,
    )
    table.add_column("run")
    for name in ("rate/s", "achieved/s", "sent", "delivered", "lost", "errors"):
        table.add_column(name, justify="right")
    for name in ("p50 ms", "p99 ms", "max ms", "server CPU", "generator CPU", "passed"):
        table.add_column(name, justify="right")

    def row(label: str, run: dict[str, Any]) -> None:
        cpu = run["cpu"]
        table.add_row(
            label,
            f"{run['rate_per_s']:g}",
            str(run["achieved_rate_per_s"]),
            str(run["sent"]),
            str(run["delivered"]),
            str(run["lost"]),
            str(run["errors"]),
            str(run["p50_ms"]),
            str(run["p99_ms"]),
            str(run["max_ms"]),
            f"{cpu['server_pct_of_core']}%",
            f"{cpu['generator_pct_of_core']}%",
            "yes" if run["passed"] else "[red]no[/red]",
        )

    row(f"target ({report['duration_s']:g}s)", report)
    for step in report["steps"]:
        row(f"find-max ({step['duration_s']:g}s)", step)
    console.print(table)
    machine = report["machine"]
    console.print(
        f"agents {report['agents']}, supervisors {report['supervisors']}, "
        f"max sustained {report['max_sustained_per_s']} msg/s; "
        f"{machine['cores']} cores, Python {machine['python']}"
    )
    for note in report["notes"]:
        console.print(f"• {note}")
