"""What Meta's platforms (WhatsApp Cloud API, Messenger, Instagram) share.

* Webhook signatures: every POST carries ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of
  the raw body keyed with the app secret>``; :func:`verify_signature` checks it in
  constant time over the exact bytes received (never a re-serialised body).
* The subscription handshake: Meta GETs the callback URL with ``hub.mode=subscribe``,
  ``hub.verify_token`` (the token typed into the app dashboard) and ``hub.challenge``,
  and expects the challenge echoed back as the body; :func:`challenge` checks the token and
  returns it.
* Graph API errors: ``{"error": {"code", "error_subcode", "message", ...}}``;
  :func:`graph_failure` says what an agent should be told and whether to retry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from omnidesk.channels.base import (
    DeliveryFailed,
    FailureReason,
    SignatureInvalid,
    WebhookRequest,
)

SIGNATURE_HEADER = "X-Hub-Signature-256"
#: ``Settings.meta_graph_url``'s default: used when an adapter is built without settings.
DEFAULT_GRAPH_URL = "https://graph.facebook.com/v21.0"
_PREFIX = "sha256="

#: Reasons worth another attempt later; every other reason is final.
TRANSIENT_REASONS: frozenset[str] = frozenset({"rate_limited", "provider_unavailable"})


# Signatures ------------------------------------------------------------------------------


def sign(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta would send for ``body``."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify_signature(app_secret: str | None, request: WebhookRequest) -> None:
    """Raise :class:`SignatureInvalid` unless the request is signed with ``app_secret``."""
    if not app_secret:
        raise SignatureInvalid("this inbox has no app secret")
    given = request.header(SIGNATURE_HEADER)
    if not given:
        raise SignatureInvalid(f"missing {SIGNATURE_HEADER}")
    if not given.startswith(_PREFIX):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} is not a sha256 signature")
    expected = sign(app_secret, request.body)
    if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
        raise SignatureInvalid("the signature does not match")


# The subscription handshake --------------------------------------------------------------


def challenge(request: WebhookRequest, verify_token: str | None) -> str:
    """The ``hub.challenge`` to echo (as ``text/plain``) for a genuine subscription GET.

    Raises :class:`SignatureInvalid` (answered 403) for a wrong or missing token, another
    mode or a missing challenge.
    """
    if not verify_token:
        raise SignatureInvalid("this inbox has no verify token")
    if request.query.get("hub.mode") != "subscribe":
        raise SignatureInvalid("hub.mode must be 'subscribe'")
    given = request.query.get("hub.verify_token", "")
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        raise SignatureInvalid("hub.verify_token does not match this inbox's verify token")
    answer = request.query.get("hub.challenge", "")
    if not answer:
        raise SignatureInvalid("hub.challenge is missing")
    return answer


# Graph API errors ------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphFailure:
    """A Graph API refusal, classified."""

    reason: FailureReason
    message: str
    code: int | None = None
    subcode: int | None = None

    @property
    def permanent(self) -> bool:
        return self.reason not in TRANSIENT_REASONS


# error_subcode first (Messenger and Instagram share code 10 / 100 / 551 for several causes).
_BY_SUBCODE: dict[int, FailureReason] = {
    2018278: "outside_window",  # Messenger: sent outside of the allowed window
    2534022: "outside_window",  # Instagram: sent outside of the allowed window
    2018001: "invalid_recipient",  # no matching user found
    1545041: "invalid_recipient",  # this person isn't available right now
    2018108: "blocked",  # the person blocked the page or cannot receive messages
    2018065: "blocked",  # the page cannot message this person
}
_BY_CODE: dict[int, FailureReason] = {
    # WhatsApp Cloud API
    131047: "outside_window",  # re-engagement message: more than 24 h since the customer wrote
    131026: "invalid_recipient",  # message undeliverable (no WhatsApp, old app, terms)
    131021: "invalid_recipient",  # recipient is the sender
    131030: "invalid_recipient",  # recipient not in the test number's allowed list
    131050: "opted_out",  # the customer stopped marketing messages
    131056: "rate_limited",  # too many messages to the same customer
    130429: "rate_limited",  # throughput limit reached
    131048: "rate_limited",  # spam rate limit
    80007: "rate_limited",  # WABA rate limit
    131031: "blocked",  # business account locked
    131042: "blocked",  # business payment issue
    368: "blocked",  # temporarily blocked for policy violations
    133010: "blocked",  # phone number not registered on the Cloud API
    131000: "provider_unavailable",  # something went wrong
    131016: "provider_unavailable",  # service overloaded
    131057: "provider_unavailable",  # account in maintenance mode
    1: "provider_unavailable",  # unknown API error
    2: "provider_unavailable",  # service temporarily unavailable
    1200: "provider_unavailable",  # Messenger: temporary send failure
    # Graph API in general
    190: "auth_failed",  # access token expired or invalid
    0: "auth_failed",  # AuthException
    3: "auth_failed",  # the app lacks the capability
    10: "auth_failed",  # permission denied
    4: "rate_limited",  # app-level throttling
    17: "rate_limited",  # user-level throttling
    32: "rate_limited",  # page-level throttling
    613: "rate_limited",  # calls exceed the rate limit
    551: "invalid_recipient",  # this person isn't available right now
}


def graph_failure(status_code: int, body: bytes | str | dict[str, Any] | None) -> GraphFailure:
    """Classify a Graph API error response (any status >= 400).

    Known ``error.code``/``error_subcode`` values decide; otherwise the HTTP status does
    (401/403 auth, 429 rate limit, 5xx unavailable, anything else a final rejection).
    """
    error = _error_object(body)
    code = _as_int(error.get("code"))
    subcode = _as_int(error.get("error_subcode"))
    message = _message(error, status_code)
    reason: FailureReason | None = None
    if subcode is not None:
        reason = _BY_SUBCODE.get(subcode)
    if reason is None and code is not None:
        reason = _BY_CODE.get(code)
        if reason is None and 200 <= code <= 299:
            reason = "auth_failed"  # the 2xx family: missing permissions
    if reason is None:
        reason = _by_status(status_code)
    return GraphFailure(reason=reason, message=message, code=code, subcode=subcode)


def delivery_failed(failure: GraphFailure) -> DeliveryFailed:
    """The exception a ``send`` raises for a Graph API refusal (retried when transient)."""
    return DeliveryFailed(failure.message, permanent=failure.permanent, reason=failure.reason)


def unavailable(detail: str) -> GraphFailure:
    """A Graph API that could not be reached (timeout, connection refused): retried."""
    return GraphFailure(reason="provider_unavailable", message=detail)


def _by_status(status_code: int) -> FailureReason:
    if status_code in (401, 403):
        return "auth_failed"
    if status_code == 429:
        return "rate_limited"
    if status_code >= 500 or status_code == 408:
        return "provider_unavailable"
    return "rejected"


def _error_object(body: bytes | str | dict[str, Any] | None) -> dict[str, Any]:
    data: Any = body
    if isinstance(body, (bytes, str)):
        try:
            data = json.loads(body or b"null")
        except ValueError:
            return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _message(error: dict[str, Any], status_code: int) -> str:
    parts = [str(error.get(key)) for key in ("message", "error_user_msg") if error.get(key)]
    details = error.get("error_data")
    if isinstance(details, dict) and details.get("details"):
        parts.append(str(details["details"]))
    code = error.get("code")
    text = " — ".join(dict.fromkeys(parts)) or f"HTTP {status_code}"
    return f"{text} (code {code})" if code is not None else text


def graph_url(provider_urls: dict[str, str]) -> str:
    """The Graph API base URL (with its version) an adapter was built with."""
    return provider_urls.get("meta_graph", DEFAULT_GRAPH_URL).rstrip("/")
