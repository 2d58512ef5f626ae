"""What the customer wrote this time, apart from the history their mail client quoted.

Replies carry the whole thread below the new text. Agents read the conversation in order,
so the timeline shows only the new part (:attr:`Reply.display`); the full text stays in the
message (see :mod:`omnidesk.channels.email.mime`). Recognised, in the plain text:

* an attribution line and the ``>`` lines after it (Gmail and Apple Mail: "On … wrote:",
  and its German, French, Spanish, Italian, Dutch and Scandinavian forms), even wrapped
  over two lines; when the customer answered between the quoted lines (an interleaved
  reply) nothing is cut, since the quotes give the answers their meaning;
* Outlook's separators: "-----Original Message-----", and a "From:/Sent:/To:/Subject:"
  header block (after an underscore rule or not); everything below is the old thread
  (Outlook quotes without ``>``, so nothing else tells where the history starts);
* a trailing block of ``>`` lines without attribution;
* a signature after the ``-- `` delimiter (RFC 3676, 4.3) or a mobile client's "Sent from
  my iPhone".

A forwarded message ("---------- Forwarded message ---------", "Begin forwarded
message:") is what the customer wants us to read: nothing below its marker is cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ATTRIBUTION_VERB = re.compile(
    r"\b(wrote|writes|schrieb|a écrit|escribió|ha scritto|schreef|skrev|kirjoitti)\b",
    re.IGNORECASE,
)
_ATTRIBUTION_END = re.compile(
    r"(wrote|writes|schrieb|a écrit|escribió|ha scritto|schreef|skrev|kirjoitti)\s*:\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^\s*(On|Am|Le|El|Il|Op|Den|På|Em)\s", re.IGNORECASE)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|"
    r"Mensaje original|Messaggio originale)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{10,}\s*$")
_HEADER_FROM = re.compile(r"^\s*\*?(From|Von|De|Da|Van|Från|Fra)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_SENT = re.compile(
    r"^\s*\*?(Sent|Date|Gesendet|Datum|Envoyé|Enviado|Inviato|Verzonden|Skickat)\s*:",
    re.IGNORECASE,
)
_HEADER_SUBJECT = re.compile(
    r"^\s*\*?(Subject|Betreff|Objet|Asunto|Oggetto|Onderwerp|Ämne|Emne|Aihe)\s*:",
    re.IGNORECASE,
)
_FORWARDED = re.compile(
    r"^\s*(-{2,}\s*(Forwarded message|Forwarded Message|Weitergeleitete Nachricht|"
    r"Message transféré|Mensaje reenviado)\s*-{2,}|Begin forwarded message:|"
    r"Anfang der weitergeleiteten Nachricht:)\s*$",
    re.IGNORECASE,
)
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(Sent from my \S+|Sent from (Outlook|Mail) for \S+|Get Outlook for \S+|"
    r"Von meinem \S+ gesendet|Envoyé de mon \S+)\s*$",
    re.IGNORECASE,
)
_FORWARDED_FIELDS = {
    "from": "from", "von": "from", "de": "from",
    "date": "date", "sent": "date", "datum": "date", "gesendet": "date",
    "subject": "subject", "betreff": "subject", "objet": "subject",
    "to": "to", "an": "to", "à": "to",
}  # fmt: skip


@dataclass(frozen=True)
class Reply:
    #: The new text, for the timeline (the whole text when nothing was recognised).
    display: str
    quote_stripped: bool = False
    signature_stripped: bool = False
    #: The headers of each inline forwarded message ("from", "date", "subject", "to").
    forwarded: list[dict[str, str]] = field(default_factory=list)


def split_reply(text: str, *, forwarding: bool = False) -> Reply:
    """``text`` split into what is new and what was quoted. ``forwarding``: the subject
    says the mail forwards another (an Outlook forward looks like an Outlook reply)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    forward_at = next((i for i, line in enumerate(lines) if _FORWARDED.match(line)), None)
    forwarded = [_forwarded_headers(lines, forward_at)] if forward_at is not None else []
    head = lines if forward_at is None else lines[:forward_at]
    quote_at = None if forwarding else _quote_start(head)
    if quote_at is not None:
        head = head[:quote_at]
    head, signature = _without_signature(head)
    tail = [] if forward_at is None else lines[forward_at:]
    display = "\n".join(head + tail).strip()
    if not display:  # all quote (a reply sent without typing): show it all
        return Reply(text.strip(), forwarded=forwarded)
    return Reply(display, quote_at is not None, signature, forwarded)


