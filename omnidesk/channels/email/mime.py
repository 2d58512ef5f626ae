"""One raw RFC 5322 message in, one normalised :class:`Inbound` out.

This is the only door from bytes to the email channel's Inbound: the SMTP listener, the
IMAP poller and the benchmark all come through :func:`to_inbound`. It never raises on what
a sender's software got wrong (a bad charset, a broken header, a truncated part): it keeps
what it can read and falls back for the rest.

Where things go:

* ``body`` is what the customer wrote *this time*, for the timeline: quoted history and
  signature removed (:mod:`~omnidesk.channels.email.quotes`). Forwarded messages stay in
  it, below a "Forwarded message" line, since they are what the customer wants read.
* ``meta["text"]`` is the full plain text when ``body`` is shorter (the original, for the
  agent's "show quoted text"); ``meta["stripped"]`` says what was removed.
* ``body_html`` is the full HTML part, sanitised with nh3 (``cid:`` images kept). An
  HTML-only mail also gets its text read from the HTML (:mod:`~.markup`).
* ``attachments``: every non-body part, inline images with their ``content_id``; parts of
  a forwarded ``message/rfc822`` too. One the attachment limits refuse (too large, a type
  not accepted) is dropped and listed in ``meta["dropped_attachments"]``: the mail and its
  other parts are kept.
* ``meta["auto"]`` flags mail no one typed (``auto_reply``, ``bounce``, ``bulk``;
  :mod:`~.loops`) so nothing answers it automatically; a bounce's DSN fields are in
  ``meta["dsn"]`` and the bounced message's Message-ID leads its ``thread_refs``.
* Threading: ``channel_message_id`` is the normalised Message-ID (or, when the mail has
  none, one made from a hash of its content without trace headers, so a re-delivery
  still dedupes); ``thread_refs`` are In-Reply-To, then References newest first.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

import structlog

from omnidesk.channels.base import Inbound, InboundAttachment, InboundSender
from omnidesk.channels.email import loops, quotes
from omnidesk.channels.email.ids import normalise_message_id
from omnidesk.conversations.service import check_attachment
from omnidesk.kit import markup
from omnidesk.kit.errors import PayloadTooLarge, UnsupportedMediaType
from omnidesk.settings import AttachmentSettings

log = structlog.get_logger(__name__)

#: Message-IDs looked up per mail: a long References header adds nothing past these.
MAX_THREAD_REFS = 20
#: ``channel_message_id`` is a String(255); a longer Message-ID is stored as its hash.
MAX_ID_CHARS = 255
#: Forwards inside forwards read, and parts read per mail: bounded work per message.
MAX_DEPTH = 4
MAX_PARTS = 500
#: Headers added on the way (by relays, the mailbox): not part of what the sender sent.
_TRACE_HEADERS = frozenset(
    {
        b"received", b"return-path", b"delivered-to", b"x-original-to", b"x-received",
        b"received-spf", b"authentication-results", b"arc-seal", b"arc-message-signature",
        b"arc-authentication-results", b"x-spam-status", b"x-spam-score",
    }
)  # fmt: skip
_ANGLE_ID = re.compile(r"<([^<>\s]+)>")
_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|fw|wg|tr|rv|enc|vs|doorst)\s*:", re.IGNORECASE)
#: Labels whose bytes are, in practice, a superset's (WHATWG Encoding, "legacy" labels).
_SUPERSETS = {
    "ascii": "cp1252", "us-ascii": "cp1252", "iso-8859-1": "cp1252", "latin-1": "cp1252",
    "latin1": "cp1252", "iso8859-1": "cp1252", "gb2312": "gb18030", "gbk": "gb18030",
    "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "shift_jis": "cp932", "sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext", "iso-8859-9": "cp1254", "tis-620": "cp874",
}  # fmt: skip
_RETRY_CODECS = {"iso2022_jp_ext": ("iso2022_jp_2", "iso2022_jp_3")}
_FALLBACK_CODECS = ("utf-8", "cp1252")
_FORWARD_LINE = "---------- Forwarded message ----------"


def to_inbound(raw: bytes, *, limits: AttachmentSettings | None = None) -> Inbound:
    """The customer message in ``raw``. ``meta`` carries ``message_id``, ``in_reply_to``,
    ``references`` (oldest first), ``to`` and ``cc`` (lists of addresses), and what the
    module docstring lists. ``limits``: the attachment limits (default: the defaults)."""
    try:
        return _to_inbound(raw, limits or AttachmentSettings())
    except Exception as exc:
        # A structure the stdlib parser cannot walk (parts nested thousands deep), or a bug
        # of ours: the mail is kept as text rather than refused again at every retry.
        deep = isinstance(exc, RecursionError)  # its traceback is thousands of frames
        log.error("email_unparsable", size=len(raw), error=repr(exc)[:200], exc_info=not deep)
        return _as_text(raw)


def _to_inbound(raw: bytes, limits: AttachmentSettings) -> Inbound:
    msg = _parse(raw)
    headers = _Headers(msg)
    message_id = _first_id(headers.get("message-id"))
    in_reply_to = _first_id(headers.get("in-reply-to"))
    references = _all_ids(headers.get("references"))
    name, address = _sender(headers)
    subject = headers.get("subject").strip()
    content = _Content(limits)
    content.read(msg, depth=0)
    is_report = msg.get_content_type() == "multipart/report" and (
        str(msg.get_param("report-type", "")).lower() == "delivery-status"
    )
    auto, auto_reason = loops.auto_kind(
        headers.auto_headers(), address, subject, is_report=is_report or bool(content.dsn)
    )
    full_text = content.text()
    reply = quotes.split_reply(full_text, forwarding=bool(_FORWARD_SUBJECT.match(subject)))
    meta: dict[str, Any] = {
        "message_id": message_id,
        "in_reply_to": in_reply_to,
        "references": references,
        "to": _addresses(headers.raw("to")),
        "cc": _addresses(headers.raw("cc")),
        "reply_to": _addresses(headers.raw("reply-to")),
        "auto": auto,
        "auto_reason": auto_reason,
        "stripped": {"quote": reply.quote_stripped, "signature": reply.signature_stripped},
        "forwarded": content.forwarded or reply.forwarded,
    }
    if reply.display != full_text.strip():
        meta["text"] = full_text
    if content.dsn is not None:
        meta["dsn"] = content.dsn
        meta["original"] = content.original
    if content.dropped:
        meta["dropped_attachments"] = content.dropped
    if msg.defects or content.defects:
        meta["defects"] = len(msg.defects) + content.defects
    refs = [content.original_id] if content.original_id else []
    refs += [in_reply_to] if in_reply_to else []
    refs += reversed(references)
    own = message_id or _generated_id(raw)
    return Inbound(
        channel_message_id=_stored_id(own),
        sender=InboundSender(kind="email", value=address, name=name),
        body=reply.display,
        body_html=markup.sanitise(content.html) if content.html is not None else None,
        subject=subject or None,
        sent_at=_date(headers.get("date")),
        attachments=tuple(content.attachments),
        meta=meta,
        thread_refs=tuple(_unique(_stored_id(r) for r in refs if r and r != own)[:MAX_THREAD_REFS]),
    )


def _as_text(raw: bytes) -> Inbound:
    """The last resort: the header block read for sender, subject and ids, the rest as
    text."""
    text = raw.replace(b"\r\n", b"\n")
    head, _, body = text.partition(b"\n\n")
    headers = _Headers(message_from_bytes(head + b"\n\n", policy=policy.compat32))
    name, address = _sender(headers)
    message_id = _first_id(headers.get("message-id"))
    references = _all_ids(headers.get("references"))
    in_reply_to = _first_id(headers.get("in-reply-to"))
    own = message_id or _generated_id(raw)
    refs = ([in_reply_to] if in_reply_to else []) + list(reversed(references))
    return Inbound(
        channel_message_id=_stored_id(own),
        sender=InboundSender(kind="email", value=address, name=name),
        body=decode_text(body, None),
        subject=headers.get("subject").strip() or None,
        meta={
            "message_id": message_id,
            "in_reply_to": in_reply_to,
            "references": references,
            "to": _addresses(headers.raw("to")),
            "cc": _addresses(headers.raw("cc")),
            "auto": None,
            "unparsed": True,
        },
        thread_refs=tuple(_unique(_stored_id(r) for r in refs if r != own)[:MAX_THREAD_REFS]),
    )


# Headers --------------------------------------------------------------------------------


class _Headers:
    """Header values as text, read from the raw header lines: encoded words decoded where
    they can be, raw 8-bit bytes read as UTF-8 (else Windows-1252). The stdlib's typed
    headers (``policy.default``) parse every header again at each access and cost more
    than the rest of a mail's reading, so messages are parsed with ``compat32``."""

    def __init__(self, msg: Message) -> None:
        self.values: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            self.values.setdefault(name.lower(), []).append(str(value))

    def raw(self, name: str) -> str:
        return ", ".join(self.values.get(name, []))

    def get(self, name: str) -> str:
        return ", ".join(_decode_words(v) for v in self.values.get(name, []))

    def auto_headers(self) -> dict[str, str]:
        names = ("auto-submitted", "x-autoreply", "x-autorespond", "precedence")
        return {name: self.get(name) for name in names if name in self.values}


