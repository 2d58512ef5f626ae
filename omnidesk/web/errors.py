"""Every error leaves as ``{"code", "message", "field"}`` with a 4xx status, and is logged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from omnidesk.kit.errors import OmnideskError, RateLimited, error_body

log = structlog.get_logger("omnidesk.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def _field_of(loc: Sequence[Any]) -> str | None:
    # The first element says where the value was (body, query…); the rest is the field,
    # which may itself be called "body".
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or None


def omnidesk_error_response(exc: OmnideskError, path: str) -> JSONResponse:
    log.info(
        "request_refused",
        status=exc.status_code,
        code=exc.code,
        field=exc.field,
        path=path,
        reason=exc.message,
    )
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else None
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)


def validation_error_response(errors: Sequence[Any], path: str) -> JSONResponse:
    """422 for pydantic's errors, whose ``loc`` starts with where the value was (body…)."""
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    field = _field_of(first.get("loc", ()))
    message = str(first.get("msg", "invalid request"))
    details = [
        {"field": _field_of(e.get("loc", ())), "message": str(e.get("msg", ""))}
        for e in errors[:20]
    ]
    log.info("request_invalid", path=path, field=field, reason=message)
    return JSONResponse(error_body("validation_error", message, field, details), status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OmnideskError)
    async def _omnidesk_error(request: Request, exc: OmnideskError) -> JSONResponse:
        return omnidesk_error_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error_response(exc.errors(), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_error_response(exc, request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return unexpected_error_response(request.url.path)


def http_error_response(exc: StarletteHTTPException, path: str) -> JSONResponse:
    """Starlette's own refusals (404 route, 405…) in the one error shape, logged."""
    code = _HTTP_CODES.get(exc.status_code, "error")
    log.info("request_refused", status=exc.status_code, code=code, path=path)
    return JSONResponse(
        error_body(code, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def unexpected_error_response(path: str) -> JSONResponse:
    """500, logged with the exception being handled."""
    log.exception("request_failed", path=path)
    return JSONResponse(
        error_body("internal_error", "something went wrong on our side"), status_code=500
    )


class ErrorOut(BaseModel):
    """The one error shape."""

    code: str = Field(description="Stable machine-readable code, e.g. `not_found`.")
    message: str = Field(description="What went wrong, for a person.")
    field: str | None = Field(description="The offending field, when there is one.")
    details: list[dict[str, Any]] | None = Field(
        default=None, description="Every invalid field, on validation errors."
    )


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


#: Documented on every API route, so that clients (and schemathesis) know the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Bad request"),
    401: _error("Not authenticated"),
    403: _error("Not allowed"),
    404: _error("Not found (or in another account)"),
    409: _error("Conflicts with existing data"),
    413: _error("Too large"),
    415: _error("Unsupported media type"),
    422: _error("Invalid input"),
    429: _error("Too many requests"),
}
