"""Leadership: one process of many does a job, another takes over when that process dies.

The lease is held for as long as the holder's process (and its connection) lives, so a
killed leader releases it at once, without a timeout to wait out: a PostgreSQL session
advisory lock on a connection of its own, or, with SQLite (one machine), a ``flock`` on a
file next to the database.

A holder that lost its lease (its lease connection cut while its other connections still
work) goes on believing it leads until it next asks :meth:`Lease.held`. Work guarded by a
lease therefore also calls :meth:`Lease.confirm` inside its own transaction, just before
committing: on PostgreSQL that asks the server whether the lease connection still holds the
lock, which narrows the window in which a deposed holder can write to one round trip
(docs/adr/0008-router-runtime.md, "Fencing").
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from pathlib import Path
from typing import Any, Protocol

import structlog
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

log = structlog.get_logger(__name__)


class Lease(Protocol):
    async def acquire(self) -> bool:
        """Take the lease if nobody holds it; True when this process holds it now."""
        ...

    async def held(self) -> bool:
        """Whether this process still holds it (its connection may have died)."""
        ...

    async def confirm(self, session: AsyncSession) -> bool:
        """Whether the lease is still held, as the database sees it from ``session``."""
        ...

    async def release(self) -> None: ...


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock``."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresLease:
    def __init__(self, database_url: str, name: str) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._key = lock_key(name)
        self._conn: Any = None
        self._held = False
        #: The server process of the lease connection: the lock's holder in ``pg_locks``.
        self._pid: int | None = None

    async def acquire(self) -> bool:
        import asyncpg  # type: ignore[import-untyped]  # the URL's driver, only where used

        if self._held and await self.held():
            return True
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(self._dsn)
            self._held = bool(
                await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key)
            )
            self._pid = self._conn.get_server_pid() if self._held else None
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("lease_unavailable", error=repr(exc))
            await self._drop()
        return self._held

    async def held(self) -> bool:
        if not self._held or self._conn is None:
            return False
        try:
            await self._conn.fetchval("SELECT 1")
        except Exception as exc:  # the connection is gone, and the lock with it
            log.warning("lease_lost", error=repr(exc))
            await self._drop()
        return self._held

    async def confirm(self, session: AsyncSession) -> bool:
        if not self._held or self._pid is None:
            return False
        # A bigint advisory key shows in pg_locks as its high and low 32 bits, objsubid 1.
        high, low = divmod(self._key & 0xFFFF_FFFF_FFFF_FFFF, 1 << 32)
        return bool(
            await session.scalar(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                    " AND granted AND pid = :pid AND classid = :high AND objid = :low"
                    " AND objsubid = 1)"
                ),
                {"pid": self._pid, "high": high, "low": low},
            )
        )

    async def release(self) -> None:
        if self._conn is not None and self._held and not self._conn.is_closed():
            with contextlib.suppress(Exception):
                await self._conn.fetchval("SELECT pg_advisory_unlock($1)", self._key)
        await self._drop()

    async def _drop(self) -> None:
        self._held, self._pid = False, None
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


class FileLease:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    async def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def held(self) -> bool:
        return self._fd is not None

    async def confirm(self, session: AsyncSession) -> bool:
        # A flock lives as long as its descriptor: nobody else can take it meanwhile.
        return self._fd is not None

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def lease_for(database_url: str, name: str, data_dir: Path) -> Lease:
    """The lease that fits the database: PostgreSQL's advisory lock, else a file lock next
    to the SQLite file (in ``data_dir`` for an in-memory database)."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresLease(database_url, name)
    if url.database and url.database != ":memory:":
        return FileLease(Path(f"{url.database}.{name}.lock"))
    return FileLease(data_dir / f"{name}.lock")
