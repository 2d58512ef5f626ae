"""Settings from the environment: prefix ``OMNIDESK_``, ``__`` for nesting."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "omnidesk-development-secret-change-me"  # noqa: S105 (a known default)


class AttachmentSettings(BaseModel):
    max_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    allowed_types: list[str] = Field(
        default=[
            "image/*",
            "audio/*",
            "video/*",
            "text/plain",
            "text/csv",
            "application/pdf",
            "application/zip",
            "application/json",
            "application/msword",
            "application/vnd.openxmlformats-officedocument.*",
            "application/vnd.ms-excel",
            "application/octet-stream",
        ]
    )


class RoutingSettings(BaseModel):
    embedded: bool = True  # run the router inside `omnidesk serve`
    #: Seconds between two sweeps for work when nothing wakes the router up.
    sweep_s: float = Field(default=2.0, gt=0)
    #: Seeds the router's tie-breaks: the same inputs give the same decisions.
    seed: int = 0
    #: Account shards: account ``a`` belongs to shard ``a % shards``, and each shard has one
    #: active router (the holder of its lease). Every router of an installation must be
    #: given the same number (docs/routing.md, "Running routers").
    shards: int = Field(default=1, ge=1, le=1024)
    #: Seconds between two refreshes of ``last_seen_at`` for the agents with a websocket open
    #: in a server process (one UPDATE per process and period).
    heartbeat_s: float = Field(default=15.0, gt=0)
    #: Seconds an agent who is not offline may go unseen (websocket closed, process gone)
    #: before the router sets them offline (``connection_lost``) and re-routes their offers.
    connection_grace_s: float = Field(default=60.0, gt=0)
    #: Seconds between two ``routing.stats`` messages to supervisors' websockets (sent only
    #: when the statistics changed).
    live_stats_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _grace_outlasts_heartbeats(self) -> RoutingSettings:
        if self.connection_grace_s <= self.heartbeat_s:
            # Every connected agent would look gone between two refreshes.
            raise ValueError("routing.connection_grace_s must be longer than routing.heartbeat_s")
        return self


class JobSettings(BaseModel):
    embedded: bool = True  # run the job runner inside `omnidesk serve`
    max_attempts: int = Field(default=8, ge=1)
    backoff_base_s: float = Field(default=2.0, gt=0)
    backoff_max_s: float = Field(default=3600.0, gt=0)
    poll_interval_s: float = Field(default=1.0, gt=0)
    lease_s: float = Field(default=60.0, gt=0)
    concurrency: int = Field(default=8, ge=1)


class EmailSettings(BaseModel):
    """The email channel's transport (docs/channels/email.md)."""

    #: Run the SMTP listener and the IMAP pollers inside `omnidesk serve` (the embedded
    #: set-up); false: `omnidesk worker` runs them (scale-out). One place per deployment.
    embedded: bool = True
    #: The built-in SMTP listener (forwarded mail comes in here); port 0 turns it off.
    #: Unset: 2525, except in the test environment (off unless a test asks for it).
    smtp_host: str = "127.0.0.1"
    smtp_port: int | None = Field(default=None, ge=0, le=65535)
    #: The domain of inboxes' forwarding addresses (``inbox-<key>@<inbound_domain>``): a
    #: domain whose MX (or relay) reaches the listener.
    inbound_domain: str = Field(default="localhost", min_length=1, max_length=200)
    #: The largest mail accepted (the listener answers 552 above it; IMAP skips it).
    max_message_bytes: int = Field(default=30 * 1024 * 1024, gt=0)
    #: Poll the inboxes that have an IMAP server. Unset: yes, except in the test environment.
    imap_enabled: bool | None = None
    #: Seconds between two looks at which inboxes have an IMAP server (new, changed, gone).
    imap_refresh_s: float = Field(default=60.0, gt=0)
    #: Seconds an SMTP or IMAP server gets to answer one command.
    timeout_s: float = Field(default=30.0, gt=0)