def _parse(raw: bytes) -> Message:
    return message_from_bytes(raw, policy=policy.compat32)


def _repair(value: str) -> str:
    """Raw 8-bit bytes left in a header (as surrogates) read as UTF-8, else Windows-1252."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return decode_text(value.encode("utf-8", "surrogateescape"), None)


def _decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded with :func:`decode_text` (a bad charset falls back
    instead of failing the header); the rest as it came."""
    value = " ".join(value.split())  # unfolded
    try:
        chunks = decode_header(value)
    except Exception:
        return _repair(value)
    text = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            text.append(chunk)
        elif charset is None:  # the unencoded text between words, as the stdlib gives it
            text.append(chunk.decode("raw-unicode-escape"))
        else:
            text.append(decode_text(chunk, charset))
    return _repair("".join(text))


def _first_id(value: str) -> str | None:
    ids = _all_ids(value)
    return ids[0] if ids else None


def _all_ids(value: str) -> list[str]:
    """Message-IDs in a header, in order: ``<…>`` tokens, else bare words with an ``@``."""
    found = _ANGLE_ID.findall(value) or [w for w in value.replace(",", " ").split() if "@" in w]
    return _unique(normalise_message_id(v) for v in found if normalise_message_id(v))


def _stored_id(message_id: str) -> str:
    if len(message_id) <= MAX_ID_CHARS:
        return message_id
    return "sha256." + hashlib.sha256(message_id.encode()).hexdigest()


