"""Reading the Messenger Platform's webhooks: Facebook Messenger and Instagram messaging.

Both post ``{"object": "page" | "instagram", "entry": [{"id": <page or IG account id>,
"time": …, "messaging": [event, …]}]}``, one event per customer action, each with
``sender.id`` (the customer's page-scoped PSID or Instagram-scoped IGSID), ``recipient.id``
(us) and ``timestamp`` (milliseconds), and one of:

- ``message``: ``mid``, ``text``, ``attachments`` (``image``/``video``/``audio``/``file``
  by URL; Messenger ``location``; Instagram ``story_mention``; shares, reels and
  ``fallback`` links), ``quick_reply.payload``, ``reply_to.mid`` (or ``reply_to.story``
  on Instagram), ``is_echo`` (a message *from* the Page, see :func:`_is_echo`),
  ``is_deleted`` (Instagram: the customer unsent it);
- ``postback`` (a button or an Instagram ice-breaker tapped): ``title``, ``payload``, ``mid``;
- ``reaction``: ``mid`` (the message reacted to), ``action`` (``react``/``unreact``),
  ``reaction``, ``emoji``;
- ``delivery`` (``mids``, ``watermark``) and ``read`` (``watermark`` on Messenger, ``mid``
  on Instagram): receipts for our messages.

Entries for another page or account than the inbox's (one Meta app may serve several) are
skipped, with a log line: they belong to another inbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import structlog

from omnidesk.channels.base import (
    DeliveryUpdate,
    Inbound,
    InboundSender,
    MediaRef,
    ReadWatermark,
)
from omnidesk.kit.errors import ValidationFailed

log = structlog.get_logger(__name__)

#: Attachments downloaded into the message (by their CDN URL, which needs no token).
MEDIA_TYPES = frozenset({"image", "video", "audio", "file"})
#: Attachments kept as links: a post, reel or page someone shared (Meta's policy forbids
#: keeping a copy of Instagram's shared media; their URLs expire).
LINK_TYPES = frozenset(
    {"share", "reel", "ig_reel", "post", "ig_post", "fallback", "template", "story_mention"}
)


@dataclass
class Webhook:
    """What one webhook request carries for one inbox."""

    inbound: list[Inbound] = field(default_factory=list)
    updates: list[DeliveryUpdate] = field(default_factory=list)
    watermarks: list[ReadWatermark] = field(default_factory=list)


def read(body: bytes, *, object_type: str, account_id: str, identity_kind: str) -> Webhook:
    """The messages and receipts in a webhook body for the page or account ``account_id``.

    Raises :class:`ValidationFailed` for a body that is not a Messenger Platform webhook of
    ``object_type``; unknown event kinds inside a valid body are skipped (Meta adds new ones).
    """
    payload = _json(body)
    if payload.get("object") != object_type:
        raise ValidationFailed(
            f"expected a webhook with object {object_type!r}, got {payload.get('object')!r}",
            field="object",
        )
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise ValidationFailed("the webhook has no entry list", field="entry")
    found = Webhook()
    for entry in entries:
        if not isinstance(entry, dict):
            raise ValidationFailed("an entry is not an object", field="entry")
        if str(entry.get("id", "")) != account_id:
            log.info("meta_entry_for_another_inbox", entry_id=entry.get("id"), ours=account_id)
            continue
        for event in _events(entry):
            _read_event(event, found, identity_kind=identity_kind)
    return found


def _json(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise ValidationFailed("the webhook body is not JSON", field="body") from None
    if not isinstance(payload, dict):
        raise ValidationFailed("the webhook body is not a JSON object", field="body")
    return payload


def _events(entry: dict[str, Any]) -> Iterator[dict[str, Any]]:
    # ``standby`` (another app of the Page's handover protocol owns the thread) is not ours
    # to answer: only ``messaging`` is read.
    events = entry.get("messaging") or []
    if not isinstance(events, list):
        raise ValidationFailed("entry.messaging is not a list", field="entry.messaging")
    for event in events:
        if not isinstance(event, dict):
            raise ValidationFailed("a messaging event is not an object", field="entry.messaging")
        yield event


def _read_event(event: dict[str, Any], found: Webhook, *, identity_kind: str) -> None:
    sender = _id_of(event.get("sender"), "sender")
    sent_at = _instant(event.get("timestamp"))
    if isinstance(message := event.get("message"), dict):
        if _is_echo(message):
            # Our own reply coming back, or a person answering from the Page's own inbox
            # (Meta Business Suite): not the customer's words. Ours are stored already;
            # answers typed elsewhere stay there (see docs/channels/messenger.md).
            log.info("meta_echo_skipped", mid=message.get("mid"))
            return
        if message.get("is_deleted"):
            # Instagram: the customer unsent it (one stored already stays).
            log.info("meta_message_skipped", mid=message.get("mid"), reason="unsent")
            return
        found.inbound.append(_message(message, sender, sent_at, identity_kind))
    elif isinstance(postback := event.get("postback"), dict):
        found.inbound.append(_postback(postback, sender, sent_at, identity_kind))
    elif isinstance(reaction := event.get("reaction"), dict):
        found.inbound.append(_reaction(reaction, sender, sent_at, identity_kind))
    elif isinstance(delivery := event.get("delivery"), dict):
        mids = delivery.get("mids") or []
        found.updates += [DeliveryUpdate(str(mid), "delivered") for mid in mids if mid]
    elif isinstance(seen := event.get("read"), dict):
        if seen.get("mid"):
            found.updates.append(DeliveryUpdate(str(seen["mid"]), "read"))
        elif seen.get("watermark") is not None:
            until = _instant(seen["watermark"])
            found.watermarks.append(ReadWatermark(identity_kind, sender, until))
    else:
        log.info("meta_event_skipped", keys=sorted(k for k in event if k not in _COMMON))


_COMMON = {"sender", "recipient", "timestamp"}


def _is_echo(message: dict[str, Any]) -> bool:
    return bool(message.get("is_echo"))


def _message(
    message: dict[str, Any], sender: str, sent_at: datetime, identity_kind: str
) -> Inbound:
    mid = _mid(message.get("mid"))
    meta: dict[str, Any] = {}
    lines = [str(message.get("text") or "")]
    media: list[MediaRef] = []
    thread_refs: tuple[str, ...] = ()
    if isinstance(quick := message.get("quick_reply"), dict) and quick.get("payload"):
        meta["quick_reply"] = str(quick["payload"])
    if isinstance(reply_to := message.get("reply_to"), dict):
        if reply_to.get("mid"):
            meta["reply_to"] = str(reply_to["mid"])
            thread_refs = (meta["reply_to"],)
        if isinstance(story := reply_to.get("story"), dict):
            meta["story_reply"] = {"url": story.get("url"), "id": story.get("id")}
    if message.get("is_unsupported"):
        # A GIF, sticker or other content Meta does not hand to apps: the agent still learns
        # that the customer wrote.
        meta["unsupported"] = True
        lines.append("(a message Meta does not pass on: see it in the app)")
    attachments = message.get("attachments") or []
    if not isinstance(attachments, list):
        raise ValidationFailed("message.attachments is not a list", field="message.attachments")
    for index, attachment in enumerate(attachments):
        if not isinstance(attachment, dict):
            raise ValidationFailed("an attachment is not an object", field="message.attachments")
        kind = str(attachment.get("type") or "")
        given = attachment.get("payload")
        payload: dict[str, Any] = given if isinstance(given, dict) else {}
        url = str(payload.get("url") or "")
        if kind in MEDIA_TYPES and url:
            media.append(MediaRef(url, content_type="", filename=_filename(url, kind, index)))
        elif kind == "location":
            location = _location(attachment, payload)
            meta["location"] = location
            lines.append(_location_line(location))
        elif kind == "story_mention":
            meta["story_mention"] = {"url": url or None}
            lines.append("(mentioned you in their story)")
        elif kind in LINK_TYPES or url:
            title = str(attachment.get("title") or payload.get("title") or "")
            meta.setdefault("shares", []).append({"type": kind, "url": url or None, "title": title})
            lines.append(" ".join(part for part in (title, url) if part) or f"({kind})")
    return Inbound(
        channel_message_id=mid,
        sender=InboundSender(kind=identity_kind, value=sender),
        body="\n".join(line for line in lines if line),
        sent_at=sent_at,
        meta=meta,
        media=tuple(media),
        thread_refs=thread_refs,
    )


def _postback(
    postback: dict[str, Any], sender: str, sent_at: datetime, identity_kind: str
) -> Inbound:
    # Before Graph API v11 a postback had no mid: the sender and instant identify it.
    mid = str(postback.get("mid") or f"postback:{sender}:{int(sent_at.timestamp() * 1000)}")
    title = str(postback.get("title") or "")
    return Inbound(
        channel_message_id=_mid(mid),
        sender=InboundSender(kind=identity_kind, value=sender),
        body=title or str(postback.get("payload") or ""),
        sent_at=sent_at,
        meta={"postback": {"title": title, "payload": postback.get("payload")}},
    )


def _reaction(
    reaction: dict[str, Any], sender: str, sent_at: datetime, identity_kind: str
) -> Inbound:
    to = _mid(reaction.get("mid"))
    action = str(reaction.get("action") or "react")
    emoji = str(reaction.get("emoji") or "") if action == "react" else ""
    # One customer may react, unreact and react again to one message: each is its own event.
    stamp = int(sent_at.timestamp() * 1000)
    return Inbound(
        channel_message_id=f"{to}:reaction:{stamp}",
        sender=InboundSender(kind=identity_kind, value=sender),
        body=emoji or ("(reaction removed)" if action == "unreact" else str(reaction["reaction"])),
        sent_at=sent_at,
        meta={
            "reaction": {
                "emoji": emoji or None,
                "to": to,
                "action": action,
                "name": reaction.get("reaction"),
            }
        },
        thread_refs=(to,),
    )


def _location(attachment: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    coordinates = payload.get("coordinates")
    if not isinstance(coordinates, dict):
        raise ValidationFailed("a location has no coordinates", field="message.attachments")
    try:
        latitude, longitude = float(coordinates["lat"]), float(coordinates["long"])
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed(
            "a location's coordinates are not numbers", field="message.attachments"
        ) from None
    return {
        "latitude": latitude,
        "longitude": longitude,
        "name": str(attachment.get("title") or ""),
        "address": "",
    }


def _location_line(location: dict[str, Any]) -> str:
    where = location["name"] or location["address"]
    point = f"({location['latitude']}, {location['longitude']})"
    return f"📍 {where} {point}" if where else f"📍 {point}"


def _filename(url: str, kind: str, index: int) -> str:
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    if name and "." in name and len(name) <= 120:
        return name
    return f"{kind}-{index + 1}"


def _id_of(party: Any, where: str) -> str:
    if not isinstance(party, dict) or not party.get("id"):
        raise ValidationFailed(f"a messaging event has no {where}.id", field=where)
    return str(party["id"])


def _mid(value: Any) -> str:
    if not value or not isinstance(value, str | int):
        raise ValidationFailed("a message has no mid", field="message.mid")
    text = str(value)
    if len(text) > 255:
        raise ValidationFailed("a message's mid is too long", field="message.mid")
    return text


def _instant(value: Any) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed("a messaging event has no timestamp", field="timestamp")
    return datetime.fromtimestamp(value / 1000, UTC)
