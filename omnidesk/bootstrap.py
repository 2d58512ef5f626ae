"""Wiring: builds the container of long-lived services and starts and stops them.

One place decides which implementations run: the in-memory or Redis broker, the embedded
job runner or none (when `omnidesk worker` processes do the work).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog

from omnidesk.accounts.cache import TokenCache
from omnidesk.channels import delivery as channel_delivery
from omnidesk.conversations import tasks as conversation_tasks
from omnidesk.conversations.inbound import InboundWriter
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import Clock, SystemClock
from omnidesk.kit.db import Database
from omnidesk.kit.lease import lease_for
from omnidesk.kit.ratelimit import RateLimiter
from omnidesk.kit.security import SecretBox
from omnidesk.kit.storage import LocalStorage, Storage
from omnidesk.realtime.backends import make_broker
from omnidesk.realtime.broker import Broker
from omnidesk.realtime.hub import Hub
from omnidesk.routing.router import RouterRuntime
from omnidesk.settings import Settings

log = structlog.get_logger(__name__)


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
    extras: dict[str, Any] = field(default_factory=dict)


def build_container(settings: Settings, *, clock: Clock | None = None) -> Container:
    clock = clock or SystemClock()
    db = Database(settings.database_url)
    container = Container(
        settings=settings,
        clock=clock,
        db=db,
        rate_limiter=RateLimiter(clock),
        token_cache=TokenCache(clock, ttl_s=settings.token_cache_s),
        secret_box=SecretBox(settings.secret_key.get_secret_value()),
        storage=LocalStorage(settings.attachments_dir),
    )
    db.event_sinks.append(container.token_cache.on_events)  # a revocation applies at once
    # --- realtime wiring ---------------------------------------------------------------
    broker = make_broker(settings)
    container.broker, container.hub = broker, Hub(broker)
    container.db.event_sinks.append(container.hub.publish_events)  # after each commit
    # --- jobs wiring -------------------------------------------------------------------
    container.jobs = JobRunner(db, settings, clock, secret_box=container.secret_box)
    # Each context registers its job kinds: ``async def handler(ctx: JobContext, job: Job)``.
    channel_delivery.register(container.jobs)  # channel.deliver
    conversation_tasks.register(container.jobs)  # conversation.wake
    # --- inbound wiring ----------------------------------------------------------------
    container.inbound = InboundWriter(db, clock, container.storage, **_writer_options(db))
    # --- routing wiring ----------------------------------------------------------------
    if settings.routing.embedded:
        container.router = RouterRuntime(
            db,
            clock,
            seed=settings.routing.seed,
            sweep_s=settings.routing.sweep_s,
            # One router for all the processes of an installation: the others stand by.
            lease=lease_for(settings.database_url, "omnidesk-router", settings.data_dir),
        )
        db.event_sinks.append(container.router.on_events)  # committed changes wake it up
    return container


def _writer_options(db: Database) -> dict[str, Any]:
    if db.is_sqlite:
        # A transaction takes a few milliseconds: lingering 10 ms fills a batch under load.
        return {"concurrency": 1, "linger_s": 0.010}
    # Round trips to the server make a transaction long enough for the next batch to fill
    # meanwhile, so no lingering. Two writers: one alone stalls behind a slow commit (a
    # checkpoint), and more split the batches and cost more CPU per message.
    return {"concurrency": 2, "linger_s": 0.0}


async def start(container: Container, *, run_jobs: bool | None = None) -> None:
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
    # --- routing start -----------------------------------------------------------------
    if container.router is not None:
        await container.router.start()
    log.info("started", database=container.db.engine.url.render_as_string(hide_password=True))


async def stop(container: Container) -> None:
    # --- routing stop ------------------------------------------------------------------
    if container.router is not None:
        await container.router.stop()
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
    await container.db.dispose()
