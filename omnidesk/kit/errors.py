"""Typed errors. Each maps to one JSON shape: ``{"code", "message", "field"}``.

Services raise these; the web layer turns them into responses. A bad request is always a
4xx with a stable ``code`` so that clients can branch on it.
"""

from __future__ import annotations

from typing import Any, ClassVar


class OmnideskError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(
        self, message: str, *, field: str | None = None, details: Any | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.field, self.details)


def error_body(
    code: str, message: str, field: str | None = None, details: Any | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "field": field}
    if details is not None:
        body["details"] = details
    return body


class BadRequest(OmnideskError):
    pass


class ValidationFailed(OmnideskError):
    status_code = 422
    code = "validation_error"


class Unauthorized(OmnideskError):
    status_code = 401
    code = "unauthorized"


class OutsideReplyWindow(OmnideskError):
    """Free text on a channel whose reply window has closed (WhatsApp's 24 hours)."""

    status_code = 422
    code = "outside_window"


class Forbidden(OmnideskError):
    status_code = 403
    code = "forbidden"


class NotFound(OmnideskError):
    status_code = 404
    code = "not_found"

    def __init__(self, what: str, *, field: str | None = None) -> None:
        super().__init__(f"{what} not found", field=field)


class Conflict(OmnideskError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(OmnideskError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(OmnideskError):
    status_code = 415
    code = "unsupported_media_type"


class RateLimited(OmnideskError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ServiceUnavailable(OmnideskError):
    status_code = 503
    code = "unavailable"
