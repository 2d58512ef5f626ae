"""The Telegram inbox's admin action: register its webhook with the Bot API."""

from __future__ import annotations

from fastapi import APIRouter

from omnidesk.channels.telegram import service
from omnidesk.channels.telegram.schemas import TelegramRegistration
from omnidesk.kit.types import RowId
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ClockDep, ContainerDep

router = APIRouter(prefix="/api/v1/inboxes", tags=["telegram channel"])


@router.post(
    "/{inbox_id}/telegram/register",
    summary="Register a Telegram inbox's webhook with the Bot API (admin)",
    description="Calls getMe (the bot's @username is kept in the inbox's config) and "
    "setWebhook with the inbox's webhook URL, its secret token and the updates omnidesk "
    "reads (message, edited_message, message_reaction). Run it after creating the inbox, "
    "after changing its bot token or webhook secret, and after changing the public URL. "
    "The public URL must be HTTPS on port 443, 80, 88 or 8443 (Telegram's rule).",
    responses={
        403: {"description": "The caller is not an admin"},
        404: {"description": "No such inbox in the caller's account"},
        422: {
            "description": "Not a Telegram inbox, a bot token Telegram does not know, or a "
            "webhook URL Telegram refuses"
        },
        503: {"description": "Telegram could not be reached"},
    },
)
async def register_webhook(
    inbox_id: RowId, principal: PrincipalDep, container: ContainerDep, clock: ClockDep
) -> TelegramRegistration:
    return await service.register_webhook(
        container.db,
        clock,
        principal,
        inbox_id,
        secret_box=container.secret_box,
        settings=container.settings,
    )
