"""The Telegram channel's shapes: its inbox configuration and secrets, the Bot API ``Update``
objects it reads (https://core.telegram.org/bots/api#update; unknown fields are ignored, as
the API adds fields over time) and the webhook registration's report."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnidesk.kit.security import new_token


def new_webhook_secret() -> str:
    # token_urlsafe's alphabet (A-Z a-z 0-9 _ -) is exactly what secret_token allows.
    return new_token("", 32)


class TelegramConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot_username: str = Field(
        default="",
        max_length=64,
        description="The bot's @username, filled in from getMe when the webhook is registered.",
    )


class TelegramSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot_token: str = Field(
        pattern=r"^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$",
        description="The token @BotFather gave (``123456789:AA…``).",
    )
    webhook_secret: str = Field(
        default_factory=new_webhook_secret,
        pattern=r"^[A-Za-z0-9_-]{16,256}$",
        description="Sent by Telegram in X-Telegram-Bot-Api-Secret-Token with every update; "
        "generated when not given.",
    )


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class User(_Lenient):
    id: int
    is_bot: bool = False
    first_name: str = ""
    last_name: str = ""
    username: str = ""

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or (f"@{self.username}" if self.username else "")


class Chat(_Lenient):
    id: int
    #: private, group, supergroup or channel
    type: str


class PhotoSize(_Lenient):
    file_id: str
    file_unique_id: str
    width: int = 0
    height: int = 0
    file_size: int | None = None


class File(_Lenient):
    """Document, Audio, Voice, Video, VideoNote, Animation and Sticker share these fields."""

    file_id: str
    file_unique_id: str
    file_name: str = ""
    mime_type: str = ""
    file_size: int | None = None
    # Sticker only
    emoji: str = ""
    is_animated: bool = False
    is_video: bool = False


class Location(_Lenient):
    latitude: float
    longitude: float


class Venue(_Lenient):
    location: Location
    title: str = ""
    address: str = ""


class Contact(_Lenient):
    phone_number: str
    first_name: str
    last_name: str = ""
    user_id: int | None = None
    vcard: str = ""


class RepliedMessage(_Lenient):
    message_id: int
    chat: Chat


class Message(_Lenient):
    message_id: int
    sender: User | None = Field(default=None, alias="from")
    chat: Chat
    date: int
    edit_date: int | None = None
    text: str = ""
    caption: str = ""
    photo: list[PhotoSize] = []
    document: File | None = None
    animation: File | None = None
    audio: File | None = None
    voice: File | None = None
    video: File | None = None
    video_note: File | None = None
    sticker: File | None = None
    location: Location | None = None
    venue: Venue | None = None
    contact: Contact | None = None
    reply_to_message: RepliedMessage | None = None


class ReactionType(_Lenient):
    #: emoji, custom_emoji or paid
    type: str
    emoji: str = ""
    custom_emoji_id: str = ""


class MessageReactionUpdated(_Lenient):
    chat: Chat
    message_id: int
    user: User | None = None
    date: int
    old_reaction: list[ReactionType] = []
    new_reaction: list[ReactionType] = []


class Update(_Lenient):
    update_id: int
    message: Message | None = None
    edited_message: Message | None = None
    message_reaction: MessageReactionUpdated | None = None


class TelegramRegistration(BaseModel):
    """What registering an inbox's webhook with Telegram did."""

    inbox_id: int
    bot_id: int
    bot_username: str
    webhook_url: str
    allowed_updates: list[str]
