"""The fast lane: the busiest operations served without FastAPI's routing and dependencies.

Integrations post customers' messages hundreds of times a second. For such a request,
FastAPI's exception and exit-stack middleware, route matching, request/response wrappers and
dependency solving cost more CPU than storing the message (docs/adr/0009-fast-lane.md). A
lane route is still declared as a FastAPI route — the OpenAPI operation, and the server of
every request the lane leaves to it (a browser session, another content type) — and both
call the same function: the lane only skips the framework around it. Its errors leave in
the one error shape, through the same functions as FastAPI's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prometheus_client import Counter
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from omnidesk.kit.errors import OmnideskError
from omnidesk.kit.types import MAX_ROW_ID
from omnidesk.web.errors import (
    omnidesk_error_response,
    unexpected_error_response,
    validation_error_response,
)

#: Serves the request (path parameters in ``request.path_params``) or leaves it to FastAPI
#: by returning None — before reading the body, which FastAPI could not read again.
LaneHandler = Callable[[Request], Awaitable[Response | None]]
Body = TypeVar("Body", bound=BaseModel)

_PARAM = re.compile(r"\{(\w+)\}")
SERVED = Counter(
    "omnidesk_fast_lane_requests_total", "Requests answered in the fast lane", ["route"]
)


def _compile(path: str) -> re.Pattern[str]:
    """The template's parameters are row ids: digits (anything else is FastAPI's to refuse)."""
    parts, end = [], 0
    for found in _PARAM.finditer(path):
        parts += [re.escape(path[end : found.start()]), f"(?P<{found[1]}>[0-9]{{1,18}})"]
        end = found.end()
    return re.compile("".join([*parts, re.escape(path[end:])]))


@dataclass(frozen=True)
class LaneRoute:
    method: str
    #: The FastAPI route's path template, also the metrics' route label.
    path: str
    handler: LaneHandler
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _compile(self.path))

    def match(self, scope: Scope) -> dict[str, int] | None:
        if scope["method"] != self.method:
            return None
        found = self.pattern.fullmatch(scope["path"])
        if found is None:
            return None
        params = {name: int(value) for name, value in found.groupdict().items()}
        return params if all(1 <= v <= MAX_ROW_ID for v in params.values()) else None


def takes_json_with_token(request: Request) -> bool:
    """The machine-to-machine case a lane serves: a bearer token and a JSON body."""
    headers = request.headers
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    scheme = headers.get("authorization", "").partition(" ")[0].lower()
    return media_type == "application/json" and scheme == "bearer"


class _BodyInvalid(Exception):
    def __init__(self, errors: list[Any]) -> None:
        self.errors = errors


async def json_body(request: Request, model: type[Body]) -> Body:
    """The body validated as ``model``, with FastAPI's 422s.

    A valid body is validated straight from its JSON (the quickest); an invalid one again
    the way FastAPI does it, parsed first, then validated in Python mode from attributes,
    so that the errors are worded alike.
    """
    raw = await request.body()
    try:
        return model.model_validate_json(raw)
    except ValidationError:
        pass
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _BodyInvalid(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", exc.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": exc.msg},
                }
            ]
        ) from None
    try:
        return model.model_validate(document, from_attributes=True)
    except ValidationError as exc:
        raise _BodyInvalid([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


class FastLane:
    """Pure ASGI middleware, inside the request-context middleware (ids, logs, metrics)."""

    def __init__(self, app: ASGIApp, routes: Sequence[LaneRoute] = ()) -> None:
        self.app = app
        self.routes = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                params = route.match(scope)
                if params is None:
                    continue
                request = Request({**scope, "path_params": params}, receive)
                response = await self._answer(route, request)
                if response is None:
                    break
                scope["route"] = route  # the route label of the request's metrics
                SERVED.labels(route.path).inc()
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _answer(route: LaneRoute, request: Request) -> Response | None:
        path = request.url.path
        try:
            return await route.handler(request)
        except OmnideskError as exc:
            return omnidesk_error_response(exc, path)
        except _BodyInvalid as exc:
            return validation_error_response(exc.errors, path)
        except Exception:
            return unexpected_error_response(path)
