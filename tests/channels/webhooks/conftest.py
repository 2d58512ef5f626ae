"""The app with the test provider "relay" installed as a channel plugin."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint

import pytest

from omnidesk.channels import registry
from omnidesk.settings import AttachmentSettings, Settings


@pytest.fixture(autouse=True)
def relay_installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    installed = dict(registry._entry_points())
    installed["relay"] = EntryPoint(
        "relay", "tests.channels.webhooks.relay:RelayChannel", registry.GROUP
    )
    monkeypatch.setattr(registry, "_entry_points", lambda: installed)
    registry.get_adapter_class.cache_clear()
    yield
    registry.get_adapter_class.cache_clear()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    limits = AttachmentSettings(max_bytes=1024)
    return settings.model_copy(
        update={"attachments": limits, "public_url": "https://desk.example.com"}
    )
