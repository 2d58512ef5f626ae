"""The inline SQLite driver (for the inbound writer's own thread) behaves as aiosqlite does."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.exc import IntegrityError

from omnidesk.events import service as events
from omnidesk.events.models import Event
from omnidesk.kit.db import Database, after_commit
from tests.conftest import Tenant

METADATA = MetaData()
NOTES = Table(
    "notes",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("body", String(50), unique=True, nullable=False),
)


@pytest.fixture
async def inline(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}", inline=True)
    async with db.engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    yield db  # type: ignore[misc]
    await db.dispose()


async def test_statements_run_on_the_calling_thread(inline: Database) -> None:
    threads: list[int] = []

    def record(*_: object) -> None:
        threads.append(threading.get_ident())

    from sqlalchemy import event

    event.listen(inline.engine.sync_engine, "before_cursor_execute", record)
    async with inline.transaction() as session:
        await session.execute(insert(NOTES), [{"body": "a"}, {"body": "b"}])
        rows = (await session.execute(select(NOTES.c.body).order_by(NOTES.c.id))).all()
    assert [r.body for r in rows] == ["a", "b"]
    assert set(threads) == {threading.get_ident()}


async def test_commit_rollback_and_the_write_lock(inline: Database, tmp_path: Path) -> None:
    async def add(body: str, *, fail: bool = False) -> None:
        async with inline.transaction() as session:
            await session.execute(insert(NOTES).values(body=body))
            if fail:
                raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await add("lost", fail=True)
    await add("kept")
    with pytest.raises(IntegrityError):
        await add("kept")
    # Another engine (aiosqlite, as the web requests use) sees exactly the committed row.
    other = Database(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    try:
        async with other.transaction() as session:
            bodies = list(await session.scalars(select(NOTES.c.body)))
            mode = await session.scalar(text("PRAGMA journal_mode"))
    finally:
        await other.dispose()
    assert bodies == ["kept"]
    assert mode == "wal"


async def test_committed_work_is_announced_to_another_database_in_order(
    db: Database, tenant: Tenant
) -> None:
    """As the inbound writer's database hands its commits to the main one."""
    writer = Database(db.url, inline=db.is_sqlite)
    writer.announce_to(db, asyncio.get_running_loop())
    published: list[list[str]] = []
    done = asyncio.Event()

    async def sink(committed: list[Event]) -> None:
        published.append([event.type for event in committed])

    async def callback() -> None:
        published.append(["after commit"])
        done.set()

    db.event_sinks.append(sink)
    try:
        for n in range(3):
            async with writer.transaction() as session:
                for kind in ("first", "second"):
                    await events.record(session, account_id=tenant.account_id, type=f"t{n}.{kind}")
                if n == 2:
                    after_commit(session, callback)
        async with asyncio.timeout(5):
            await done.wait()
    finally:
        await writer.dispose()
    assert published == [
        ["t0.first", "t0.second"],
        ["t1.first", "t1.second"],
        ["t2.first", "t2.second"],
        ["after commit"],
    ]
