"""A report reads its period through the index on events' (account, type, time), on SQLite
and on PostgreSQL, rather than scanning the account's whole log."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from omnidesk.analytics.extract import QUEUED
from omnidesk.analytics.repository import period_of_type
from omnidesk.kit.db import Database

INDEX = "ix_events_account_id_type_created_at"


async def test_the_period_is_read_through_the_index(db: Database) -> None:
    statement = period_of_type(
        1, QUEUED, datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC)
    )
    async with db.transaction() as session:
        compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        if db.is_sqlite:
            plan = await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        else:
            # The test's tables are tiny: without this the planner would rightly scan them.
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = await session.execute(text(f"EXPLAIN {compiled}"))
        lines = " ".join(str(row[-1]) for row in plan)
    assert INDEX in lines, lines
