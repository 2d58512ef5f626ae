from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from omnidesk.conversations.models import SEARCH_OBJECTS
from omnidesk.kit.db import create_null_pool_engine
from omnidesk.kit.migrate import upgrade
from omnidesk.models import Base


def _include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (name and (name in SEARCH_OBJECTS or name.startswith("messages_fts")))


async def test_migrating_an_empty_database_gives_exactly_the_models_schema(
    database_url: str,
) -> None:
    # The database_url fixture is a database migrated from empty by `upgrade head`.
    engine = create_null_pool_engine(database_url)

    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection, opts={"include_object": _include, "compare_type": True}
        )
        return list(compare_metadata(context, Base.metadata))

    def search_objects(connection: Connection) -> set[str]:
        inspector = inspect(connection)
        names = set(inspector.get_table_names())
        for table in ("messages",):
            names |= {i["name"] for i in inspector.get_indexes(table) if i["name"]}
        return names & set(SEARCH_OBJECTS)

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
        present = await connection.run_sync(search_objects)
    await engine.dispose()
    assert differences == []
    # The dialect's own search object exists (FTS5 table on SQLite, GIN index on PostgreSQL).
    assert len(present) == 1


async def test_a_database_url_with_percent_encoding_migrates(tmp_path: Path) -> None:
    # A percent-encoded password, host or path must reach the driver as written.
    path = tmp_path / "odd%20name.db"
    await upgrade(f"sqlite+aiosqlite:///{path}")
    engine = create_null_pool_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    assert "messages" in tables
