"""The job runner: claims due jobs, runs their handlers, retries with backoff, dead-letters.

Delivery is at least once. A claim marks a job ``running`` with a lease (``locked_until``)
and bumps ``attempts``; a worker that dies leaves the lease to expire, after which any
runner takes the job over. ``attempts`` doubles as a fencing token, so the outcome of an
attempt whose lease was taken over is discarded (see ``repository.settle``).

On PostgreSQL the claim is ``SELECT … FOR UPDATE SKIP LOCKED``, so any number of
``omnidesk worker`` processes share the table safely. On SQLite every transaction is
``BEGIN IMMEDIATE`` (see ``kit/db.py``), which serialises claims just as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.events import service as events
from omnidesk.jobs import outbox
from omnidesk.jobs import repository as repo
from omnidesk.jobs.models import Job
from omnidesk.kit.clock import Clock
from omnidesk.kit.db import Database
from omnidesk.kit.security import SecretBox
from omnidesk.kit.storage import LocalStorage, Storage
from omnidesk.settings import Settings

log = structlog.get_logger(__name__)

JOB_OUTCOMES = Counter("omnidesk_jobs_total", "Job attempts by outcome", ["kind", "outcome"])

#: Keep backoff arithmetic finite however large max_attempts is.
_MAX_EXPONENT = 60
#: Never spin: the shortest pause between two claims when something is already due.
_MIN_PAUSE_S = 0.05
_ERROR_LIMIT = 2000


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help: the job goes straight to dead."""

    permanent = True


@dataclass(frozen=True)
class JobContext:
    """What a handler gets besides its job.

    ``session`` is the handler's unit of work, committed together with the job's "done"
    mark, so a handler's writes and its completion are atomic. Its transaction begins on
    first use: do slow I/O (an HTTP call) *before* touching it, or open a short
    transaction of your own with ``db``, so that no database lock is held meanwhile.
    """

    db: Database
    clock: Clock
    settings: Settings
    secret_box: SecretBox
    session: AsyncSession
    #: Where attachments live (the app's storage).
    storage: Storage


Handler = Callable[[JobContext, Job], Awaitable[None]]


@dataclass(frozen=True)
class _Registration:
    handler: Handler
    #: Runs in the transaction that marks the job dead (e.g. mark the message failed).
    on_dead: Handler | None


class _LeaseLost(Exception):
    """Another runner took the job over after our lease expired; our result is void."""


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:_ERROR_LIMIT]


def _is_permanent(exc: BaseException) -> bool:
    # Duck-typed so that jobs need not import channels: DeliveryFailed(permanent=True) and
    # PermanentJobError both carry the flag.
    return getattr(exc, "permanent", False) is True


