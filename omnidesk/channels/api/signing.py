"""Signatures on the API channel's webhooks.

``X-Omnidesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``, keyed
with the inbox secret. Receivers must recompute the HMAC over the raw body bytes, compare
in constant time, and reject a ``t`` more than 5 minutes away from their clock, so that a
captured request cannot be replayed later. :func:`verify` does all of that.
"""

from __future__ import annotations

from omnidesk.kit.security import constant_time_equals, hmac_sha256_hex

SIGNATURE_HEADER = "X-Omnidesk-Signature"
#: How far a signature's timestamp may be from the receiver's clock.
TOLERANCE_S = 300


class BadSignature(ValueError):
    pass


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac_sha256_hex(secret, f"{timestamp}.".encode() + body)
    return f"t={timestamp},v1={digest}"


def verify(
    secret: str, header: str | None, body: bytes, *, now: float, tolerance_s: int = TOLERANCE_S
) -> None:
    """Raise :class:`BadSignature` unless ``header`` signs ``body`` recently with ``secret``."""
    if not header:
        raise BadSignature(f"missing {SIGNATURE_HEADER}")
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError) as exc:
        raise BadSignature("the signature has no valid timestamp") from exc
    if abs(now - timestamp) > tolerance_s:
        raise BadSignature("the signature's timestamp is too old or in the future")
    expected = sign(secret, body, timestamp).partition(",v1=")[2]
    # Several v1 values may be present while a secret is being rotated.
    if not any(constant_time_equals(expected, given) for given in fields.get("v1", [])):
        raise BadSignature("the signature does not match")
