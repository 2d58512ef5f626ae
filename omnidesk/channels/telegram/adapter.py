"""The Telegram channel: a bot created with @BotFather, talking to customers in private chats.

Telegram POSTs each ``Update`` to ``/api/v1/webhooks/telegram/{inbox_id}`` with the secret
token omnidesk gave ``setWebhook`` in ``X-Telegram-Bot-Api-Secret-Token``; files stay at
Telegram and are fetched by ``file_id`` (getFile, then the file URL). Replies go out with
sendMessage, files with sendPhoto / sendDocument. Telegram sends no delivery or read
receipts to bots: a reply is "sent" once the Bot API accepted it, and stays so.
"""

from __future__ import annotations

import hmac
import json
from typing import ClassVar

import httpx
from pydantic import BaseModel, ValidationError

from omnidesk.channels.base import (
    AdapterContext,
    Capabilities,
    CheckEnvironment,
    CheckResult,
    Delivery,
    DeliveryFailed,
    DeliveryUpdate,
    Inbound,
    InboundAttachment,
    MediaRef,
    MediaUnavailable,
    Outbound,
    SignatureInvalid,
    WebhookRequest,
)
from omnidesk.channels.telegram import updates
from omnidesk.channels.telegram.botapi import (
    DOWNLOAD_LIMIT_BYTES,
    BotApi,
    BotApiError,
    FileTooLarge,
    Upload,
)
from omnidesk.channels.telegram.errors import delivery_failed
from omnidesk.channels.telegram.schemas import TelegramConfig, TelegramSecrets, Update, User
from omnidesk.kit.errors import ValidationFailed

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
DEFAULT_API_URL = "https://api.telegram.org"
#: sendMessage's limit, in characters; a longer reply goes as several messages.
TEXT_LIMIT = 4096
#: sendPhoto takes photos up to 10 MB; a larger image goes as a document.
PHOTO_LIMIT_BYTES = 10 * 1024 * 1024
_PHOTO_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
#: Bots upload files of up to 50 MB.
UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024


