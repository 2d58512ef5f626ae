"""Finding channel adapters and building them for an inbox.

Adapters register through the ``omnidesk.channels`` entry point group, so a channel is a
package that can be installed separately; nothing here names a concrete adapter. An
adapter class is constructed with one argument, its :class:`AdapterContext`.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Protocol, cast

from omnidesk.channels.base import AdapterContext, ChannelAdapter
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.errors import ValidationFailed
from omnidesk.kit.security import SecretBox, hmac_sha256_hex
from omnidesk.settings import Settings

GROUP = "omnidesk.channels"


class AdapterFactory(Protocol):
    def __call__(self, context: AdapterContext, /) -> ChannelAdapter: ...


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def channel_types() -> list[str]:
    return sorted(_entry_points())


@cache
def get_adapter_class(channel_type: str) -> type[ChannelAdapter]:
    """The adapter class registered as ``channel_type``; unknown types are a 422."""
    found = _entry_points().get(channel_type)
    if found is None:
        known = ", ".join(channel_types()) or "none"
        raise ValidationFailed(
            f"unknown channel type {channel_type!r} (installed: {known})", field="channel_type"
        )
    cls = found.load()
    # A plugin that registers under a name other than its own is a packaging mistake.
    if not isinstance(cls, type) or getattr(cls, "name", None) != channel_type:
        raise TypeError(f"entry point {found.value} does not name a {channel_type!r} adapter")
    return cast(type[ChannelAdapter], cls)


def encrypt_secrets(secret_box: SecretBox, secrets: dict[str, Any]) -> str:
    return secret_box.encrypt(json.dumps(secrets, separators=(",", ":"))) if secrets else ""


def decrypt_secrets(secret_box: SecretBox, inbox: Inbox) -> dict[str, Any]:
    if not inbox.secrets_encrypted:
        return {}
    secrets: dict[str, Any] = json.loads(secret_box.decrypt(inbox.secrets_encrypted))
    return secrets


def channel_key(secret_key: str, channel_type: str) -> str:
    """A key of the installation for one channel type, derived from its secret key."""
    return hmac_sha256_hex(secret_key, f"omnidesk.channel-key.{channel_type}".encode())


def adapter_context(inbox: Inbox, secret_box: SecretBox, settings: Settings) -> AdapterContext:
    return AdapterContext(
        inbox_id=inbox.id,
        account_id=inbox.account_id,
        config=dict(inbox.config),
        secrets=decrypt_secrets(secret_box, inbox),
        public_url=settings.public_url,
        allow_private_addresses=settings.webhooks_allow_private_addresses,
        timeout_s=settings.webhook_timeout_s,
        channel_key=channel_key(settings.secret_key.get_secret_value(), inbox.channel_type),
        provider_urls={
            "meta_graph": settings.meta_graph_url,
            "telegram": settings.telegram_api_url,
            "twilio": settings.twilio_api_url,
        },
    )


def build_adapter(inbox: Inbox, secret_box: SecretBox, settings: Settings) -> ChannelAdapter:
    """An adapter for ``inbox`` with its configuration and decrypted secrets."""
    factory = cast(AdapterFactory, get_adapter_class(inbox.channel_type))
    return factory(adapter_context(inbox, secret_box, settings))
