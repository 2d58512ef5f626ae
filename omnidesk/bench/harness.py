"""What every benchmark needs around the load: a scratch database, the server in a
subprocess, and CPU accounting of who did the work (read from ``/proc``; Linux only)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import resource
import secrets
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import text
from sqlalchemy.engine import make_url

from omnidesk.bench.httpclient import HttpConnection, HttpError
from omnidesk.kit.db import create_null_pool_engine

LOOPBACK = "127.0.0.1"
BOOT_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class BenchError(Exception):
    """The benchmark could not run as designed (set-up failed, a check did not hold)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


# CPU accounting ---------------------------------------------------------------------------


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (its threads included), None when gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime (fields 14, 15)


def process_tree_cpu_s(pid: int) -> float | None:
    """:func:`process_cpu_s` of a process and all its descendants (server workers)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(raw[raw.rindex(")") + 2 :].split()[1])
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    used = [process_cpu_s(member) for member in sorted(tree)]
    if used[0] is None:  # the process itself is gone
        return None
    return sum(u for u in used if u is not None)


def self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_cpu_s() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot, all cores summed."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    ticks = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    idle = ticks[3] + ticks[4]
    total = sum(ticks)
    return (total - idle) / _CLOCK_TICKS, total / _CLOCK_TICKS


def machine_info() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu_model": model or platform.processor() or None,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


# The scratch database ---------------------------------------------------------------------


class ScratchDatabase:
    """A fresh database for one benchmark: a SQLite file in a temporary directory, or a
    PostgreSQL database created on the server of ``server_url`` and dropped afterwards."""

    def __init__(self, server_url: str | None, directory: Path) -> None:
        self.token = secrets.token_hex(4)
        self.kind: Literal["sqlite", "postgresql"]
        self._admin_url: str | None = None
        self.created = False
        self.name: str
        if server_url is None:
            self.kind = "sqlite"
            self.name = str(directory / "bench.db")
            self.url = f"sqlite+aiosqlite:///{self.name}"
            return
        url = make_url(server_url)
        if url.get_backend_name() != "postgresql":
            raise BenchError(
                "--database-url takes a PostgreSQL server URL (postgresql+asyncpg://…); "
                "omit it for SQLite (a fresh file in a temporary directory)"
            )
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+asyncpg")
        self.kind = "postgresql"
        self.name = f"omnidesk_bench_{self.token}"
        self._admin_url = url.set(database=url.database or "postgres").render_as_string(
            hide_password=False
        )
        self.url = url.set(database=self.name).render_as_string(hide_password=False)

    async def create(self) -> None:
        if self._admin_url is None:
            return
        engine = create_null_pool_engine(self._admin_url)
        try:
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            self.created = True
        except Exception as exc:
            raise BenchError(f"cannot create the scratch database: {exc}") from exc
        finally:
            await engine.dispose()

    async def drop(self) -> None:
        if self._admin_url is None or not self.created:
            return
        engine = create_null_pool_engine(self._admin_url)
        try:
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.created = False
        finally:
            await engine.dispose()

    async def backend_pids(self) -> list[int]:
        """PostgreSQL server processes serving the scratch database (not this query's)."""
        if self.kind != "postgresql":
            return []
        engine = create_null_pool_engine(self.url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                return [int(row[0]) for row in rows]
        finally:
            await engine.dispose()


# Redis ------------------------------------------------------------------------------------


async def redis_cpu_s(url: str | None) -> float | None:
    """CPU seconds used by the whole Redis server (shared: other clients count too)."""
    if url is None:
        return None
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        info = await client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    except Exception:
        return None
    finally:
        await client.aclose()


async def check_redis(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.ping()
    except Exception as exc:
        raise BenchError(f"Redis at {url} does not answer: {exc}") from exc
    finally:
        await client.aclose()


# The server -------------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """``python -m omnidesk serve`` on a loopback port, its output in a log file."""

    database_url: str
    data_dir: Path
    log_path: Path
    redis_url: str | None = None
    redis_key_prefix: str = "omnidesk:"
    log_level: str = "INFO"
    workers: int = 1
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None
    _log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIDESK_")}
        env.update(
            OMNIDESK_ENVIRONMENT="production",
            OMNIDESK_SECRET_KEY=secrets.token_urlsafe(48),
            OMNIDESK_DATABASE_URL=self.database_url,
            OMNIDESK_HOST=LOOPBACK,
            OMNIDESK_PORT=str(self.port),
            OMNIDESK_PUBLIC_URL=self.base_url,
            OMNIDESK_DATA_DIR=str(self.data_dir),
            OMNIDESK_SEED_DEMO="false",
            OMNIDESK_LOG_LEVEL=self.log_level,
            OMNIDESK_WORKERS=str(self.workers),
            # The server under test measures web traffic: no mail listener on a shared port.
            OMNIDESK_EMAIL__SMTP_PORT="0",
            OMNIDESK_EMAIL__IMAP_ENABLED="false",
        )
        if self.redis_url:
            env["OMNIDESK_REDIS_URL"] = self.redis_url
            env["OMNIDESK_REDIS_KEY_PREFIX"] = self.redis_key_prefix
        return env

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    async def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "omnidesk",
            "serve",
            env=self.env(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
        )
        probe = HttpConnection(LOOPBACK, self.port, timeout_s=5)
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        try:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise BenchError(f"the server exited at start:\n{self.tail()}")
                try:
                    if (await probe.request("GET", "/readyz")).status == 200:
                        return
                except (HttpError, TimeoutError):
                    pass
                await asyncio.sleep(0.2)
        finally:
            await probe.close()
        raise BenchError(f"the server did not start in {BOOT_TIMEOUT_S:.0f}s:\n{self.tail()}")

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time; always reaps the process."""
        process, self.process = self.process, None
        try:
            if process is not None:
                if process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        process.terminate()
                    try:
                        await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
                    except TimeoutError:
                        with contextlib.suppress(ProcessLookupError):
                            process.kill()
                await process.wait()
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None
