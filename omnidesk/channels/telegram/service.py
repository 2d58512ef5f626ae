"""Registering a Telegram inbox's webhook with the Bot API (admin).

Telegram sends a bot's updates to one URL, set with setWebhook; omnidesk gives it the inbox's
webhook URL, its secret token and the kinds of update it reads, and keeps the bot's
@username (getMe) in the inbox's configuration. No transaction is held while Telegram
answers; the inbox is changed, with its event, afterwards.
"""

from __future__ import annotations

import structlog

from omnidesk.accounts.principal import Principal
from omnidesk.channels import registry
from omnidesk.channels.telegram import updates
from omnidesk.channels.telegram.adapter import TelegramChannel
from omnidesk.channels.telegram.botapi import BotApiError
from omnidesk.channels.telegram.schemas import TelegramRegistration
from omnidesk.events import service as events
from omnidesk.inboxes import service as inboxes
from omnidesk.kit.clock import Clock
from omnidesk.kit.db import Database
from omnidesk.kit.errors import OmnideskError, ServiceUnavailable, ValidationFailed
from omnidesk.kit.security import SecretBox
from omnidesk.settings import Settings

log = structlog.get_logger(__name__)


async def register_webhook(
    db: Database,
    clock: Clock,
    actor: Principal,
    inbox_id: int,
    *,
    secret_box: SecretBox,
    settings: Settings,
) -> TelegramRegistration:
    actor.require("admin")
    async with db.transaction() as session:
        inbox = await inboxes.get_inbox(session, actor, inbox_id)
    if inbox.channel_type != TelegramChannel.name:
        raise ValidationFailed("this inbox is not a Telegram inbox", field="inbox_id")
    adapter = registry.build_adapter(inbox, secret_box, settings)
    assert isinstance(adapter, TelegramChannel)
    try:
        bot = await adapter.bot()
        await adapter.register_webhook()
    except BotApiError as exc:
        log.warning("telegram_register_refused", inbox_id=inbox.id, status=exc.status)
        raise _refusal(exc) from None
    async with db.transaction() as session:
        inbox = await inboxes.get_inbox(session, actor, inbox_id)
        inbox.config = {**inbox.config, "bot_username": bot.username}
        inbox.updated_at = clock.now()
        await events.record(
            session,
            account_id=actor.account_id,
            type="inbox.updated",
            actor_user_id=actor.user_id,
            data={"inbox_id": inbox.id, "fields": ["config.bot_username", "webhook"]},
            clock=clock,
        )
    log.info("telegram_webhook_registered", inbox_id=inbox.id, bot_id=bot.id)
    return TelegramRegistration(
        inbox_id=inbox.id,
        bot_id=bot.id,
        bot_username=bot.username,
        webhook_url=adapter.webhook_url,
        allowed_updates=updates.ALLOWED_UPDATES,
    )


def _refusal(error: BotApiError) -> OmnideskError:
    if error.status == 0 or error.status >= 500:
        return ServiceUnavailable(f"Telegram is unavailable: {error}")
    if error.status in (401, 404):
        return ValidationFailed(
            f"Telegram does not know this bot token ({error})", field="secrets.bot_token"
        )
    # setWebhook's own refusals, e.g. "bad webhook: An HTTPS URL must be provided for webhook".
    return ValidationFailed(f"Telegram refused the webhook: {error.description}", field="inbox_id")