class TelegramChannel:
    name: ClassVar[str] = "telegram"
    capabilities: ClassVar[Capabilities] = Capabilities(
        attachments=True, max_attachment_bytes=UPLOAD_LIMIT_BYTES
    )
    config_schema: ClassVar[type[BaseModel]] = TelegramConfig
    secrets_schema: ClassVar[type[BaseModel]] = TelegramSecrets
    inbound_path: ClassVar[str] = "/api/v1/webhooks/telegram/{inbox_id}"
    reply_identity_kinds: ClassVar[tuple[str, ...]] = ("telegram",)

    def __init__(
        self, context: AdapterContext, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.context = context
        self.config = TelegramConfig.model_validate(context.config)
        token = context.secrets.get("bot_token")
        secret = context.secrets.get("webhook_secret")
        self._token = token if isinstance(token, str) else ""
        self._secret = secret if isinstance(secret, str) else ""
        self.api = BotApi(
            context.provider_urls.get("telegram", DEFAULT_API_URL),
            self._token,
            timeout_s=context.timeout_s,
            transport=transport,
        )

    @property
    def webhook_url(self) -> str:
        return self.context.public_url.rstrip("/") + self.inbound_path.format(
            inbox_id=self.context.inbox_id
        )

    # Inbound --------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        given = request.header(SECRET_HEADER)
        if not self._secret:
            raise SignatureInvalid("this inbox has no webhook secret")
        if given is None:
            raise SignatureInvalid(f"no {SECRET_HEADER} header")
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            raise SignatureInvalid(f"wrong {SECRET_HEADER}")

    def parse(self, request: WebhookRequest) -> list[Inbound]:
        return updates.inbounds(_update(request))

    def status(self, request: WebhookRequest) -> list[DeliveryUpdate]:
        return []  # Telegram tells bots nothing of delivery or reading

    async def fetch_media(self, media: MediaRef, *, max_bytes: int) -> InboundAttachment:
        cap = min(max_bytes, DOWNLOAD_LIMIT_BYTES)
        try:
            file = await self.api.call("getFile", {"file_id": media.ref})
            if not isinstance(file, dict) or not isinstance(file.get("file_path"), str):
                # getFile leaves file_path out for files over the Bot API's 20 MB.
                raise MediaUnavailable("Telegram gives bots no download of files over 20 MB")
            size = file.get("file_size")
            if isinstance(size, int) and size > cap:
                raise MediaUnavailable(f"larger than {cap} bytes")
            data = await self.api.download(file["file_path"], max_bytes=cap)
        except FileTooLarge as exc:
            raise MediaUnavailable(str(exc)) from None
        except BotApiError as exc:
            raise MediaUnavailable(f"Telegram refused the file: {exc}") from None
        filename = media.filename or file["file_path"].rsplit("/", 1)[-1]
        return InboundAttachment(filename, media.content_type or "application/octet-stream", data)

    # Set-up ---------------------------------------------------------------------------

    async def bot(self) -> User:
        """The bot the token belongs to (getMe); :class:`BotApiError` when refused."""
        try:
            return User.model_validate(await self.api.call("getMe"))
        except ValidationError as exc:
            raise BotApiError(502, "getMe answered something that is not a bot") from exc

    async def register_webhook(self) -> None:
        """Point the bot's updates at this inbox (setWebhook), with the secret token."""
        await self.api.call(
            "setWebhook",
            {
                "url": self.webhook_url,
                "secret_token": self._secret,
                "allowed_updates": updates.ALLOWED_UPDATES,
            },
        )

    async def check(self, environment: CheckEnvironment) -> list[CheckResult]:
        """The token logs in (getMe), and the bot's webhook is this inbox's (getWebhookInfo)."""
        try:
            bot = await self.bot()
        except BotApiError as exc:
            return [CheckResult("bot token", False, f"Telegram refused it: {exc}")]
        results = [CheckResult("bot token", True, f"the bot is @{bot.username}")]
        try:
            info = await self.api.call("getWebhookInfo")
        except BotApiError as exc:
            return [*results, CheckResult("webhook", False, f"getWebhookInfo failed: {exc}")]
        info = info if isinstance(info, dict) else {}
        url = info.get("url") or ""
        if url != self.webhook_url:
            where = f"points at {url}" if url else "is not set"
            detail = f"the bot's webhook {where}: register it (Register webhook)"
            return [*results, CheckResult("webhook", False, detail)]
        detail = f"updates come to {url}; {info.get('pending_update_count', 0)} waiting"
        results.append(CheckResult("webhook", True, detail))
        if info.get("last_error_message"):
            results.append(
                CheckResult(
                    "last delivery",
                    False,
                    f"Telegram's last try failed: {info['last_error_message']}",
                )
            )
        return results

    # Outbound -------------------------------------------------------------------------

    async def send(self, outbound: Outbound) -> Delivery:
        """The text (in pieces of 4,096 characters), then each file; the first message's id
        is the reply's. Telegram has no idempotency key: a retry after a partial send sends
        the pieces already sent again."""
        if not self._token:
            raise DeliveryFailed("the inbox has no bot token", permanent=True, reason="auth_failed")
        # A private chat's id is its user's: the customer's Telegram identity is the chat.
        chat_id = outbound.recipient
        reply = _reply_parameters(outbound, chat_id)
        ids: list[str] = []
        try:
            for piece in _pieces(outbound.body):
                sent = await self.api.call(
                    "sendMessage", {"chat_id": chat_id, "text": piece, **reply}
                )
                ids.append(_sent_id(sent, chat_id))
                reply = {}  # the first piece answers; the rest follow it
            for file in outbound.attachments:
                sent = await self.api.call(
                    "sendDocument" if not _photo(file) else "sendPhoto",
                    {"chat_id": chat_id, **reply},
                    upload=_upload(file),
                )
                ids.append(_sent_id(sent, chat_id))
                reply = {}
        except BotApiError as exc:
            raise delivery_failed(exc) from None
        return Delivery(channel_message_id=ids[0] if ids else None, state="sent")


def _update(request: WebhookRequest) -> Update:
    try:
        payload = json.loads(request.body)
    except ValueError as exc:
        raise ValidationFailed(f"the update is not JSON: {exc}", field="body") from None
    try:
        return Update.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValidationFailed(
            f"not a Telegram update: {first['msg']}", field=where or "body"
        ) from None


def _pieces(body: str) -> list[str]:
    """The text in sendMessage-sized pieces, cut at a line break where there is one."""
    text = body.strip()
    pieces: list[str] = []
    while len(text) > TEXT_LIMIT:
        cut = text.rfind("\n", 0, TEXT_LIMIT)
        cut = cut if cut > TEXT_LIMIT // 2 else TEXT_LIMIT
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*pieces, text] if text else pieces


def _reply_parameters(outbound: Outbound, chat_id: str) -> dict[str, object]:
    """``reply_parameters`` when the agent answers one message (``meta["reply_to"]``, an id of
    this chat); the reply still goes if that message was deleted."""
    target = outbound.meta.get("reply_to")
    if not isinstance(target, str):
        return {}
    chat, _, message_id = target.partition(":")
    if chat != chat_id or not message_id.isdigit():
        return {}
    return {
        "reply_parameters": {"message_id": int(message_id), "allow_sending_without_reply": True}
    }


def _photo(file: InboundAttachment) -> bool:
    return file.content_type in _PHOTO_TYPES and len(file.data) <= PHOTO_LIMIT_BYTES


def _upload(file: InboundAttachment) -> Upload:
    return Upload(
        "photo" if _photo(file) else "document", file.filename, file.content_type, file.data
    )


def _sent_id(result: object, chat_id: str) -> str:
    """``<chat_id>:<message_id>`` of a sent message, as a customer's reply to it will name it."""
    message = result if isinstance(result, dict) else {}
    message_id, chat = message.get("message_id"), message.get("chat")
    if not isinstance(message_id, int):
        raise BotApiError(502, "the Bot API accepted a message without giving its id")
    found = chat.get("id") if isinstance(chat, dict) else None
    return f"{found if isinstance(found, int) else chat_id}:{message_id}"
