"""`omnidesk serve --workers`: more than one process only with a broker they share."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from omnidesk.cli import app


def test_several_server_processes_without_redis_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.delenv("OMNIDESK_REDIS_URL", raising=False)
    monkeypatch.setenv("OMNIDESK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/never.db")
    result = CliRunner().invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "OMNIDESK_REDIS_URL" in result.output


@pytest.mark.parametrize(("configured", "expected"), [(None, 75), ("90", 90)])
def test_the_server_keeps_idle_connections_longer_than_clients_and_proxies(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, configured: str | None, expected: int
) -> None:
    # A server that closes an idle connection first races the client's next request on it
    # (httpx keeps one 5 s, load balancers 60 s): that request fails with a read error.
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(options))
    monkeypatch.setenv("OMNIDESK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/never.db")
    monkeypatch.setenv("OMNIDESK_SEED_DEMO", "false")
    if configured is None:
        monkeypatch.delenv("OMNIDESK_HTTP_KEEP_ALIVE_S", raising=False)
    else:
        monkeypatch.setenv("OMNIDESK_HTTP_KEEP_ALIVE_S", configured)
    result = CliRunner().invoke(app, ["serve", "--no-migrate"])
    assert result.exit_code == 0, result.output
    assert served["timeout_keep_alive"] == expected
    assert served["timeout_keep_alive"] > httpx.Limits().keepalive_expiry  # type: ignore[operator]