class JobRunner:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        handlers: Mapping[str, Handler] | None = None,
        *,
        secret_box: SecretBox | None = None,
        storage: Storage | None = None,
        seed: int | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.secret_box = secret_box or SecretBox(settings.secret_key.get_secret_value())
        self.storage = storage or LocalStorage(settings.attachments_dir)
        self._registry: dict[str, _Registration] = {}
        for kind, handler in (handlers or {}).items():
            self.register(kind, handler)
        self._rng = random.Random(seed)
        self._tasks: set[asyncio.Task[None]] = set()
        #: The attempts this runner is running (job id → attempt), whose leases it renews.
        self._running: dict[int, int] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._renew_task: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Event | None = None
        self._stopping = False

    # Configuration --------------------------------------------------------------------

    def register(self, kind: str, handler: Handler, *, on_dead: Handler | None = None) -> None:
        if kind in self._registry:
            raise ValueError(f"a handler for {kind!r} is already registered")
        self._registry[kind] = _Registration(handler, on_dead)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._registry)

    def backoff(self, attempts: int) -> float:
        """Seconds before retry number ``attempts``: doubling, capped, with ±20 % jitter."""
        jobs = self.settings.jobs
        exponent = min(max(attempts - 1, 0), _MAX_EXPONENT)
        delay = min(jobs.backoff_max_s, jobs.backoff_base_s * 2.0**exponent)
        # Jitter spreads out retries of jobs that failed together (a provider outage).
        return delay * self._rng.uniform(0.8, 1.2)

    # Running --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._loop_task is not None

    async def start(self) -> None:
        if self._loop_task is not None:
            return
        self._stopping = False
        self._wakeup = asyncio.Event()
        outbox.add_waker(self.wake)
        self._loop_task = asyncio.create_task(self._loop(), name="omnidesk-job-runner")
        self._renew_task = asyncio.create_task(self._renew_loop(), name="omnidesk-job-leases")
        log.info("job_runner_started", kinds=sorted(self._registry))

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop claiming, give running handlers ``timeout_s``, then cancel the rest.

        A cancelled handler's transaction rolls back and its job stays ``running`` until
        its lease expires; then any runner claims it again.
        """
        if self._loop_task is None:
            return
        self._stopping = True
        outbox.remove_waker(self.wake)
        self.wake()
        await self._loop_task
        self._loop_task = None
        if self._tasks:
            _, unfinished = await asyncio.wait(set(self._tasks), timeout=timeout_s)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
            if unfinished:
                log.warning("job_runner_abandoned", jobs=len(unfinished))
        if self._renew_task is not None:
            self._renew_task.cancel()
            await asyncio.gather(self._renew_task, return_exceptions=True)
            self._renew_task = None
        log.info("job_runner_stopped")

    def wake(self) -> None:
        """Claim now rather than at the next poll (called after a commit added due work)."""
        if self._wakeup is not None:
            self._wakeup.set()

    async def run_once(self) -> int:
        """Claim one batch of due jobs, run them all, return how many ran (for tests)."""
        jobs, _ = await self._claim(self.settings.jobs.concurrency)
        await asyncio.gather(*(self._run(job) for job in jobs))
        return len(jobs)

    async def _loop(self) -> None:
        assert self._wakeup is not None
        poll = self.settings.jobs.poll_interval_s
        while not self._stopping:
            # Cleared before claiming: a wake-up that arrives during the claim is kept.
            self._wakeup.clear()
            pause = poll
            free = self.settings.jobs.concurrency - len(self._tasks)
            if free > 0:
                try:
                    jobs, wake_at = await self._claim(free)
                except Exception:
                    log.exception("job_claim_failed")
                    jobs, wake_at = [], None
                for job in jobs:
                    self._spawn(job)
                if wake_at is not None:
                    until = (wake_at - self.clock.now()).total_seconds()
                    pause = min(poll, max(until, _MIN_PAUSE_S))
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=pause)

    async def renew_leases(self) -> int:
        """Push back the lease of every attempt still running here; returns how many this
        runner still owns. Without it, a handler slower than its lease (a provider that
        takes its time) would be claimed again and run twice."""
        if not self._running:
            return 0
        until = self.clock.now() + timedelta(seconds=self.settings.jobs.lease_s)
        owned = 0
        async with self.db.transaction() as session:
            for job_id, attempt in sorted(self._running.items()):
                owned += await repo.settle(session, job_id, attempt, locked_until=until)
        return owned

    async def _renew_loop(self) -> None:
        # A third of the lease: two renewals may fail (a busy database) before it expires.
        every = self.settings.jobs.lease_s / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self.renew_leases()
            except Exception:
                log.exception("job_lease_renewal_failed", jobs=len(self._running))

    def _spawn(self, job: Job) -> None:
        task = asyncio.create_task(self._run(job), name=f"job-{job.id}-{job.kind}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.wake()  # a slot is free

    def _context(self, session: AsyncSession) -> JobContext:
        return JobContext(
            self.db, self.clock, self.settings, self.secret_box, session, self.storage
        )

    # One claim, one attempt ------------------------------------------------------------

    async def _claim(self, limit: int) -> tuple[list[Job], datetime | None]:
        now = self.clock.now()
        lease_until = now + timedelta(seconds=self.settings.jobs.lease_s)
        claimed: list[Job] = []
        async with self.db.transaction() as session:
            rows = await repo.select_claimable(
                session,
                now=now,
                kinds=self.kinds,
                limit=limit,
                skip_locked=not self.db.is_sqlite,
            )
            for job in rows:
                if job.id in self._running:
                    continue  # ours, still running: its lease lapsed, the work did not
                if job.status == "running" and job.attempts >= self.settings.jobs.max_attempts:
                    # Its worker died during the last attempt: do not try a poison job again.
                    await self._bury(session, job, "the lease expired during the last attempt")
                    continue
                job.status = "running"
                job.attempts += 1
                job.locked_until = lease_until
                claimed.append(job)
            await session.flush()
            wake_at = await repo.next_wake_at(session, kinds=self.kinds)
        return claimed, wake_at

    async def _run(self, job: Job) -> None:
        registration = self._registry[job.kind]
        attempt = job.attempts
        bound = log.bind(job_id=job.id, kind=job.kind, attempt=attempt)
        self._running[job.id] = attempt
        try:
            await self._attempt(registration, job, attempt, bound)
        finally:
            if self._running.get(job.id) == attempt:
                del self._running[job.id]

    async def _attempt(
        self, registration: _Registration, job: Job, attempt: int, bound: Any
    ) -> None:
        try:
            async with self.db.transaction() as session:
                await registration.handler(self._context(session), job)
                finished = await repo.settle(
                    session,
                    job.id,
                    attempt,
                    status="done",
                    finished_at=self.clock.now(),
                    locked_until=None,
                )
                if not finished:
                    raise _LeaseLost
        except _LeaseLost:
            bound.warning("job_lease_lost")
            JOB_OUTCOMES.labels(job.kind, "lease_lost").inc()
            return
        except Exception as exc:
            await self._failed(job, attempt, exc)
            return
        JOB_OUTCOMES.labels(job.kind, "done").inc()
        bound.debug("job_done")

    async def _failed(self, job: Job, attempt: int, exc: Exception) -> None:
        error = _describe(exc)
        now = self.clock.now()
        dead = _is_permanent(exc) or attempt >= self.settings.jobs.max_attempts
        bound = log.bind(job_id=job.id, kind=job.kind, attempt=attempt, error=error)
        try:
            async with self.db.transaction() as session:
                if dead:
                    if await repo.settle(
                        session,
                        job.id,
                        attempt,
                        status="dead",
                        finished_at=now,
                        locked_until=None,
                        last_error=error,
                    ):
                        job.status, job.last_error, job.finished_at = "dead", error, now
                        await self._dead_lettered(session, job)
                    return
                delay = self.backoff(attempt)
                await repo.settle(
                    session,
                    job.id,
                    attempt,
                    status="pending",
                    due_at=now + timedelta(seconds=delay),
                    locked_until=None,
                    last_error=error,
                )
                bound.warning("job_failed", retry_in_s=round(delay, 3))
                JOB_OUTCOMES.labels(job.kind, "retry").inc()
        except Exception:
            # Nothing recorded: the lease expires and the job is tried again.
            bound.exception("job_settle_failed")

    async def _bury(self, session: AsyncSession, job: Job, error: str) -> None:
        job.status = "dead"
        job.finished_at = self.clock.now()
        job.locked_until = None
        job.last_error = error
        await session.flush()
        await self._dead_lettered(session, job)

    async def _dead_lettered(self, session: AsyncSession, job: Job) -> None:
        log.error("job_dead", job_id=job.id, kind=job.kind, error=job.last_error)
        JOB_OUTCOMES.labels(job.kind, "dead").inc()
        if job.account_id is not None:
            await events.record(
                session,
                account_id=job.account_id,
                type="job.dead_lettered",
                audience="supervisors",
                data={
                    "job_id": job.id,
                    "kind": job.kind,
                    "attempts": job.attempts,
                    "error": job.last_error,
                },
                clock=self.clock,
            )
        registration = self._registry.get(job.kind)
        if registration is None or registration.on_dead is None:
            return
        try:
            # A savepoint: a failing hook must not keep the job from being dead-lettered.
            async with session.begin_nested():
                await registration.on_dead(self._context(session), job)
        except Exception:
            log.exception("job_on_dead_failed", job_id=job.id, kind=job.kind)
