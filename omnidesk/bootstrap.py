"""Wiring: builds the container of long-lived services and starts and stops them.

One place decides which implementations run: the in-memory or Redis broker, the embedded
job runner or none (when `omnidesk worker` processes do the work).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog

from omnidesk.kit.clock import Clock, SystemClock
from omnidesk.kit.db import Database
from omnidesk.kit.ratelimit import RateLimiter
from omnidesk.kit.security import SecretBox
from omnidesk.settings import Settings

log = structlog.get_logger(__name__)


@dataclass
class Container:
    settings: Settings
    clock: Clock
    db: Database
    rate_limiter: RateLimiter
    secret_box: SecretBox
    # --- realtime (broker + hub) -------------------------------------------------------
    broker: Any = None
    hub: Any = None
    # --- jobs (outbox + timers) ----------------------------------------------------------
    jobs: Any = None
    extras: dict[str, Any] = field(default_factory=dict)


def build_container(settings: Settings, *, clock: Clock | None = None) -> Container:
    clock = clock or SystemClock()
    db = Database(settings.database_url)
    container = Container(
        settings=settings,
        clock=clock,
        db=db,
        rate_limiter=RateLimiter(clock),
        secret_box=SecretBox(settings.secret_key.get_secret_value()),
    )
    # --- realtime wiring ---------------------------------------------------------------
    # --- jobs wiring -------------------------------------------------------------------
    return container


async def start(container: Container, *, run_jobs: bool | None = None) -> None:
    # --- realtime start ----------------------------------------------------------------
    # --- jobs start --------------------------------------------------------------------
    log.info("started", database=container.db.engine.url.render_as_string(hide_password=True))


async def stop(container: Container) -> None:
    # --- jobs stop ---------------------------------------------------------------------
    # --- realtime stop -----------------------------------------------------------------
    await container.db.dispose()
