"""The Bot API's refusals as delivery failures the agent's screen explains.

Telegram answers with an HTTP status in ``error_code`` and a sentence in ``description``
("Forbidden: bot was blocked by the user", "Bad Request: chat not found"); the sentence is
the only thing telling a blocked bot from a deactivated account.
"""

from __future__ import annotations

from omnidesk.channels.base import DeliveryFailed, FailureReason
from omnidesk.channels.telegram.botapi import BotApiError

_INVALID_RECIPIENT = ("chat not found", "user not found", "user is deactivated", "peer_id_invalid")


def reason_of(error: BotApiError) -> FailureReason:
    description = error.description.lower()
    if error.status == 0 or error.status >= 500:
        return "provider_unavailable"
    if error.status == 429:
        return "rate_limited"
    if error.status in (401, 404):  # 404: a token of the wrong shape names no bot
        return "auth_failed"
    if any(words in description for words in _INVALID_RECIPIENT):
        return "invalid_recipient"
    if error.status == 403:
        # "bot was blocked by the user", "bot can't initiate conversation with a user"
        return "blocked"
    return "rejected"


def delivery_failed(error: BotApiError) -> DeliveryFailed:
    reason = reason_of(error)
    transient = reason in ("provider_unavailable", "rate_limited")
    message = f"Telegram: {error}"
    if error.retry_after is not None:
        # The runner's backoff decides when the next try is; Telegram's wish is kept in the
        # job's error for whoever reads it.
        message += f" (retry after {error.retry_after} s)"
    return DeliveryFailed(message, permanent=not transient, reason=reason)
