from __future__ import annotations

import pytest
from pydantic import ValidationError

from omnidesk.settings import DEFAULT_SECRET_KEY, Settings


def test_production_refuses_the_default_secret_key() -> None:
    with pytest.raises(ValidationError, match="OMNIDESK_SECRET_KEY"):
        Settings(environment="production", secret_key=DEFAULT_SECRET_KEY)


def test_production_refuses_a_short_secret_key() -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(environment="production", secret_key="short")


def test_production_starts_with_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIDESK_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("OMNIDESK_ENVIRONMENT", "production")
    monkeypatch.setenv("OMNIDESK_JOBS__MAX_ATTEMPTS", "3")
    settings = Settings()
    assert settings.is_production
    assert settings.json_logs
    assert settings.jobs.max_attempts == 3
