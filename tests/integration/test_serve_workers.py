"""`omnidesk serve --workers`: more than one process only with a broker they share."""

from __future__ import annotations

import pytest
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
