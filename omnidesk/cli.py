"""The `omnidesk` command."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from omnidesk.analytics.cli import erlang_app
from omnidesk.analytics.simulate.cli import simulate
from omnidesk.settings import Settings

_T = TypeVar("_T")

app = typer.Typer(
    help="omnidesk: the open-source omnichannel contact centre.", no_args_is_help=True
)
console = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from omnidesk.kit.migrate import upgrade_sync

    settings = _settings()
    upgrade_sync(settings.database_url)
    console.print("database is up to date")


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Address to listen on (OMNIDESK_HOST)."),
    port: int | None = typer.Option(None, help="Port to listen on (OMNIDESK_PORT)."),
    workers: int | None = typer.Option(
        None, help="Server processes (OMNIDESK_WORKERS); more than one needs Redis."
    ),
    no_migrate: bool = typer.Option(False, help="Do not migrate the database first."),
) -> None:
    """Migrate, seed the demo account on first start, and serve the web app and API."""
    import uvicorn

    from omnidesk.app import create_app
    from omnidesk.kit.migrate import upgrade_sync

    settings = _settings()
    processes = workers or settings.workers
    if processes > 1 and not settings.redis_url:
        # Each process would only tell its own websockets: agents would miss events.
        console.print("[red]more than one server process needs OMNIDESK_REDIS_URL[/red]")
        raise typer.Exit(2)
    if not no_migrate:
        upgrade_sync(settings.database_url)
    if settings.seed_demo:
        logins = asyncio.run(_seed_demo(settings))
        if logins:
            console.rule("demo account created: these passwords are shown once")
            for key, value in logins.items():
                console.print(f"  {key:<15} {value}")
            console.rule()
    options: dict[str, Any] = {
        "host": host or settings.host,
        "port": port or settings.port,
        "log_config": None,
        "access_log": False,  # requests are counted in /metrics; errors are logged
        "ws_ping_interval": settings.ws_heartbeat_s,
        "timeout_keep_alive": settings.http_keep_alive_s,
    }
    if processes == 1:
        uvicorn.run(create_app(settings), **options)
    else:
        # Each process builds its app from the same environment.
        uvicorn.run("omnidesk.app:create_app", factory=True, workers=processes, **options)


async def _seed_demo(settings: Settings) -> dict[str, str] | None:
    from omnidesk.demo import seed_if_empty
    from omnidesk.kit.clock import SystemClock
    from omnidesk.kit.db import Database
    from omnidesk.kit.security import SecretBox

    db = Database(settings.database_url)
    try:
        return await seed_if_empty(
            db, SystemClock(), SecretBox(settings.secret_key.get_secret_value())
        )
    finally:
        await db.dispose()


@app.command()
def worker(
    shutdown_timeout: float = typer.Option(
        30.0, help="Seconds running jobs get to finish after SIGTERM/SIGINT."
    ),
) -> None:
    """Run background jobs only (scale-out): deliveries, timers… until SIGTERM/SIGINT."""
    from omnidesk.jobs.worker import run_worker
    from omnidesk.kit.logging import configure_logging

    settings = _settings()
    configure_logging(json=settings.json_logs, level=settings.log_level)
    status = asyncio.run(run_worker(settings, shutdown_timeout_s=shutdown_timeout))
    if status:
        console.print("[red]the database schema is not up to date: run `omnidesk migrate`[/red]")
    raise typer.Exit(status)


@app.command()
def router(
    shard: list[int] | None = typer.Option(
        None,
        "--shard",
        metavar="SHARD",
        help="Lead only this account shard (repeat for several); default: every shard of "
        "OMNIDESK_ROUTING__SHARDS.",
    ),
) -> None:
    """Run the router only (scale-out), until SIGTERM/SIGINT; run `omnidesk migrate` first.

    It leads the shards whose leases it takes and stands by for the others, taking over
    within a second when their router dies. Start `omnidesk serve` with
    OMNIDESK_ROUTING__EMBEDDED=false when routers run apart.
    """
    from omnidesk.bootstrap import run_alone
    from omnidesk.kit.logging import configure_logging

    settings = _settings()
    shards = settings.routing.shards
    if shard and not all(0 <= s < shards for s in shard):
        console.print(f"[red]--shard must be between 0 and {shards - 1}[/red]")
        raise typer.Exit(2)
    configure_logging(json=settings.json_logs, level=settings.log_level)
    status = asyncio.run(
        run_alone(
            settings,
            "router",
            run_jobs=False,
            run_router=True,
            router_shards=shard or None,
            shards=shards,
            lead=sorted(set(shard)) if shard else "all",
        )
    )
    if status:
        console.print("[red]the database schema is not up to date: run `omnidesk migrate`[/red]")
    raise typer.Exit(status)


@app.command("create-admin")
def create_admin(
    email: str = typer.Option(..., help="The admin's email address (their login)."),
    name: str = typer.Option("Administrator", help="The admin's name."),
    account: str = typer.Option(..., help="Name of the new account (tenant) to create."),
    password: str | None = typer.Option(
        None,
        help="Password (asked for when omitted; OMNIDESK_ADMIN_PASSWORD also works).",
        envvar="OMNIDESK_ADMIN_PASSWORD",
    ),
) -> None:
    """Create an account (tenant) with its first admin."""
    from omnidesk.accounts import service
    from omnidesk.kit.clock import SystemClock
    from omnidesk.kit.db import Database
    from omnidesk.kit.errors import OmnideskError

    settings = _settings()
    if password is None:
        if not sys.stdin.isatty():
            console.print("[red]give --password or OMNIDESK_ADMIN_PASSWORD[/red]")
            raise typer.Exit(2)
        password = getpass.getpass("password: ")
    if len(password) < 10:
        console.print("[red]the password must have at least 10 characters[/red]")
        raise typer.Exit(2)

    async def _create() -> tuple[int, int]:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as session:
                acc, user = await service.create_account(
                    session,
                    SystemClock(),
                    name=account,
                    admin_email=email,
                    admin_name=name,
                    admin_password=password,
                )
                return acc.id, user.id
        finally:
            await db.dispose()

    try:
        account_id, user_id = asyncio.run(_create())
    except OmnideskError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    typer.echo(f"created account {account_id} with admin user {user_id} ({email})")


app.add_typer(erlang_app, name="erlang")
app.command("simulate")(simulate)


bench_app = typer.Typer(
    help="Benchmarks: a real server in a subprocess, a JSON report.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")


@bench_app.command("messages")
def bench_messages(
    agents: int = typer.Option(200, help="Agent websockets to connect."),
    supervisors: int = typer.Option(0, help="Supervisor websockets (they see every message)."),
    conversations_per_agent: int = typer.Option(1, help="Conversations assigned to each agent."),
    rate: float = typer.Option(500.0, help="Target inbound messages per second."),
    duration: float = typer.Option(20.0, help="Seconds of load at the target rate."),
    database_url: str | None = typer.Option(
        None,
        help="A PostgreSQL server (postgresql+asyncpg://user@host/db): a scratch database "
        "is created on it and dropped. Default: SQLite in a temporary directory.",
    ),
    redis_url: str | None = typer.Option(None, help="Use the Redis broker at this URL."),
    find_max: bool = typer.Option(False, help="Then step the rate up to find the maximum."),
    step_duration: float = typer.Option(
        10.0, help="Seconds per --find-max step (at least 500 messages)."
    ),
    max_in_flight: int = typer.Option(64, help="Concurrent POSTs (keep-alive connections)."),
    grace: float = typer.Option(5.0, help="Seconds after the last answer before a miss is lost."),
    p99_target_ms: float = typer.Option(100.0, help="A run passes with p99 at most this."),
    body_chars: int = typer.Option(160, help="Characters in each message body."),
    rules: int = typer.Option(
        0, help="Enabled automation rules on message.received that never match."
    ),
    ws_compression: bool = typer.Option(True, help="Negotiate permessage-deflate like browsers."),
    server_log_level: str = typer.Option("INFO", help="The server's OMNIDESK_LOG_LEVEL."),
    server_processes: int = typer.Option(
        1, help="`omnidesk serve --workers` (more than one needs --redis-url)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the JSON report on stdout."),
) -> None:
    """Inbound API-channel messages to agents' websockets: end-to-end latency under load."""

    from omnidesk.bench.messages import BenchConfig, print_table, run_bench

    config = BenchConfig(
        agents=agents,
        supervisors=supervisors,
        conversations_per_agent=conversations_per_agent,
        rate=rate,
        duration_s=duration,
        database_url=database_url,
        redis_url=redis_url,
        find_max=find_max,
        step_duration_s=step_duration,
        max_in_flight=max_in_flight,
        grace_s=grace,
        p99_target_ms=p99_target_ms,
        body_chars=body_chars,
        rules=rules,
        ws_compression=ws_compression,
        server_log_level=server_log_level,
        server_processes=server_processes,
    )
    report = _bench_report(run_bench(config, console), console)
    _print_report(report, print_table, json_output=json_output)


