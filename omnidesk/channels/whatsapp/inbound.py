"""Reading the Cloud API's webhooks: customers' messages and our messages' statuses.

A webhook is ``{"object": "whatsapp_business_account", "entry": [{"changes": [{"field":
"messages", "value": {...}}]}]}``; a value carries ``messages`` (from customers, with the
senders' profiles in ``contacts``) and/or ``statuses`` (of ours), for one phone number
(``metadata.phone_number_id``). Values of another phone number of the same app are not this
inbox's and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from omnidesk.channels import meta
from omnidesk.channels.base import (
    DeliveryState,
    DeliveryUpdate,
    Inbound,
    InboundAttachment,
    InboundSender,
    MediaRef,
)
from omnidesk.kit.errors import ValidationFailed

OBJECT = "whatsapp_business_account"
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
_STATES: dict[str, DeliveryState] = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
}
_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/aac": "aac",
    "audio/mp4": "m4a",
    "audio/amr": "amr",
    "video/mp4": "mp4",
    "video/3gpp": "3gp",
    "application/pdf": "pdf",
}


def values(payload: Any, phone_number_id: str) -> Iterator[dict[str, Any]]:
    """The ``value`` of each ``messages`` change for this inbox's phone number."""
    if not isinstance(payload, dict) or payload.get("object") != OBJECT:
        raise ValidationFailed(f"not a WhatsApp webhook (object must be {OBJECT!r})")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise ValidationFailed("a WhatsApp webhook needs an entry list", field="entry")
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            raise ValidationFailed("each entry needs a changes list", field="entry")
        for change in changes:
            if not isinstance(change, dict) or change.get("field") != "messages":
                continue  # account updates, template reviews…: nothing to store
            value = change.get("value")
            if not isinstance(value, dict):
                raise ValidationFailed("a messages change needs a value", field="value")
            metadata = value.get("metadata")
            number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
            if number is not None and str(number) != phone_number_id:
                continue
            yield value


def messages(value: dict[str, Any]) -> list[Inbound]:
    names = {
        str(c.get("wa_id")): str((c.get("profile") or {}).get("name") or "")
        for c in _list(value, "contacts")
        if isinstance(c, dict)
    }
    found = []
    for message in _list(value, "messages"):
        inbound = _message(message, names)
        if inbound is not None:
            found.append(inbound)
    return found


def statuses(value: dict[str, Any]) -> list[DeliveryUpdate]:
    updates = []
    for status in _list(value, "statuses"):
        if not isinstance(status, dict):
            raise ValidationFailed("a status must be an object", field="statuses")
        state = _STATES.get(str(status.get("status")))
        wamid = status.get("id")
        if state is None or not isinstance(wamid, str) or not wamid:
            continue  # "deleted", "warning"…: not a delivery state of ours
        error = reason = None
        if state == "failed":
            errors = [e for e in status.get("errors") or [] if isinstance(e, dict)]
            first = errors[0] if errors else {}
            failure = meta.graph_failure(400, {"error": {**first, "message": _error_text(first)}})
            error, reason = failure.message, failure.reason
        updates.append(DeliveryUpdate(wamid, state, error=error, reason=reason))
    return updates


def _message(message: Any, names: dict[str, str]) -> Inbound | None:
    if not isinstance(message, dict):
        raise ValidationFailed("a message must be an object", field="messages")
    wamid, sender = message.get("id"), message.get("from")
    if not isinstance(wamid, str) or not wamid or not isinstance(sender, str) or not sender:
        raise ValidationFailed("a message needs an id and a sender", field="messages")
    kind = str(message.get("type") or "")
    number = "+" + sender.lstrip("+")
    inbound_sender = InboundSender(
        kind="whatsapp",
        value=number,
        name=names.get(sender, ""),
        # The same number on SMS reaches the same contact (when the account links them:
        # contacts.service decides).
        extra_identities=(("phone", number),),
    )
    context = _object(message.get("context"))
    extra: dict[str, Any] = {"whatsapp_type": kind}
    if context.get("id"):
        extra["reply_to"] = str(context["id"])
    if context.get("forwarded") or context.get("frequently_forwarded"):
        extra["forwarded"] = True
    common: dict[str, Any] = {
        "channel_message_id": wamid,
        "sender": inbound_sender,
        "sent_at": _timestamp(message.get("timestamp")),
        "meta": extra,
    }
    content = _object(message.get(kind))
    if kind == "text":
        return Inbound(body=str(content.get("body") or ""), **common)
    if kind in MEDIA_TYPES:
        return _media(kind, content, common)
    if kind == "location":
        return _location(content, common)
    if kind == "contacts":
        return _contacts(message.get("contacts"), common)
    if kind == "interactive":
        reply = content.get(str(content.get("type") or "")) or {}
        extra["choice"] = {"id": reply.get("id"), "title": reply.get("title")}
        return Inbound(body=str(reply.get("title") or ""), **common)
    if kind == "button":  # a template's quick-reply button
        extra["choice"] = {"id": content.get("payload"), "title": content.get("text")}
        return Inbound(body=str(content.get("text") or ""), **common)
    if kind == "reaction":
        emoji = str(content.get("emoji") or "")
        extra["reaction"] = {"emoji": emoji, "to": content.get("message_id")}
        common["channel_message_id"] = f"{wamid}:reaction"
        # Taking a reaction back comes as a reaction without an emoji.
        return Inbound(body=emoji or "(reaction removed)", **common)
    if kind == "system":
        return None  # "customer changed number" notices: not the customer's words
    # "unsupported" (a poll, a view-once photo…) and types newer than this adapter: kept,
    # so the agent knows the customer wrote.
    errors = [e for e in message.get("errors") or [] if isinstance(e, dict)]
    detail = _error_text(errors[0]) if errors else f"a {kind or 'new'} message"
    extra["unsupported"] = detail
    return Inbound(body=f"[WhatsApp: {detail}]", **common)