def _quote_start(lines: list[str]) -> int | None:
    """The first line of the quoted history, or None when there is none to cut."""
    for i, line in enumerate(lines):
        if _ORIGINAL.match(line):
            return i
        if _RULE.match(line) and i + 1 < len(lines) and _HEADER_FROM.match(lines[i + 1]):
            return i
        if _HEADER_FROM.match(line) and _is_header_block(lines, i):
            return i
        attribution = _attribution_at(lines, i)
        if attribution is not None:
            after = attribution + 1
            return i if _only_quotes(lines[after:]) else None
    return _trailing_quotes(lines)


def _attribution_at(lines: list[str], i: int) -> int | None:
    """The index of the attribution's last line when one starts at ``i``."""
    line = lines[i]
    if _ATTRIBUTION_END.search(line) and (
        _ATTRIBUTION_START.match(line) or _next_is_quoted(lines, i + 1)
    ):
        return i
    if (  # "Am 1.12.2026 schrieb Anna <a@b>:": the verb before the author
        _ATTRIBUTION_START.match(line)
        and _ATTRIBUTION_VERB.search(line)
        and line.rstrip().endswith(":")
    ):
        return i
    if (
        _ATTRIBUTION_START.match(line)
        and i + 1 < len(lines)
        and _ATTRIBUTION_END.search(lines[i + 1])
        and len(line) + len(lines[i + 1]) < 300
    ):
        return i + 1  # wrapped by the client over two lines
    return None


def _next_is_quoted(lines: list[str], start: int) -> bool:
    for line in lines[start:]:
        if line.strip():
            return line.lstrip().startswith(">")
    return False


def _only_quotes(lines: list[str]) -> bool:
    """Nothing but quoted or blank lines (maybe a signature after them)?"""
    for line in lines:
        if line.rstrip() in ("--", "-- "):
            return True
        if line.strip() and not line.lstrip().startswith(">"):
            return False
    return True


def _is_header_block(lines: list[str], i: int) -> bool:
    """An Outlook header block: From, then Sent/Date and Subject within a few lines (a
    customer's "From: Berlin / To: Munich / Date: 5 May" has no Subject line)."""
    window = lines[i + 1 : i + 6]
    return any(_HEADER_SENT.match(line) for line in window) and any(
        _HEADER_SUBJECT.match(line) for line in window
    )


def _trailing_quotes(lines: list[str]) -> int | None:
    start = None
    for i in range(len(lines) - 1, -1, -1):
        stripped = lines[i].strip()
        if stripped.startswith(">"):
            start = i
        elif stripped:
            break
    return start


def _without_signature(lines: list[str]) -> tuple[list[str], bool]:
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].rstrip() in ("--", "-- ") and any(line.strip() for line in lines[:i]):
            return lines[:i], True
    content = [i for i, line in enumerate(lines) if line.strip()]
    if len(content) > 1 and _MOBILE_SIGNATURE.match(lines[content[-1]]):
        return lines[: content[-1]], True
    return lines, False


def _forwarded_headers(lines: list[str], marker: int) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines[marker + 1 : marker + 12]:
        if not line.strip():
            if found:
                break
            continue
        name, colon, value = line.strip().lstrip("*").partition(":")
        key = _FORWARDED_FIELDS.get(name.strip("* ").lower())
        if colon and key and key not in found:
            found[key] = value.strip("* ").strip()
    return found
