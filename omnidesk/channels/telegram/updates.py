"""Telegram ``Update`` objects as omnidesk's inbound messages.

Ids: a Telegram ``message_id`` is unique only within its chat, so a message is
``<chat_id>:<message_id>`` — the id our replies get too, so that a customer's reply or reaction
to one of ours names it. ``update_id`` is not used: it is a per-bot sequence that says
nothing about the message and restarts when a bot's webhook is reset.

Only private chats are taken: a message in a group, supergroup or channel is acknowledged and
logged, not stored (docs/channels/telegram.md, "Groups").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog

from omnidesk.channels.base import Inbound, InboundAttachment, InboundSender, MediaRef
from omnidesk.channels.telegram.schemas import File, Message, MessageReactionUpdated, Update, User

log = structlog.get_logger(__name__)

#: What omnidesk asks Telegram to send to its webhook (setWebhook ``allowed_updates``).
ALLOWED_UPDATES = ["message", "edited_message", "message_reaction"]
EDITED_PREFIX = "(edited) "
REACTION_REMOVED = "(reaction removed)"


def message_key(chat_id: int, message_id: int) -> str:
    return f"{chat_id}:{message_id}"


def inbounds(update: Update) -> list[Inbound]:
    if update.message is not None:
        found = _from_message(update.message, edited=False)
    elif update.edited_message is not None:
        found = _from_message(update.edited_message, edited=True)
    elif update.message_reaction is not None:
        found = _from_reaction(update.message_reaction)
    else:
        log.info("telegram_update_ignored", update_id=update.update_id, reason="kind")
        return []
    return [found] if found is not None else []


def _sender(user: User | None, chat_type: str, update_kind: str) -> InboundSender | None:
    if chat_type != "private" or user is None or user.is_bot:
        log.info("telegram_update_ignored", chat_type=chat_type, kind=update_kind)
        return None
    return InboundSender(kind="telegram", value=str(user.id), name=user.display_name)


def _from_message(message: Message, *, edited: bool) -> Inbound | None:
    sender = _sender(message.sender, message.chat.type, "edited_message" if edited else "message")
    if sender is None:
        return None
    key = message_key(message.chat.id, message.message_id)
    body = message.text or message.caption
    meta: dict[str, Any] = {}
    attachments: tuple[InboundAttachment, ...] = ()
    if message.reply_to_message is not None:
        replied = message.reply_to_message
        meta["reply_to"] = message_key(replied.chat.id, replied.message_id)
    place = message.venue.location if message.venue else message.location
    if place is not None:
        name = message.venue.title if message.venue else ""
        address = message.venue.address if message.venue else ""
        meta["location"] = {
            "latitude": place.latitude,
            "longitude": place.longitude,
            "name": name,
            "address": address,
        }
        where = ", ".join(part for part in (name, address) if part)
        body = f"📍 {where} ({place.latitude}, {place.longitude})".replace("📍  ", "📍 ")
    if message.contact is not None:
        contact = message.contact
        name = f"{contact.first_name} {contact.last_name}".strip()
        body = f"👤 {name} {contact.phone_number}".strip()
        card = contact.vcard or _vcard(contact.first_name, contact.last_name, contact.phone_number)
        attachments = (InboundAttachment("contact.vcf", "text/vcard", card.encode()),)
    if message.sticker is not None and not body:
        body = message.sticker.emoji
    if edited:
        # An edit is its own message in the timeline, keyed by when it was made: the
        # customer's words as first read stay, and a repeated edit webhook stores once.
        edited_at = message.edit_date or message.date
        meta["edit_of"] = key
        meta["edited_at"] = _when(edited_at).isoformat()
        key = f"{key}:edit:{edited_at}"
        body = EDITED_PREFIX + body
    return Inbound(
        channel_message_id=key,
        sender=sender,
        body=body,
        thread_id=str(message.chat.id),
        sent_at=_when(message.date),
        attachments=attachments,
        media=media_of(message),
        meta=meta,
    )


def media_of(message: Message) -> tuple[MediaRef, ...]:
    """The message's file, by ``file_id`` (a message carries at most one; a photo comes in
    several sizes, of which the largest is taken)."""
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return (MediaRef(largest.file_id, "image/jpeg", f"photo-{largest.file_unique_id}.jpg"),)
    kinds: tuple[tuple[File | None, str, str], ...] = (
        (message.document, "application/octet-stream", "document"),
        (message.animation, "video/mp4", "animation.mp4"),
        (message.audio, "audio/mpeg", "audio.mp3"),
        (message.voice, "audio/ogg", "voice.ogg"),
        (message.video, "video/mp4", "video.mp4"),
        (message.video_note, "video/mp4", "video-note.mp4"),
    )
    for file, content_type, filename in kinds:
        if file is not None:
            # A GIF comes as both animation and document: the first one found is kept.
            return (
                MediaRef(file.file_id, file.mime_type or content_type, file.file_name or filename),
            )
    if message.sticker is not None:
        sticker = message.sticker
        if sticker.is_animated:
            content_type, filename = "application/x-tgsticker", "sticker.tgs"
        elif sticker.is_video:
            content_type, filename = "video/webm", "sticker.webm"
        else:
            content_type, filename = "image/webp", "sticker.webp"
        return (MediaRef(sticker.file_id, content_type, filename),)
    return ()


def _from_reaction(reaction: MessageReactionUpdated) -> Inbound | None:
    sender = _sender(reaction.user, reaction.chat.type, "message_reaction")
    if sender is None or reaction.user is None:
        return None
    emojis = [r.emoji for r in reaction.new_reaction if r.type == "emoji" and r.emoji]
    if any(r.type == "paid" for r in reaction.new_reaction):
        emojis.append("⭐")
    target = message_key(reaction.chat.id, reaction.message_id)
    return Inbound(
        # A reaction has no id of its own: who reacted when is unique enough, and stable
        # across Telegram's retries of the same update.
        channel_message_id=f"{target}:reaction:{reaction.user.id}:{reaction.date}",
        sender=sender,
        body=" ".join(emojis) if emojis else REACTION_REMOVED,
        thread_id=str(reaction.chat.id),
        sent_at=_when(reaction.date),
        meta={
            "reaction": {"emoji": emojis[0] if emojis else "", "to": target},
            **({"reactions": emojis} if len(emojis) > 1 else {}),
        },
    )


def _when(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _vcard(first_name: str, last_name: str, phone: str) -> str:
    def escaped(value: str) -> str:
        return (
            value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", " ")
        )

    full = f"{first_name} {last_name}".strip()
    return (
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
        f"N:{escaped(last_name)};{escaped(first_name)};;;\r\n"
        f"FN:{escaped(full)}\r\n"
        f"TEL;TYPE=CELL:{escaped(phone)}\r\n"
        "END:VCARD\r\n"
    )
