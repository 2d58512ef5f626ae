"""The `omnidesk` command."""

from __future__ import annotations

import asyncio
import getpass
import sys

import typer
from rich.console import Console

from omnidesk.settings import Settings

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
    no_migrate: bool = typer.Option(False, help="Do not migrate the database first."),
) -> None:
    """Migrate, seed the demo account on first start, and serve the web app and API."""
    import uvicorn

    from omnidesk.app import create_app
    from omnidesk.kit.migrate import upgrade_sync

    settings = _settings()
    if not no_migrate:
        upgrade_sync(settings.database_url)
    if settings.seed_demo:
        logins = asyncio.run(_seed_demo(settings))
        if logins:
            console.rule("demo account created: these passwords are shown once")
            for key, value in logins.items():
                console.print(f"  {key:<15} {value}")
            console.rule()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        ws_ping_interval=settings.ws_heartbeat_s,
    )


async def _seed_demo(settings: Settings) -> dict[str, str] | None:
    from omnidesk.demo import seed_if_empty
    from omnidesk.kit.clock import SystemClock
    from omnidesk.kit.db import Database

    db = Database(settings.database_url)
    try:
        return await seed_if_empty(db, SystemClock())
    finally:
        await db.dispose()


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


def main() -> None:
    app()
