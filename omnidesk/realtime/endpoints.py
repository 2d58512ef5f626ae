"""``/ws``: the agents' websocket. Authenticate, then stream the account's events.

Authentication, in this order: an ``Authorization: Bearer`` header (non-browser clients);
the session cookie (browsers), only from this site's own Origin so that another site
cannot open a socket with the user's cookie (cross-site websocket hijacking); otherwise a
first message ``{"type": "auth", "token": "<API token>"}`` within 10 s. A revoked session or
token is refused at connect; clients reconnect to re-authenticate.

Query ``?last_event_id=N`` replays every event after N the user may see, then goes live.

Server messages: ``hello {user_id, last_event_id}``, ``event {event}``, ``heartbeat {at}``,
``pong``, ``error {code, message, field}``; to supervisors and admins only, ``routing.stats
{stats}`` (the body of ``GET /api/v1/routing/stats`` without parameters), every
``routing.live_stats_s`` while it changes — live only: not an event, not in the event log,
not replayed on resuming. Client messages: ``auth``, ``ping``.

An open socket is the agent's sign of life for routing: while it is open the server
refreshes their ``last_seen_at``; unseen for ``routing.connection_grace_s``, an agent who
is not offline is set offline (``connection_lost``) and their offers go to others
(docs/routing.md, "Presence and lost connections").

Close codes: 4400 bad query, 4401 unauthenticated, 4403 foreign Origin, 1013 fell behind
(reconnect with last_event_id), 1012 server stopping, 1011 server error.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from omnidesk.accounts.principal import Principal
from omnidesk.kit.errors import Unauthorized
from omnidesk.realtime.connection import AgentConnection, client_message, close, error_message
from omnidesk.web.auth import SESSION_COOKIE, resolve

if TYPE_CHECKING:
    from omnidesk.bootstrap import Container

router = APIRouter()

AUTH_TIMEOUT_S = 10.0
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


@router.websocket("/ws")
async def agent_socket(websocket: WebSocket) -> None:
    container: Container = websocket.app.state.container
    if container.hub is None:
        raise RuntimeError("realtime is not wired: see bootstrap.build_container")
    hub = container.hub
    # Accept first: a close before the handshake reaches the client as a bare HTTP 403,
    # without the close code that tells it why.
    await websocket.accept()
    try:
        try:
            after = _last_event_id(websocket)
        except ValueError:
            await websocket.send_json(
                error_message("validation_error", "must be an event id", "last_event_id")
            )
            await close(websocket, CLOSE_BAD_REQUEST, "bad last_event_id")
            return
        principal = await _authenticate(websocket, container)
        if principal is None:
            return
        connection = AgentConnection(
            websocket,
            principal,
            hub=hub,
            db=container.db,
            clock=container.clock,
            heartbeat_s=container.settings.ws_heartbeat_s,
        )
        await connection.serve(after)
    except WebSocketDisconnect:
        pass  # the client left before we were done with the handshake


def _last_event_id(websocket: WebSocket) -> int | None:
    raw = websocket.query_params.get("last_event_id")
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:  # a BIGINT, never negative
        raise ValueError(raw)
    return int(raw)


async def _authenticate(websocket: WebSocket, container: Container) -> Principal | None:
    """The principal, or None once the socket has been closed with the reason."""
    authorization = websocket.headers.get("authorization")
    cookie = None if authorization else websocket.cookies.get(SESSION_COOKIE)
    if cookie and not same_origin(websocket, container.settings.public_url):
        await close(websocket, CLOSE_FORBIDDEN, "cookie authentication from a foreign Origin")
        return None
    if not authorization and not cookie:
        token = await _first_message_token(websocket)
        if token is None:
            await close(websocket, CLOSE_UNAUTHENTICATED, "log in or send an API token")
            return None
        authorization = f"Bearer {token}"
    try:
        async with container.db.transaction() as session:
            found = await resolve(
                session, container.clock, authorization=authorization, cookie=cookie
            )
    except Unauthorized:
        found = None
    if found is None or found.principal.user_id is None:
        await close(websocket, CLOSE_UNAUTHENTICATED, "unknown, expired or revoked credentials")
        return None
    return found.principal


async def _first_message_token(websocket: WebSocket) -> str | None:
    try:
        async with asyncio.timeout(AUTH_TIMEOUT_S):
            message = await websocket.receive()
    except TimeoutError:
        return None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    data = client_message(message)
    token = data.get("token") if data is not None and data.get("type") == "auth" else None
    if not isinstance(token, str) or not token:
        await websocket.send_json(
            error_message("bad_message", 'expected {"type": "auth", "token": "..."} first')
        )
        return None
    return token


def same_origin(websocket: WebSocket, public_url: str) -> bool:
    """The Origin is this site: its public URL, or the host the client connected to."""
    origin = websocket.headers.get("origin")
    if not origin:
        return False  # every browser sends one; a cookie without it is not from a page of ours
    netloc = urlsplit(origin).netloc.lower()
    if netloc and netloc == websocket.headers.get("host", "").lower():
        return True
    key = _origin_key(origin)
    return key is not None and key == _origin_key(public_url)


def _origin_key(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url.strip().lower())
    if not parts.hostname or parts.scheme not in _DEFAULT_PORTS:
        return None
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return None
    return parts.scheme, parts.hostname, port
