"""Which addresses are ours: inboxes' forwarding addresses and conversation tokens.

One key per installation, derived from its secret key (:func:`channel_key`), signs both:

- an inbox's **forwarding address** ``inbox-<id>-<signature>@<inbound domain>``, where a
  provider forwards the support address's mail to the built-in listener (the signature makes
  addresses unguessable: nobody delivers into another tenant's inbox by counting ids);
- a reply's **conversation token** in its Reply-To plus-address (``support+c42.5f3a9b1c@…``,
  see :mod:`omnidesk.channels.email.ids`), which threads a customer's answer back when the
  mail client dropped References.

Changing ``OMNIDESK_SECRET_KEY`` changes every forwarding address (and orphans the tokens of
replies already sent): update the providers' forwarding rules after a rotation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from omnidesk.channels.email import ids
from omnidesk.channels.registry import channel_key
from omnidesk.kit.security import constant_time_equals, hmac_sha256_hex
from omnidesk.settings import Settings

CHANNEL = "email"
_FORWARDING = re.compile(r"^inbox-(\d{1,18})-([0-9a-f]{10})$")


def email_key(settings: Settings) -> str:
    """The installation's email key (conversation tokens, forwarding addresses, Message-IDs)."""
    return channel_key(settings.secret_key.get_secret_value(), CHANNEL)


def split_address(address: str) -> tuple[str, str]:
    """``Local+Tag@Example.COM`` → (``Local+Tag``, ``example.com``); ("", "") if no ``@``."""
    local, at, domain = address.strip().strip("<>").rpartition("@")
    if not at or not local or not domain:
        return "", ""
    return local, domain.lower()


def base_local(local: str) -> str:
    """The local part without its plus-tag, lower-cased (``Support+x`` → ``support``)."""
    return local.partition("+")[0].lower()


def forwarding_local_part(inbox_id: int, key: str) -> str:
    signature = hmac_sha256_hex(key, f"forwarding:{inbox_id}".encode())[:10]
    return f"inbox-{inbox_id}-{signature}"


def forwarding_address(inbox_id: int, settings: Settings) -> str:
    return f"{forwarding_local_part(inbox_id, email_key(settings))}@{settings.email.inbound_domain}"


def read_forwarding(local: str, key: str) -> int | None:
    """The inbox id of a forwarding local part (plus-tag allowed), when its signature holds."""
    found = _FORWARDING.match(base_local(local))
    if found is None:
        return None
    inbox_id = int(found.group(1))
    expected = forwarding_local_part(inbox_id, key).rsplit("-", 1)[1]
    return inbox_id if constant_time_equals(expected, found.group(2)) else None


def conversation_hint(addresses: Iterable[str], key: str) -> int | None:
    """The conversation named by a valid token in any of ``addresses`` (first one wins)."""
    for address in addresses:
        local, _ = split_address(address)
        if local:
            found = ids.read_conversation_token(local, key)
            if found is not None:
                return found
    return None


def is_own(address: str, inbox_address: str, key: str) -> bool:
    """Whether ``address`` reaches us: the inbox's address (any plus-tag) or a forwarding
    address of this installation. Replies never copy these (no mail to ourselves)."""
    local, domain = split_address(address)
    if not local:
        return False
    own_local, own_domain = split_address(inbox_address)
    if domain == own_domain and base_local(local) == base_local(own_local):
        return True
    return read_forwarding(local, key) is not None
