"""Wiring: builds the container of long-lived services and starts and stops them.

One place decides which implementations run: the in-memory or Redis broker, the embedded
job runner or none (when `omnidesk worker` processes do the work), the embedded router or
none (when `omnidesk router` processes route). ``run_alone`` runs such a process of its own.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import structlog
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from omnidesk.accounts.cache import TokenCache
from omnidesk.automation import tasks as automation_tasks
from omnidesk.channels import delivery as channel_delivery
from omnidesk.channels.email.transport import EmailTransport
from omnidesk.conversations import tasks as conversation_tasks
from omnidesk.conversations.inbound import InboundWriter
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import Clock, SystemClock
from omnidesk.kit.db import Database, create_null_pool_engine
from omnidesk.kit.lease import lease_for
from omnidesk.kit.migrate import alembic_config
from omnidesk.kit.ratelimit import RateLimiter, make_rate_limiter
from omnidesk.kit.security import SecretBox
from omnidesk.kit.storage import LocalStorage, Storage
from omnidesk.realtime.backends import make_broker
from omnidesk.realtime.broker import Broker
from omnidesk.realtime.hub import Hub
from omnidesk.realtime.liveness import SignsOfLife
from omnidesk.realtime.viewers import MemoryViewers, ViewerStore
from omnidesk.realtime.viewers import make_store as make_viewer_store
from omnidesk.routing import live_stats, liveness
from omnidesk.routing.router import LEASE_NAME, RouterRuntime
from omnidesk.settings import Settings
from omnidesk.sla import tasks as sla_tasks

log = structlog.get_logger(__name__)

#: Exit status of a process of its own when the schema is behind the code: it migrates
#: nothing, `omnidesk migrate` comes first.
EXIT_SCHEMA_OUTDATED = 3


@dataclass
class Container:
    settings: Settings
    clock: Clock
    db: Database
    rate_limiter: RateLimiter
    token_cache: TokenCache
    secret_box: SecretBox
    storage: Storage
    # --- realtime (broker + hub) -------------------------------------------------------
    broker: Broker | None = None
    hub: Hub | None = None
    # --- jobs (outbox + timers) ----------------------------------------------------------
    jobs: JobRunner | None = None
    # --- inbound (customers' messages, group-committed) ---------------------------------
    inbound: InboundWriter | None = None
    # --- routing (the router feeding agents their work) ---------------------------------
    router: RouterRuntime | None = None
    # --- email (SMTP listener, IMAP pollers) --------------------------------------------
    email: EmailTransport | None = None
    # --- collision presence (who views or types in a conversation) ----------------------
    viewers: ViewerStore = field(default_factory=MemoryViewers)


def build_container(
    settings: Settings,
    *,
    clock: Clock | None = None,
    run_router: bool | None = None,
    router_shards: Collection[int] | None = None,
) -> Container:
    """``run_router`` (default: ``routing.embedded``) adds the router, leading the shards in
    ``router_shards`` (default: every shard) whose leases it can take."""
    clock = clock or SystemClock()
    db = Database(settings.database_url)
    container = Container(
        settings=settings,
        clock=clock,
        db=db,
        rate_limiter=make_rate_limiter(
            settings.redis_url, clock, key_prefix=settings.redis_key_prefix
        ),
        token_cache=TokenCache(clock, ttl_s=settings.token_cache_s),
        secret_box=SecretBox(settings.secret_key.get_secret_value()),
        storage=LocalStorage(settings.attachments_dir),
    )
    db.event_sinks.append(container.token_cache.on_events)  # a revocation applies at once
    # --- realtime wiring ---------------------------------------------------------------
    broker = make_broker(settings)
    # The users with a socket open here are seen (AgentState.last_seen_at) by any router.
    signs_of_life = SignsOfLife(db, clock, every_s=settings.routing.heartbeat_s)
    container.broker, container.hub = broker, Hub(broker, signs_of_life=signs_of_life)
    container.db.event_sinks.append(container.hub.publish_events)  # after each commit
    container.viewers = make_viewer_store(settings)
    # --- jobs wiring -------------------------------------------------------------------
    container.jobs = JobRunner(
        db, settings, clock, secret_box=container.secret_box, storage=container.storage
    )
    # Each context registers its job kinds: ``async def handler(ctx: JobContext, job: Job)``.
    channel_delivery.register(container.jobs)  # channel.deliver
    conversation_tasks.register(container.jobs)  # conversation.wake
    sla_tasks.register(container.jobs)  # sla.check
    automation_tasks.register(container.jobs)  # automation.run, automation.webhook
    # --- inbound wiring ----------------------------------------------------------------
    container.inbound = InboundWriter(db, clock, container.storage, **_writer_options(db))
    # --- email wiring (started where email.embedded says: serve or worker) --------------
    container.email = EmailTransport(db, container.inbound, settings, clock, container.secret_box)
    # --- routing wiring ----------------------------------------------------------------
    if settings.routing.embedded if run_router is None else run_router:
        container.router = make_router(settings, db, clock, shards=router_shards)
        db.event_sinks.append(container.router.on_events)  # committed changes wake it up
        liveness.attach(container.router, settings.routing)  # lost connections: agents offline
        live_stats.attach(container.router, settings.routing, container.hub.publish_ephemeral)
    return container


def make_router(
    settings: Settings, db: Database, clock: Clock, *, shards: Collection[int] | None = None
) -> RouterRuntime:
    """A router with a lease per account shard it may lead (``shards``, default all): of
    all the processes of an installation, the holder of a shard's lease routes its
    accounts, the others stand by for it."""
    count = settings.routing.shards
    leases = {
        shard: lease_for(
            settings.database_url,
            LEASE_NAME.format(shard=shard, shards=count),
            settings.data_dir,
        )
        for shard in (range(count) if shards is None else sorted(set(shards)))
    }
    return RouterRuntime(
        db,
        clock,
        seed=settings.routing.seed,
        sweep_s=settings.routing.sweep_s,
        shards=count,
        leases=leases,
    )


def _writer_options(db: Database) -> dict[str, Any]:
    if db.is_sqlite:
        # A transaction takes a few milliseconds: lingering 10 ms fills a batch under load.
        return {"concurrency": 1, "linger_s": 0.010}
    # Round trips to the server make a transaction long enough for the next batch to fill
    # meanwhile, so no lingering. Two writers: one alone stalls behind a slow commit (a
    # checkpoint), and more split the batches and cost more CPU per message.
    return {"concurrency": 2, "linger_s": 0.0}


async def schema_is_current(url: str) -> bool:
    """True when the database is at the code's migration head."""
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())

    def current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    engine = create_null_pool_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(current) == heads
    finally:
        await engine.dispose()


