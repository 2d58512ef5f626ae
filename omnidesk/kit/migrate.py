"""Running Alembic from code: `omnidesk migrate`, `omnidesk serve` and the tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from omnidesk.kit.db import create_null_pool_engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # The option goes through configparser, for which "%" starts an interpolation: URLs carry
    # percent-encoded passwords, hosts and paths.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


async def upgrade(url: str, revision: str = "head") -> None:
    _ensure_sqlite_dir(url)
    engine = create_null_pool_engine(url)

    def _run(connection: Connection) -> None:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def upgrade_sync(url: str, revision: str = "head") -> None:
    asyncio.run(upgrade(url, revision))


def regenerate_initial() -> None:
    """Rewrite 0001 from the models, with the later hand-written revisions set aside."""
    import shutil
    import tempfile

    versions = MIGRATIONS / "versions"
    with tempfile.TemporaryDirectory() as scratch:
        aside = Path(scratch) / "aside"
        aside.mkdir()
        for path in versions.glob("0*.py"):
            if path.name.startswith("0001_"):
                path.unlink()
            else:
                shutil.move(str(path), aside / path.name)
        try:
            command.revision(
                alembic_config(f"sqlite+aiosqlite:///{scratch}/empty.db"),
                message="initial schema",
                autogenerate=True,
                rev_id="0001",
            )
        finally:
            for path in aside.iterdir():
                shutil.move(str(path), versions / path.name)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--regenerate-initial"]:
        regenerate_initial()
    else:
        raise SystemExit("usage: python -m omnidesk.kit.migrate --regenerate-initial")