def _media(kind: str, content: dict[str, Any], common: dict[str, Any]) -> Inbound:
    media_id = content.get("id")
    if not isinstance(media_id, str) or not media_id:
        raise ValidationFailed(f"a {kind} message needs a media id", field="messages")
    content_type = str(content.get("mime_type") or "").split(";")[0].strip()
    filename = str(content.get("filename") or "")
    if not filename:
        filename = f"{kind}.{_EXTENSIONS.get(content_type, 'bin')}"
    if content.get("voice"):
        common["meta"]["voice"] = True
    return Inbound(
        body=str(content.get("caption") or ""),
        media=(MediaRef(media_id, content_type, filename),),
        **common,
    )


def _location(content: dict[str, Any], common: dict[str, Any]) -> Inbound:
    try:
        latitude, longitude = float(content["latitude"]), float(content["longitude"])
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed("a location needs a latitude and a longitude") from None
    name, address = str(content.get("name") or ""), str(content.get("address") or "")
    label = ", ".join(part for part in (name, address) if part)
    common["meta"]["location"] = {
        "latitude": latitude,
        "longitude": longitude,
        "name": name,
        "address": address,
    }
    body = f"📍 {label} ({latitude}, {longitude})" if label else f"📍 ({latitude}, {longitude})"
    return Inbound(body=body, **common)


def _contacts(cards: Any, common: dict[str, Any]) -> Inbound:
    cards = [c for c in cards or [] if isinstance(c, dict)]
    lines, vcards = [], []
    for card in cards:
        name = str((card.get("name") or {}).get("formatted_name") or "")
        phones = [str(p.get("phone")) for p in card.get("phones") or [] if p.get("phone")]
        emails = [str(e.get("email")) for e in card.get("emails") or [] if e.get("email")]
        lines.append(" ".join([name, *phones, *emails]).strip())
        vcards.append(_vcard(name, phones, emails, card))
    attachment = InboundAttachment(
        filename="contacts.vcf",
        content_type="text/vcard",
        data="".join(vcards).encode(),
    )
    body = "👤 " + "; ".join(line for line in lines if line)
    return Inbound(body=body, attachments=(attachment,) if vcards else (), **common)


def _vcard(name: str, phones: list[str], emails: list[str], card: dict[str, Any]) -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{_escape(name)}"]
    parts = card.get("name") or {}
    lines.append(
        "N:"
        + ";".join(
            _escape(str(parts.get(k) or ""))
            for k in ("last_name", "first_name", "middle_name", "prefix", "suffix")
        )
    )
    org = (card.get("org") or {}).get("company")
    if org:
        lines.append(f"ORG:{_escape(str(org))}")
    lines.extend(f"TEL:{_escape(p)}" for p in phones)
    lines.extend(f"EMAIL:{_escape(e)}" for e in emails)
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r", "")
        .replace("\n", "\\n")
    )


def _error_text(error: dict[str, Any]) -> str:
    details = error.get("error_data")
    if isinstance(details, dict) and details.get("details"):
        return str(details["details"])
    return str(error.get("message") or error.get("title") or "unknown error")


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: dict[str, Any], key: str) -> list[Any]:
    found = value.get(key)
    if found is None:
        return []
    if not isinstance(found, list):
        raise ValidationFailed(f"{key} must be a list", field=key)
    return found


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
