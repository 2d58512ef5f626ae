"""Database access: declarative base, column types, engine set-up and the unit of work.

Services receive an ``AsyncSession`` and never commit; :meth:`Database.transaction` is the
unit of work. Work that must only happen once the data is durable (publishing events to
websockets, waking the job runner) is registered with :func:`after_commit` and runs only
if the commit succeeded.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, event, func, inspect, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from omnidesk.kit import sqlite_inline
from omnidesk.kit.clock import ensure_utc

log = structlog.get_logger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: 64-bit ids on PostgreSQL; SQLite only auto-increments an ``INTEGER PRIMARY KEY``.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonDoc = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, whatever the backend stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return ensure_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else ensure_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)


AfterCommit = Callable[[], Awaitable[None]]
EventSink = Callable[[list[Any]], Awaitable[None]]
_AFTER_COMMIT_KEY = "omnidesk.after_commit"
#: Rows recorded in the event log during a transaction, handed to the event sink on commit.
PENDING_EVENTS_KEY = "omnidesk.pending_events"


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` once the session's transaction has committed (never on rollback)."""
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append(callback)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        if dbapi_connection.isolation_level is not None:
            dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY
        # when another writer got there first; taking the write lock up front makes
        # concurrent writers queue on busy_timeout instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def serialises_writers(session: AsyncSession) -> bool:
    """Whether the session's transaction holds the database's only write lock from its
    first statement (SQLite, see ``_on_begin``): nothing else can write meanwhile."""
    return session.get_bind().dialect.name == "sqlite"


def _number_new_rows(session: Session, _context: Any, _instances: Any) -> None:
    """SQLite only: give a flush's new rows their ids up front, so that the flush inserts
    each table's rows with one ``executemany`` instead of one INSERT … RETURNING per row.

    PostgreSQL needs none of this: the flush batches there already (multi-row INSERT with
    RETURNING, ordered). On SQLite the order of RETURNING rows is arbitrary, so SQLAlchemy
    inserts row by row. Every SQLite transaction holds the write lock from its first
    statement (``BEGIN IMMEDIATE``), so the ids after the current maximum are this
    transaction's, exactly the ones SQLite would have chosen.
    """
    new: dict[Any, list[Any]] = {}
    for row in session.new:
        if isinstance(row, IdMixin) and row.id is None:
            new.setdefault(row.__table__, []).append(row)
    for table, rows in new.items():
        if len(rows) < 2:
            continue
        rows.sort(key=lambda row: inspect(row).insert_order)  # the order they were added
        with session.no_autoflush:
            top = session.connection().scalar(_max_id(table)) or 0
        for offset, row in enumerate(rows, start=1):
            row.id = top + offset


@functools.cache
def _max_id(table: Any) -> Any:
    """Prebuilt: a statement built once and run with new parameters skips its construction
    and its cache key, a third of a small query's cost through the ORM here (the inbound
    writer runs a handful of them per batch: docs/benchmarks.md)."""
    return select(func.max(table.c.id))


class _SqliteSession(Session):
    pass


event.listen(_SqliteSession, "before_flush", _number_new_rows)


def create_engine(url: str, *, echo: bool = False, inline: bool = False) -> AsyncEngine:
    """``inline``: SQLite calls run on the calling thread (see ``sqlite_inline``)."""
    if is_sqlite(url):
        if inline:
            path = make_url(url).database or ":memory:"
            engine = create_async_engine(
                url, echo=echo, async_creator=lambda: sqlite_inline.connect(path)
            )
        else:
            engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


def create_null_pool_engine(url: str) -> AsyncEngine:
    """For short-lived tools (migrations, CLI) that must not keep connections around."""
    engine = create_async_engine(url, poolclass=NullPool)
    if is_sqlite(url):
        _configure_sqlite(engine)
    return engine


class Database:
    def __init__(self, url: str, *, echo: bool = False, inline: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo, inline=inline)
        self.sessionmaker = async_sessionmaker(
            self.engine,
            expire_on_commit=False,
            sync_session_class=_SqliteSession if self.is_sqlite else Session,
        )
        #: Receives the events of each committed transaction (realtime fan-out, jobs).
        self.event_sinks: list[EventSink] = []
        #: Where committed work is announced: here, or another loop's database (see
        #: :meth:`announce_to`).
        self._announce: Callable[[list[Any], list[AfterCommit]], None] | None = None

    def announce_to(self, other: Database, loop: asyncio.AbstractEventLoop) -> None:
        """Hand this database's committed events and after-commit work to ``other``'s, on
        ``loop``: for a database used on a thread of its own (the inbound writer's), whose
        listeners (websockets, the job runner) live on the main loop. Commit order is kept.
        """

        def forward(events: list[Any], callbacks: list[AfterCommit]) -> None:
            asyncio.run_coroutine_threadsafe(other.committed(events, callbacks), loop)

        self._announce = forward

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """The unit of work: commit on success, roll back on error, then after-commit hooks."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            callbacks: list[AfterCommit] = session.info.pop(_AFTER_COMMIT_KEY, [])
            # An event added inside a savepoint that was rolled back is no longer persistent.
            events = [e for e in session.info.pop(PENDING_EVENTS_KEY, []) if inspect(e).persistent]
        if self._announce is not None:
            if events or callbacks:
                self._announce(events, callbacks)
            return
        await self.committed(events, callbacks)

    async def committed(self, events: list[Any], callbacks: list[AfterCommit]) -> None:
        """What runs once a transaction has committed: event sinks, then after-commit work."""
        if events:
            for sink in self.event_sinks:
                try:
                    await sink(events)
                except Exception:
                    log.exception("event_sink_failed", sink=repr(sink))
        for callback in callbacks:
            try:
                await callback()
            except Exception:  # the data is committed; a failed notification must not undo it
                log.exception("after_commit_failed", callback=repr(callback))

    async def dispose(self) -> None:
        await self.engine.dispose()