def without_headers(raw: bytes, names: frozenset[bytes]) -> tuple[list[bytes], bytes]:
    """The header lines of ``raw`` but those named in ``names`` (lower-case, folded lines
    included), and its body; line endings become ``\\n``."""
    text = raw.replace(b"\r\n", b"\n")
    head, _, body = text.partition(b"\n\n")
    kept: list[bytes] = []
    skipping = False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = line.partition(b":")[0].strip().lower() in names
        if not skipping:
            kept.append(line)
    return kept, body


def _generated_id(raw: bytes) -> str:
    """A Message-ID for a mail without one, the same for every delivery of that mail:
    trace headers (Received…) and line endings differ between deliveries, so they are left
    out of the hash."""
    kept, body = without_headers(raw, _TRACE_HEADERS)
    digest = hashlib.sha256(b"\n".join(kept) + b"\n\n" + body).hexdigest()
    return f"generated.{digest[:40]}@omnidesk.invalid"


def _sender(headers: _Headers) -> tuple[str, str]:
    """The author's name and lower-cased address: From, else Sender, else Return-Path."""
    for name in ("from", "sender", "return-path"):
        # Addresses first, names decoded after: a decoded name may hold commas or brackets.
        for display, address in getaddresses([headers.raw(name)]):
            if "@" in address:
                return _decode_words(display).strip(), _repair(address).strip().lower()
    return "", ""