class WebchatSettings(BaseModel):
    """The website live chat's visitor API (docs/channels/webchat.md)."""

    #: Messages (and attachments, offline messages) a visitor may send per minute.
    messages_per_minute: int = Field(default=30, gt=0)
    #: Any visitor call (typing, read, events…) per visitor per minute.
    calls_per_minute: int = Field(default=240, gt=0)
    #: Any visitor call per client IP address per minute (many visitors behind one NAT).
    ip_calls_per_minute: int = Field(default=1200, gt=0)
    #: New sessions per client IP address per minute.
    sessions_per_minute: int = Field(default=60, gt=0)
    #: The longest message body a visitor may send, in characters.
    max_message_chars: int = Field(default=5000, gt=0)
    #: Seconds a typing indicator lasts without renewal.
    typing_ttl_s: float = Field(default=6.0, gt=0)
    #: Seconds between two pings on a visitor's websocket.
    ping_s: float = Field(default=25.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OMNIDESK_", env_nested_delimiter="__", extra="ignore"
    )

    environment: Literal["development", "production", "test"] = "development"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    database_url: str = "sqlite+aiosqlite:///./var/omnidesk.db"
    redis_url: str | None = None
    redis_key_prefix: str = "omnidesk:"  # namespaces keys and channels (one Redis, many installs)
    host: str = "127.0.0.1"
    port: int = 8000
    #: Server processes of `omnidesk serve` (one per core for scale-out; needs Redis).
    workers: int = Field(default=1, ge=1)
    public_url: str = "http://127.0.0.1:8000"
    data_dir: Path = Path("./var")
    log_json: bool | None = None
    log_level: str = "INFO"
    seed_demo: bool = True
    session_ttl_hours: int = Field(default=24 * 14, gt=0)
    cookie_secure: bool | None = None
    webhooks_allow_private_addresses: bool = False
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    #: The Telegram Bot API (tests point it at a fake on loopback).
    telegram_api_url: str = "https://api.telegram.org"
    #: Twilio's REST API (SMS inboxes); tests point it at a loopback fake.
    twilio_api_url: str = "https://api.twilio.com"
    #: Meta's Graph API (WhatsApp Cloud API, Messenger, Instagram), with its version.
    meta_graph_url: str = "https://graph.facebook.com/v21.0"
    login_attempts_per_minute: int = Field(default=10, gt=0)
    ws_heartbeat_s: float = Field(default=25.0, gt=0)
    #: How long an idle HTTP connection stays open. Longer than what clients and proxies keep
    #: (httpx 5 s, load balancers 60 s): the side that closes first must be the client, or a
    #: request sent as the server closes the connection fails.
    http_keep_alive_s: int = Field(default=75, gt=0)
    #: How long "an agent is viewing this conversation" lasts without renewal (a closed tab
    #: disappears from the other agents' collision indicator after this).
    viewing_ttl_s: float = Field(default=30.0, gt=0, le=3600)
    #: How long a server process trusts an API token it checked (0: check on every request).
    token_cache_s: float = Field(default=5.0, ge=0)
    attachments: AttachmentSettings = AttachmentSettings()
    jobs: JobSettings = JobSettings()
    routing: RoutingSettings = RoutingSettings()
    webchat: WebchatSettings = WebchatSettings()
    email: EmailSettings = EmailSettings()

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if (
            self.environment == "production"
            and self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY
        ):
            raise ValueError("OMNIDESK_SECRET_KEY must be set to a long random value in production")
        if self.environment == "production" and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("OMNIDESK_SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.is_production

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_url.startswith("https://")

    @property
    def email_listener_port(self) -> int:
        """The SMTP listener's port; 0: no listener."""
        if self.email.smtp_port is not None:
            return self.email.smtp_port
        return 0 if self.environment == "test" else 2525

    @property
    def email_imap_enabled(self) -> bool:
        if self.email.imap_enabled is not None:
            return self.email.imap_enabled
        return self.environment != "test"

    @cached_property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"