@bench_app.command("routing")
def bench_routing(
    agents: int = typer.Option(2000, min=1, help="Agents in the synthetic contact centre."),
    queues: int = typer.Option(200, min=1, help="Queues, each with required skills and overflow."),
    skills: int = typer.Option(50, min=1, help="Distinct skills."),
    waiting: int = typer.Option(10_000, help="Work items kept waiting (the backlog)."),
    decisions: int = typer.Option(100_000, help="Decisions to measure on the indexed router."),
    baseline_decisions: int = typer.Option(1000, help="Decisions for the naive baseline."),
    baseline_seconds: float = typer.Option(30.0, help="At most this long on the baseline."),
    scaling: bool = typer.Option(True, help="Also run at a tenth and ten times the agents."),
    seed: int = typer.Option(0, help="Seed of the centre, the simulation and the router."),
    json_output: bool = typer.Option(False, "--json", help="Print the JSON report on stdout."),
) -> None:
    """The router's decision core in virtual time, no I/O: decisions per second, latency."""

    from omnidesk.bench.routing import RoutingBenchConfig, print_table, run_bench

    config = RoutingBenchConfig(
        agents=agents,
        queues=queues,
        skills=skills,
        waiting=waiting,
        decisions=decisions,
        baseline_decisions=baseline_decisions,
        baseline_seconds=baseline_seconds,
        seed=seed,
        scaling=scaling,
    )
    report = run_bench(config, console)
    _print_report(report, print_table, json_output=json_output)