def _addresses(value: str) -> list[str]:
    return [_repair(a).strip().lower() for _, a in getaddresses([value]) if "@" in a]


def _date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(values))


# Charsets -------------------------------------------------------------------------------


def decode_text(data: bytes, charset: str | None) -> str:
    """``data`` as text, never raising: the declared charset (or the superset senders
    really mean by it), then UTF-8, then Windows-1252, then the declared one with
    replacement characters."""
    label = (charset or "").strip().strip("\"'").lower()
    codec = _SUPERSETS.get(label, label)
    candidates = [codec, *_RETRY_CODECS.get(codec, ()), *_FALLBACK_CODECS] if codec else []
    for candidate in candidates or _FALLBACK_CODECS:
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        return data.decode(codec or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


# Parts ----------------------------------------------------------------------------------


@dataclass
class _Content:
    """What a message's parts hold, read once."""

    limits: AttachmentSettings
    texts: list[str] = field(default_factory=list)
    html: str | None = None
    attachments: list[InboundAttachment] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    forwarded: list[dict[str, Any]] = field(default_factory=list)
    dsn: dict[str, Any] | None = None
    #: The Message-ID of the message a bounce returns (ours, usually).
    original_id: str | None = None
    original: str | None = None
    defects: int = 0
    parts: int = 0

    def text(self) -> str:
        return "\n\n".join(t.strip("\n") for t in self.texts if t.strip())

    def read(self, msg: Message, *, depth: int) -> None:
        plain = _body_part(msg, "plain")
        html = _body_part(msg, "html")
        if plain is not None:
            self.texts.append(_part_text(plain))
        if html is not None:
            html_text = _part_text(html)
            if depth == 0:
                self.html = html_text
            if plain is None:
                self.texts.append(markup.to_text(html_text))
        report = msg.get_content_type() == "multipart/report"
        for part in _leaves(msg):
            self.parts += 1
            if self.parts > MAX_PARTS:
                self.defects += 1
                break
            if part is plain or part is html:
                continue
            try:
                self._read_part(part, depth=depth, report=report)
            except Exception:  # one broken part must not cost the mail
                log.warning("email_part_unreadable", content_type=part.get_content_type())
                self.defects += 1

    def _read_part(self, part: Message, *, depth: int, report: bool) -> None:
        kind = part.get_content_type()
        self.defects += len(part.defects)
        if kind == "message/delivery-status":
            self.dsn = loops.delivery_status(part) | (self.dsn or {})
        elif kind in ("text/rfc822-headers", "message/rfc822-headers") or (
            report and kind in ("message/rfc822", "message/global")
        ):
            self._read_original(part, full=kind.startswith("message/r") or kind.endswith("global"))
        elif kind in ("message/rfc822", "message/global"):
            inner = _inner_message(part)
            if inner is not None and depth < MAX_DEPTH:
                self._read_forward(inner, depth=depth)
        elif kind in ("text/plain", "text/html") and not _is_attachment(part):
            if kind == "text/plain":  # more text after an inline image (Apple Mail)
                self.texts.append(_part_text(part))
        else:
            self._attach(part)

    def _read_forward(self, inner: Message, *, depth: int) -> None:
        headers = _Headers(inner)
        nested = _Content(self.limits, parts=self.parts)
        nested.read(inner, depth=depth + 1)
        self.parts = nested.parts
        entry = {
            "from": headers.get("from"),
            "date": headers.get("date"),
            "subject": headers.get("subject"),
            "to": headers.get("to"),
            "message_id": _first_id(headers.get("message-id")),
        }
        lines = [_FORWARD_LINE] + [
            f"{name.title()}: {entry[name]}"
            for name in ("from", "date", "subject", "to")
            if entry[name]
        ]
        self.texts.append("\n".join(lines) + "\n\n" + nested.text())
        self.forwarded.append(entry)
        self.forwarded.extend(nested.forwarded)
        self.attachments.extend(nested.attachments)
        self.dropped.extend(nested.dropped)
        self.defects += nested.defects

    def _read_original(self, part: Message, *, full: bool) -> None:
        """The bounced message (whole, or its headers): which of ours it was."""
        inner = _inner_message(part) if full else None
        if inner is None:
            data = part.get_payload(decode=True)
            payload = data if isinstance(data, bytes) else str(part.get_payload()).encode()
            inner = _parse(payload)
        headers = _Headers(inner)
        original_id = _first_id(headers.get("message-id"))
        self.original = "full" if full else "headers"
        self.dsn = (self.dsn or {"recipients": []}) | {
            "original_message_id": original_id,
            "original_subject": headers.get("subject") or None,
        }
        self.original_id = original_id

    def _attach(self, part: Message) -> None:
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            data = b""
        declared = part.get_content_type()
        filename = _filename(part, declared, len(self.attachments) + len(self.dropped) + 1)
        content_id = normalise_message_id(str(part.get("Content-ID", ""))) or None
        try:
            kind = check_attachment(self.limits, filename, declared, len(data))
        except (PayloadTooLarge, UnsupportedMediaType) as exc:
            reason = "too_large" if isinstance(exc, PayloadTooLarge) else "type_not_accepted"
            log.warning(
                "email_attachment_dropped", filename=filename, size=len(data), reason=reason
            )
            self.dropped.append(
                {"filename": filename, "content_type": declared, "size": len(data)}
                | {"reason": reason}
            )
            return
        self.attachments.append(InboundAttachment(filename, kind, data, content_id))


def _body_part(msg: Message, subtype: str) -> Message | None:
    """The first ``text/<subtype>`` part that is not an attachment, outside forwarded
    messages: the body (``EmailMessage.get_body`` needs ``policy.default``'s headers)."""
    wanted = f"text/{subtype}"
    for part in _leaves(msg):
        if part.get_content_type() == wanted and not _is_attachment(part):
            return part
    return None


def _leaves(part: Message) -> list[Message]:
    """The parts under ``part`` that are not multiparts; ``message/*`` parts are leaves."""
    if part.get_content_maintype() != "multipart":
        return [part]
    payload = part.get_payload()
    if not isinstance(payload, list):  # a multipart without boundary: its text is a leaf
        return [part]
    found: list[Message] = []
    for sub in payload:
        if isinstance(sub, Message):
            found.extend(_leaves(sub))
        if len(found) > MAX_PARTS:
            break
    return found


def _inner_message(part: Message) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    if isinstance(payload, str) and payload.strip():
        data = part.get_payload(decode=True)
        raw = data if isinstance(data, bytes) else payload.encode("utf-8", "surrogateescape")
        return _parse(raw)
    return None


def _part_text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_text(data, charset).replace("\r\n", "\n")


def _is_attachment(part: Message) -> bool:
    return part.get_content_disposition() == "attachment" or _safe_filename(part) is not None


def _safe_filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    return _decode_words(str(name)).strip() or None if name else None


def _filename(part: Message, content_type: str, number: int) -> str:
    name = _safe_filename(part)
    if name:
        return name
    extension = mimetypes.guess_extension(content_type) or ".bin"
    stem = "image" if content_type.startswith("image/") else "attachment"
    return f"{stem}-{number}{extension}"
