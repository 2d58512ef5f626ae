"""The job runner: claims, backoff, dead letters, leases, wake-ups and concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from omnidesk.accounts.models import Team
from omnidesk.channels.base import DeliveryFailed
from omnidesk.events.models import Event
from omnidesk.jobs import timers
from omnidesk.jobs.models import Job
from omnidesk.jobs.runner import JobContext, JobRunner, PermanentJobError
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.settings import Settings
from tests.conftest import PG_URL, Tenant
from tests.jobs.conftest import add_job


async def _job(db: Database, job_id: int) -> Job:
    async with db.sessionmaker() as session:
        job = await session.get(Job, job_id)
    assert job is not None
    return job


class Recorder:
    """A handler that records the jobs it ran and fails as told."""

    def __init__(self, error: Exception | None = None) -> None:
        self.ran: list[tuple[int, int]] = []
        self.dead: list[int] = []
        self.error = error

    async def __call__(self, ctx: JobContext, job: Job) -> None:
        self.ran.append((job.id, job.attempts))
        if self.error is not None:
            raise self.error

    async def on_dead(self, ctx: JobContext, job: Job) -> None:
        self.dead.append(job.id)


def make_runner(
    db: Database, settings: Settings, clock: FrozenClock, handler: Recorder | None = None
) -> JobRunner:
    runner = JobRunner(db, settings, clock, seed=7)
    if handler is not None:
        runner.register("test.work", handler, on_dead=handler.on_dead)
    return runner


async def test_a_due_job_runs_once_and_is_done(
    db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    handler = Recorder()
    runner = make_runner(db, settings, frozen, handler)
    job_id = await add_job(db, frozen, "a")
    assert await runner.run_once() == 1
    assert await runner.run_once() == 0
    assert handler.ran == [(job_id, 1)]
    job = await _job(db, job_id)
    assert (job.status, job.attempts, job.locked_until) == ("done", 1, None)
    assert job.finished_at == frozen.now()


async def test_failures_back_off_exponentially_then_go_dead(
    db: Database, settings: Settings, frozen: FrozenClock, tenant: Tenant
) -> None:
    handler = Recorder(RuntimeError("provider is down"))
    runner = make_runner(db, settings, frozen, handler)
    job_id = await add_job(db, frozen, "a", account_id=tenant.account_id)

    assert await runner.run_once() == 1
    job = await _job(db, job_id)
    assert (job.status, job.attempts) == ("pending", 1)
    assert job.last_error == "RuntimeError: provider is down"
    first_delay = (job.due_at - frozen.now()).total_seconds()
    assert 8 <= first_delay <= 12  # base 10 s, ±20 %
    assert await runner.run_once() == 0  # not due yet

    frozen.advance(first_delay)
    assert await runner.run_once() == 1
    job = await _job(db, job_id)
    assert 16 <= (job.due_at - frozen.now()).total_seconds() <= 24  # 20 s, ±20 %

    frozen.advance(30)
    assert await runner.run_once() == 1  # the third and last attempt
    job = await _job(db, job_id)
    assert (job.status, job.attempts) == ("dead", 3)
    assert job.finished_at == frozen.now()
    assert handler.dead == [job_id]
    assert [attempt for _, attempt in handler.ran] == [1, 2, 3]

    frozen.advance(3600)
    assert await runner.run_once() == 0
    async with db.sessionmaker() as session:
        events = (
            await session.scalars(select(Event).where(Event.type == "job.dead_lettered"))
        ).all()
    assert len(events) == 1
    assert events[0].audience == "supervisors"
    assert events[0].account_id == tenant.account_id
    assert events[0].data == {
        "job_id": job_id,
        "kind": "test.work",
        "attempts": 3,
        "error": "RuntimeError: provider is down",
    }


def test_backoff_doubles_is_capped_and_jittered(
    db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    runner = make_runner(db, settings, frozen)
    delays = {n: [runner.backoff(n) for _ in range(200)] for n in (1, 2, 3, 10, 100_000)}
    assert all(8 <= d <= 12 for d in delays[1])
    assert all(16 <= d <= 24 for d in delays[2])
    for n in (3, 10, 100_000):  # capped at backoff_max_s=25
        assert all(20 <= d <= 30 for d in delays[n])
    assert len(set(delays[1])) > 100  # jittered, not constant


@pytest.mark.parametrize(
    "error",
    [PermanentJobError("bad payload"), DeliveryFailed("400 from provider", permanent=True)],
)
async def test_permanent_errors_go_dead_at_once(
    db: Database, settings: Settings, frozen: FrozenClock, error: Exception
) -> None:
    handler = Recorder(error)
    runner = make_runner(db, settings, frozen, handler)
    job_id = await add_job(db, frozen, "a")
    await runner.run_once()
    job = await _job(db, job_id)
    assert (job.status, job.attempts) == ("dead", 1)
    assert str(error) in (job.last_error or "")
    assert handler.dead == [job_id]


async def test_a_transient_delivery_failure_is_retried(
    db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    runner = make_runner(db, settings, frozen, Recorder(DeliveryFailed("connection refused")))
    job_id = await add_job(db, frozen, "a")
    await runner.run_once()
    assert (await _job(db, job_id)).status == "pending"


async def test_a_handlers_writes_commit_with_its_success_only(
    db: Database, settings: Settings, frozen: FrozenClock, tenant: Tenant
) -> None:
    async def writes(ctx: JobContext, job: Job) -> None:
        ctx.session.add(
            Team(account_id=tenant.account_id, name=job.idempotency_key, created_at=ctx.clock.now())
        )
        await ctx.session.flush()
        if job.payload.get("fail"):
            raise RuntimeError("after writing")

    runner = JobRunner(db, settings, frozen)
    runner.register("test.work", writes)
    await add_job(db, frozen, "kept")
    await add_job(db, frozen, "rolled-back", payload={"fail": True})
    assert await runner.run_once() == 2
    async with db.sessionmaker() as session:
        names = (await session.scalars(select(Team.name))).all()
    assert names == ["kept"]


async def test_unknown_kinds_are_left_for_a_runner_that_knows_them(
    db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    runner = make_runner(db, settings, frozen, Recorder())
    job_id = await add_job(db, frozen, "a", kind="someone.else")
    assert await runner.run_once() == 0
    assert (await _job(db, job_id)).status == "pending"


async def test_timers_fire_when_due_and_cancelled_ones_never(
    db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    handler = Recorder()
    runner = make_runner(db, settings, frozen, handler)
    later = frozen.now() + timedelta(hours=1)
    async with db.transaction() as session:
        fires = await timers.schedule(
            session, frozen, kind="test.work", key="fires", due_at=later, payload={}
        )
        moved = await timers.schedule(
            session, frozen, kind="test.work", key="moved", due_at=later, payload={}
        )
        await timers.schedule(
            session, frozen, kind="test.work", key="cancelled", due_at=later, payload={}
        )
    async with db.transaction() as session:
        assert await timers.cancel(session, key="cancelled") == 1
        moved = await timers.schedule(
            session,
            frozen,
            kind="test.work",
            key="moved",
            due_at=later + timedelta(hours=1),
            payload={},
        )

    assert await runner.run_once() == 0
    frozen.advance(timedelta(minutes=59))
    assert await runner.run_once() == 0
    frozen.advance(timedelta(minutes=1))
    assert await runner.run_once() == 1
    assert [job_id for job_id, _ in handler.ran] == [fires.id]
    frozen.advance(timedelta(days=1))
    assert await runner.run_once() == 1
    assert [job_id for job_id, _ in handler.ran] == [fires.id, moved.id]
    frozen.advance(timedelta(days=30))
    assert await runner.run_once() == 0


async def _crash_mid_attempt(db: Database, job_id: int, attempts: int, until: datetime) -> None:
    """What a worker that died after its claim leaves behind."""
    async with db.transaction() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status="running", attempts=attempts, locked_until=until)
        )


async def test_a_crashed_workers_job_is_claimed_again_after_its_lease(
    db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    handler = Recorder()
    runner = make_runner(db, settings, frozen, handler)
    job_id = await add_job(db, frozen, "a")
    await _crash_mid_attempt(db, job_id, 1, frozen.now() + timedelta(seconds=30))

    assert await runner.run_once() == 0  # the lease still holds
    frozen.advance(31)
    assert await runner.run_once() == 1
    assert handler.ran == [(job_id, 2)]
    assert (await _job(db, job_id)).status == "done"


async def test_a_lease_lost_on_the_last_attempt_dead_letters(
    db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    handler = Recorder()
    runner = make_runner(db, settings, frozen, handler)
    job_id = await add_job(db, frozen, "a")
    await _crash_mid_attempt(db, job_id, 3, frozen.now() - timedelta(seconds=1))
    assert await runner.run_once() == 0
    job = await _job(db, job_id)
    assert job.status == "dead"
    assert "lease expired" in (job.last_error or "")
    assert handler.ran == []
    assert handler.dead == [job_id]


@pytest.fixture
async def second_db(database_url: str) -> AsyncIterator[Database]:
    """Another engine on the same database: a second worker process, as far as it can tell."""
    other = Database(database_url)
    yield other
    await other.dispose()


async def test_a_late_finisher_cannot_overwrite_the_takeover(
    db: Database, second_db: Database, settings: Settings, frozen: FrozenClock, tenant: Tenant
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(ctx: JobContext, job: Job) -> None:
        entered.set()
        await release.wait()  # hung past its lease; no transaction is open meanwhile
        ctx.session.add(Team(account_id=tenant.account_id, name="late", created_at=frozen.now()))

    async def quick(ctx: JobContext, job: Job) -> None:
        ctx.session.add(
            Team(account_id=tenant.account_id, name="takeover", created_at=frozen.now())
        )

    stuck = JobRunner(db, settings, frozen)
    stuck.register("test.work", slow)
    rescuer = JobRunner(second_db, settings, frozen)
    rescuer.register("test.work", quick)
    job_id = await add_job(db, frozen, "a")

    first = asyncio.create_task(stuck.run_once())
    await asyncio.wait_for(entered.wait(), 5)
    frozen.advance(31)
    assert await rescuer.run_once() == 1
    release.set()
    await first

    job = await _job(db, job_id)
    assert (job.status, job.attempts) == ("done", 2)
    async with db.sessionmaker() as session:
        assert (await session.scalars(select(Team.name))).all() == ["takeover"]


async def test_graceful_stop_leaves_unfinished_jobs_to_lease_expiry(
    db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    entered = asyncio.Event()

    async def forever(ctx: JobContext, job: Job) -> None:
        entered.set()
        await asyncio.Event().wait()

    runner = JobRunner(db, settings, frozen)
    runner.register("test.work", forever)
    await runner.start()
    try:
        job_id = await add_job(db, frozen, "a")
        await asyncio.wait_for(entered.wait(), 5)
    finally:
        await runner.stop(timeout_s=0.05)
    assert not runner.running
    job = await _job(db, job_id)
    assert job.status == "running"
    assert job.locked_until == frozen.now() + timedelta(seconds=30)

    handler = Recorder()
    successor = make_runner(db, settings, frozen, handler)
    assert await successor.run_once() == 0
    frozen.advance(31)
    assert await successor.run_once() == 1
    assert (await _job(db, job_id)).status == "done"


async def test_graceful_stop_lets_running_handlers_finish(
    db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    entered = asyncio.Event()

    async def brief(ctx: JobContext, job: Job) -> None:
        entered.set()
        await asyncio.sleep(0.2)

    runner = JobRunner(db, settings, frozen)
    runner.register("test.work", brief)
    await runner.start()
    job_id = await add_job(db, frozen, "a")
    await asyncio.wait_for(entered.wait(), 5)
    await runner.stop(timeout_s=5)
    assert (await _job(db, job_id)).status == "done"


async def test_a_commit_wakes_the_runner_before_the_next_poll(
    db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    slow_poll = settings.model_copy(
        update={"jobs": settings.jobs.model_copy(update={"poll_interval_s": 3600})}
    )
    done = asyncio.Event()

    async def handler(ctx: JobContext, job: Job) -> None:
        done.set()

    runner = JobRunner(db, slow_poll, frozen)
    runner.register("test.work", handler)
    await runner.start()
    try:
        await asyncio.sleep(0.1)  # the first claim found nothing; now it sleeps for an hour
        await add_job(db, frozen, "a")
        await asyncio.wait_for(done.wait(), 5)
    finally:
        await runner.stop()


async def test_the_loop_polls_for_timers_that_become_due(
    db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    done = asyncio.Event()

    async def handler(ctx: JobContext, job: Job) -> None:
        done.set()

    runner = JobRunner(db, settings, frozen)
    runner.register("test.work", handler)
    await add_job(db, frozen, "a", due_at=frozen.now() + timedelta(minutes=5))
    await runner.start()
    try:
        await asyncio.sleep(0.2)
        assert not done.is_set()
        frozen.advance(timedelta(minutes=5))  # no commit wakes it: the poll must find it
        await asyncio.wait_for(done.wait(), 5)
    finally:
        await runner.stop()


async def test_concurrency_is_bounded(
    db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    two = settings.model_copy(update={"jobs": settings.jobs.model_copy(update={"concurrency": 2})})
    gate = asyncio.Event()
    active: list[int] = []
    most = 0
    finished: list[int] = []

    async def handler(ctx: JobContext, job: Job) -> None:
        nonlocal most
        active.append(job.id)
        most = max(most, len(active))
        await gate.wait()
        active.remove(job.id)
        finished.append(job.id)

    runner = JobRunner(db, two, frozen)
    runner.register("test.work", handler)
    for n in range(5):
        await add_job(db, frozen, f"job-{n}")
    await runner.start()
    try:
        for _ in range(100):
            if len(active) == 2:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # time enough to (wrongly) start more
        assert most == 2
        gate.set()
        for _ in range(500):
            if len(finished) == 5:
                break
            await asyncio.sleep(0.01)
    finally:
        await runner.stop()
    assert len(finished) == 5
    assert most == 2


async def test_concurrent_runners_never_run_a_job_twice(
    db: Database, second_db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    ran: list[int] = []

    async def handler(ctx: JobContext, job: Job) -> None:
        ran.append(job.id)
        await asyncio.sleep(0.005)

    runners = []
    for database in (db, second_db, db, second_db):
        runner = JobRunner(database, settings, frozen)
        runner.register("test.work", handler)
        runners.append(runner)
    ids = [await add_job(db, frozen, f"job-{n}") for n in range(40)]

    async def drain(runner: JobRunner) -> None:
        while await runner.run_once():
            pass

    await asyncio.gather(*(drain(r) for r in runners))
    assert sorted(ran) == sorted(ids)  # each exactly once
    async with db.sessionmaker() as session:
        statuses = (await session.scalars(select(Job.status))).all()
    assert set(statuses) == {"done"}


@pytest.mark.skipif(
    not PG_URL, reason="SKIP LOCKED is PostgreSQL's; SQLite serialises claims with BEGIN IMMEDIATE"
)
async def test_postgres_claims_skip_rows_another_worker_is_claiming(
    db: Database, second_db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    handler = Recorder()
    runner = make_runner(second_db, settings, frozen, handler)
    locked_id = await add_job(db, frozen, "locked")
    free_id = await add_job(db, frozen, "free")
    async with db.sessionmaker() as session, session.begin():
        # Another worker is in the middle of claiming this row.
        await session.execute(select(Job).where(Job.id == locked_id).with_for_update())
        assert await asyncio.wait_for(runner.run_once(), 5) == 1  # did not wait for the lock
    assert handler.ran == [(free_id, 1)]
    assert await runner.run_once() == 1
    assert handler.ran == [(free_id, 1), (locked_id, 1)]


def test_a_kind_is_registered_once(db: Database, settings: Settings) -> None:
    runner = JobRunner(db, settings, FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)))
    runner.register("test.work", Recorder())
    with pytest.raises(ValueError, match="already registered"):
        runner.register("test.work", Recorder())


async def test_a_running_handler_keeps_its_lease_and_runs_once(
    db: Database, second_db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    runs: list[int] = []

    async def slow(ctx: JobContext, job: Job) -> None:
        runs.append(job.attempts)
        entered.set()
        await release.wait()  # a provider that takes longer than the lease

    worker = JobRunner(db, settings, frozen)
    worker.register("test.work", slow)
    other = JobRunner(second_db, settings, frozen)
    other.register("test.work", slow)
    job_id = await add_job(db, frozen, "a")

    first = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(entered.wait(), 5)
    for _ in range(3):  # three leases long, renewed as the running runner does
        frozen.advance(settings.jobs.lease_s - 1)
        assert await worker.renew_leases() == 1
        frozen.advance(2)
        assert await other.run_once() == 0
        assert await worker.run_once() == 0  # nor does the runner itself start it again
    release.set()
    await first

    job = await _job(db, job_id)
    assert (job.status, job.attempts, runs) == ("done", 1, [1])
    assert await worker.renew_leases() == 0  # nothing left to renew


async def test_a_renewal_does_not_win_back_a_job_taken_over(
    db: Database, second_db: Database, settings: Settings, frozen: FrozenClock
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(ctx: JobContext, job: Job) -> None:
        entered.set()
        await release.wait()

    stuck = JobRunner(db, settings, frozen)
    stuck.register("test.work", slow)
    rescuer = make_runner(second_db, settings, frozen, Recorder())
    job_id = await add_job(db, frozen, "a")
    first = asyncio.create_task(stuck.run_once())
    await asyncio.wait_for(entered.wait(), 5)
    frozen.advance(settings.jobs.lease_s + 1)  # its renewals failed meanwhile
    assert await rescuer.run_once() == 1
    assert await stuck.renew_leases() == 0  # attempt 1 is not the job's attempt any more
    release.set()
    await first
    assert (await _job(db, job_id)).attempts == 2
