"""Message-IDs and conversation tokens: how the email channel recognises its own threads.

Every Message-ID is stored normalised (:func:`normalise_message_id`): inbound ones as the
message's ``channel_message_id`` and in ``meta["references"]``, ours when a reply is sent.
A reply's Reply-To carries a signed conversation token in its plus-address
(``support+c42.5f3a9b1c@example.com``): the fallback when a mail client drops the
References header.
"""

from __future__ import annotations

import re
import secrets

from omnidesk.kit.security import constant_time_equals, hmac_sha256_hex

_TOKEN = re.compile(r"^c(\d{1,18})\.([0-9a-f]{8})$")
_SIGNATURE_HEX = 8


def normalise_message_id(value: str) -> str:
    """``<Abc@Example.COM>`` → ``Abc@Example.COM``: the brackets and spaces go, case stays
    (the left part of a Message-ID is case-sensitive)."""
    return value.strip().removeprefix("<").removesuffix(">").strip()


def new_message_id(domain: str) -> str:
    """A fresh Message-ID for a mail we send, without brackets."""
    return f"omnidesk.{secrets.token_hex(12)}@{domain}"


def conversation_token(conversation_id: int, key: str) -> str:
    signature = hmac_sha256_hex(key, f"conversation:{conversation_id}".encode())
    return f"c{conversation_id}.{signature[:_SIGNATURE_HEX]}"


def read_conversation_token(local_part: str, key: str) -> int | None:
    """The conversation id in ``support+c42.5f3a9b1c`` when its signature holds, else None."""
    _, plus, tag = local_part.partition("+")
    found = _TOKEN.match(tag.lower()) if plus else None
    if found is None:
        return None
    conversation_id = int(found.group(1))
    expected = conversation_token(conversation_id, key).rsplit(".", 1)[1]
    return conversation_id if constant_time_equals(expected, found.group(2)) else None


def stable_message_id(seed: str, key: str, domain: str) -> str:
    """The Message-ID of a mail we send, the same for the same ``seed`` (an outbox job's
    idempotency key): every retry of one reply carries one Message-ID, so a mail accepted
    twice (a lost 250) is one message to the recipient's client. Without brackets."""
    return f"omnidesk.{hmac_sha256_hex(key, f'message-id:{seed}'.encode())[:24]}@{domain}"
