"""Mail that no one typed: auto-replies, out-of-office notices, list traffic and bounces.

Such a mail is still stored (an agent may want to see that a reply bounced), but it is
flagged in ``meta["auto"]`` so that nothing answers it automatically: two auto-responders
answering each other is a mail loop. Recognised, per RFC 3834 and common practice:

* ``bounce``: a delivery status notification (RFC 3464, ``multipart/report;
  report-type=delivery-status``), or a mail from ``MAILER-DAEMON``/``postmaster``;
* ``auto_reply``: ``Auto-Submitted`` other than ``no``, ``X-Autoreply``,
  ``X-Autorespond``, ``Precedence: auto_reply``, an Outlook "Automatic reply:" subject;
* ``bulk``: ``Precedence: bulk``, ``junk`` or ``list``.
"""

from __future__ import annotations

import re
from email.message import Message
from typing import Any, Literal

AutoKind = Literal["auto_reply", "bounce", "bulk"]

_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_AUTO_SUBJECT = re.compile(
    r"^\s*(Automatic reply|Auto(matische)?[- ]?(reply|response|Antwort)|Out of (the )?Office"
    r"( Reply| AutoReply)?|Abwesenheitsnotiz|Réponse automatique)\s*:",
    re.IGNORECASE,
)
#: Per-recipient DSN fields kept (RFC 3464, 2.3), under their meta names.
_RECIPIENT_FIELDS = {
    "final-recipient": "final_recipient",
    "original-recipient": "original_recipient",
    "action": "action",
    "status": "status",
    "diagnostic-code": "diagnostic_code",
    "remote-mta": "remote_mta",
}
_MESSAGE_FIELDS = {"reporting-mta": "reporting_mta", "arrival-date": "arrival_date"}


def auto_kind(
    headers: dict[str, str], sender: str, subject: str, *, is_report: bool
) -> tuple[AutoKind | None, str | None]:
    """What kind of automatic mail this is and the header that told, or (None, None).
    ``headers`` maps lower-cased names to values."""
    if is_report:
        return "bounce", "multipart/report"
    if sender.partition("@")[0].lower() in _BOUNCE_SENDERS:
        return "bounce", "from"
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return "auto_reply", "auto-submitted"
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            return "auto_reply", name
    precedence = headers.get("precedence", "").strip().lower()
    if precedence == "auto_reply":
        return "auto_reply", "precedence"
    if precedence in ("bulk", "junk", "list"):
        return "bulk", "precedence"
    if _AUTO_SUBJECT.match(subject):
        return "auto_reply", "subject"
    return None, None


def delivery_status(part: Message) -> dict[str, Any]:
    """The fields of a ``message/delivery-status`` part: the per-message ones and one dict
    per recipient. Field values keep their type prefix (``rfc822;``, ``smtp;``)."""
    blocks = _field_blocks(part)
    report: dict[str, Any] = {"recipients": []}
    for number, block in enumerate(blocks):
        if number == 0:
            for name, key in _MESSAGE_FIELDS.items():
                if name in block:
                    report[key] = block[name]
            if not any(name in block for name in _RECIPIENT_FIELDS):
                continue
        recipient = {key: block[name] for name, key in _RECIPIENT_FIELDS.items() if name in block}
        if recipient:
            report["recipients"].append(recipient)
    return report


def _field_blocks(part: Message) -> list[dict[str, str]]:
    """``message/delivery-status`` is parsed by the stdlib as a list of header blocks; a
    broken one (or a lone text part) is read from its text."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [
            {str(k).lower(): _one_line(str(v)) for k, v in block.items()}
            for block in payload
            if isinstance(block, Message)
        ]
    text = payload if isinstance(payload, str) else ""
    blocks: list[dict[str, str]] = [{}]
    name = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if blocks[-1]:
                blocks.append({})
            continue
        if line[0] in " \t" and name:
            blocks[-1][name] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if colon:
            blocks[-1][name] = value.strip()
    return [block for block in blocks if block]


def _one_line(value: str) -> str:
    return " ".join(value.split())
