"""Visitor tokens and identity verification.

A visitor token names an inbox and a visitor (the ``webchat`` identity value, a UUID) and is
signed with a key derived from the installation's secret key::

    <inbox id>.<visitor uuid>.<base64url HMAC-SHA256>

It does not expire; a forged one, or one for another inbox, is refused. The host site proves
who its logged-in user is with ``hex(HMAC-SHA256(identity secret, user id))``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass

_PURPOSE = b"omnidesk.webchat.visitor.v1"


@dataclass(frozen=True)
class VisitorClaims:
    inbox_id: int
    visitor_id: str


class BadToken(Exception):
    pass


def _key(secret_key: str) -> bytes:
    return hashlib.sha256(_PURPOSE + b"\x00" + secret_key.encode()).digest()


def _signature(secret_key: str, inbox_id: int, visitor_id: str) -> str:
    mac = hmac.new(_key(secret_key), f"{inbox_id}:{visitor_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def new_visitor_id() -> str:
    return str(uuid.uuid4())


def issue(secret_key: str, inbox_id: int, visitor_id: str) -> str:
    return f"{inbox_id}.{visitor_id}.{_signature(secret_key, inbox_id, visitor_id)}"


def read(secret_key: str, token: str) -> VisitorClaims:
    """The claims of a well-signed token; :class:`BadToken` otherwise."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not parts[0].isascii() or not parts[0].isdigit() or len(parts[0]) > 18:
        raise BadToken("malformed visitor token")
    inbox_id, visitor_id, signature = int(parts[0]), parts[1], parts[2]
    try:
        if str(uuid.UUID(visitor_id)) != visitor_id:
            raise ValueError(visitor_id)
    except ValueError:
        raise BadToken("malformed visitor token") from None
    if not hmac.compare_digest(
        signature.encode(), _signature(secret_key, inbox_id, visitor_id).encode()
    ):
        raise BadToken("forged visitor token")
    return VisitorClaims(inbox_id, visitor_id)


def user_hash(identity_secret: str, user_id: str) -> str:
    return hmac.new(identity_secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def user_hash_matches(identity_secret: str, user_id: str, given: str) -> bool:
    return hmac.compare_digest(user_hash(identity_secret, user_id).encode(), given.lower().encode())


def attachment_signature(secret_key: str, inbox_id: int, attachment_id: int) -> str:
    """Signs a visitor's download link of one attachment of one inbox."""
    mac = hmac.new(
        _key(secret_key), f"attachment:{inbox_id}:{attachment_id}".encode(), hashlib.sha256
    )
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def attachment_signature_matches(
    secret_key: str, inbox_id: int, attachment_id: int, given: str
) -> bool:
    expected = attachment_signature(secret_key, inbox_id, attachment_id)
    return hmac.compare_digest(expected.encode(), given.encode())