@bench_app.command("email")
def bench_email(
    emails: int = typer.Option(3000, help="Mails to parse, thread and store."),
    customers: int = typer.Option(200, help="Distinct senders."),
    reply_share: float = typer.Option(0.5, help="Share of mails answering an earlier one."),
    duplicate_share: float = typer.Option(0.02, help="Share of mails delivered twice."),
    concurrency: int = typer.Option(32, help="Mails in flight (SMTP sessions)."),
    seed: int = typer.Option(0, help="Seed of the plan (who writes, who replies)."),
    corpus: Path | None = typer.Option(None, help="A directory of .eml files."),
    log_level: str = typer.Option("ERROR", help="Logs go to stderr from this level."),
    json_output: bool = typer.Option(False, "--json", help="Print the JSON report on stdout."),
) -> None:
    """Raw mails through parsing, threading and the inbound writer, on a fresh SQLite file."""

    from omnidesk.bench.email import DEFAULT_CORPUS, EmailBenchConfig, print_table, run_bench
    from omnidesk.kit.logging import configure_logging

    # The corpus drops attachments on purpose: a warning per mail would swamp the run.
    configure_logging(json=False, level=log_level)

    config = EmailBenchConfig(
        emails=emails,
        customers=customers,
        reply_share=reply_share,
        duplicate_share=duplicate_share,
        concurrency=concurrency,
        seed=seed,
        corpus=corpus or DEFAULT_CORPUS,
    )
    report = _bench_report(run_bench(config, console), console)
    _print_report(report, print_table, json_output=json_output)


@bench_app.command("rules")
def bench_rules(
    rules: int = typer.Option(500, min=1, help="Active rules, each evaluated on every event."),
    events: int = typer.Option(20_000, min=1, help="Events to evaluate."),
    seed: int = typer.Option(0, help="Seed of the rules and the events."),
    json_output: bool = typer.Option(False, "--json", help="Print the JSON report on stdout."),
) -> None:
    """Automation conditions: every rule evaluated on each event, µs per event. No I/O."""

    from omnidesk.bench.rules import print_table, run_bench

    _print_report(run_bench(rules, events, seed), print_table, json_output=json_output)


@bench_app.command("simulate")
def bench_simulate(
    contacts: int = typer.Option(100_000, min=1, help="Contacts expected in the day."),
    agents: int = typer.Option(500, min=2, help="Agents, in two shifts."),
    ciw_servers: int = typer.Option(50, min=1, help="Servers of the M/M/c run in both."),
    ciw_customers: int = typer.Option(20_000, min=1, help="Customers of the M/M/c run."),
    seed: int = typer.Option(0, help="Seed of both runs."),
    json_output: bool = typer.Option(False, "--json", help="Print the JSON report on stdout."),
) -> None:
    """A simulated day through the routing engine; the same M/M/c model in ciw beside it."""

    from omnidesk.bench.simulate import print_table, run_bench

    report = run_bench(
        contacts=contacts,
        agents=agents,
        ciw_servers=ciw_servers,
        ciw_customers=ciw_customers,
        seed=seed,
        console=console,
    )
    _print_report(report, print_table, json_output=json_output)


def _bench_report(run: Coroutine[Any, Any, dict[str, Any]], console: Console) -> dict[str, Any]:
    """The report of a benchmark run on uvloop; a failed run exits 1 with its reason."""
    from omnidesk.bench.harness import BenchError

    try:
        return _run_fast(run)
    except BenchError as exc:
        console.print(f"[red]bench failed:[/red] {exc}")
        raise typer.Exit(1) from exc


def _print_report(
    report: dict[str, Any],
    print_table: Callable[[dict[str, Any], Console], None],
    *,
    json_output: bool,
) -> None:
    import json

    if json_output:
        typer.echo(json.dumps(report, indent=2))
    else:
        print_table(report, Console())


def _run_fast(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """asyncio.run on uvloop when it is installed (it comes with uvicorn[standard])."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def main() -> None:
    app()