async def run_alone(
    settings: Settings,
    role: str,
    *,
    run_jobs: bool,
    run_email: bool = False,
    run_router: bool | None = None,
    router_shards: Collection[int] | None = None,
    until: asyncio.Event | None = None,
    stopping: Callable[[Container], Awaitable[None]] | None = None,
    **details: Any,
) -> int:
    """A process without HTTP (`omnidesk worker`, `omnidesk router`): the container with
    what ``run_jobs`` and ``run_router`` ask for, until ``until`` is set or SIGTERM/SIGINT
    arrives. It refuses a schema behind the code (it migrates nothing); ``stopping`` lets
    work in progress finish before the container stops. Returns the exit status."""
    if not await schema_is_current(settings.database_url):
        log.error("schema_outdated", hint="run `omnidesk migrate` first")
        return EXIT_SCHEMA_OUTDATED
    until = until or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, until.set)
    container = build_container(settings, run_router=run_router, router_shards=router_shards)
    try:
        await start(container, run_jobs=run_jobs, run_email=run_email)
        log.info(f"{role}_started", **details)
        await until.wait()
        log.info(f"{role}_stopping")
        if stopping is not None:
            await stopping(container)
    finally:
        await stop(container)
        for sig in signals:
            loop.remove_signal_handler(sig)
    return 0


async def start(
    container: Container, *, run_jobs: bool | None = None, run_email: bool | None = None
) -> None:
    # --- realtime start ----------------------------------------------------------------
    if container.broker is not None and container.hub is not None:
        await container.broker.start()
        await container.hub.start()
    # --- jobs start --------------------------------------------------------------------
    embedded = container.settings.jobs.embedded if run_jobs is None else run_jobs
    if container.jobs is not None and embedded:
        await container.jobs.start()
    # --- inbound start -----------------------------------------------------------------
    if container.inbound is not None:
        await container.inbound.start()
    # --- email start (after the inbound writer it stores through) -----------------------
    email = container.settings.email.embedded if run_email is None else run_email
    if container.email is not None and email:
        await container.email.start()
    # --- routing start -----------------------------------------------------------------
    if container.router is not None:
        await container.router.start()
    log.info("started", database=container.db.engine.url.render_as_string(hide_password=True))


async def stop(container: Container) -> None:
    # --- routing stop ------------------------------------------------------------------
    if container.router is not None:
        await container.router.stop()
    # --- email stop (before the inbound writer) ----------------------------------------
    if container.email is not None:
        await container.email.stop()
    # --- inbound stop ------------------------------------------------------------------
    if container.inbound is not None:
        await container.inbound.stop()  # stores what the last requests handed over
    # --- jobs stop ---------------------------------------------------------------------
    if container.jobs is not None:
        await container.jobs.stop()
    # --- realtime stop -----------------------------------------------------------------
    if container.broker is not None and container.hub is not None:
        await container.hub.stop()  # publishes what the jobs committed while stopping
        await container.broker.stop()
    await container.rate_limiter.close()
    await container.viewers.close()
    await container.db.dispose()
