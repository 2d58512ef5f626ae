"""One authenticated agent websocket: hello, replay, live events and ephemeral messages,
heartbeats, pings.

No gap, no duplicate: the connection joins the fan-out (whose broker subscription for the
account is then live) before the event log is read, so an event committed meanwhile is in the
log, on the subscription, or both; ids already replayed are skipped when they come live.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from pydantic import TypeAdapter
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from omnidesk.accounts.principal import Principal
from omnidesk.events import repository as events
from omnidesk.kit.clock import Clock
from omnidesk.kit.db import Database
from omnidesk.kit.errors import error_body
from omnidesk.realtime import repository
from omnidesk.realtime.broker import BrokerUnavailable, Subscription
from omnidesk.realtime.cancel import first_to_end
from omnidesk.realtime.hub import Hub, event_payload
from omnidesk.realtime.visibility import may_see

log = structlog.get_logger(__name__)

CLOSE_RESTART = 1012  # the server is stopping: reconnect (elsewhere) with last_event_id
CLOSE_RESUME = 1013  # fell behind, or the broker lost events: reconnect with last_event_id
CLOSE_ERROR = 1011
CLOSE_SIGNED_OUT = 4401  # as an unauthenticated socket: the session was revoked
REPLAY_PAGE = 500
#: Replayed ids remembered to drop their live duplicates. Older ones committed long before
#: the subscription and cannot come live; the bound keeps a long catch-up cheap.
DEDUPE_WINDOW = 10_000
_TIMESTAMP = TypeAdapter(datetime)


def client_message(message: Mapping[str, Any]) -> dict[str, Any] | None:
    """A JSON object from a text frame; None for anything else."""
    text = message.get("text")
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def error_message(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"type": "error", **error_body(code, message, field)}


async def close(websocket: WebSocket, code: int, reason: str = "") -> None:
    """Close unless either side already has; a client gone meanwhile is not an error."""
    if WebSocketState.DISCONNECTED in (websocket.client_state, websocket.application_state):
        return
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
        await websocket.close(code, reason)


class AgentConnection:
    def __init__(
        self,
        websocket: WebSocket,
        principal: Principal,
        *,
        hub: Hub,
        db: Database,
        clock: Clock,
        heartbeat_s: float,
    ) -> None:
        self.websocket = websocket
        self.principal = principal
        self.hub = hub
        self.db = db
        self.clock = clock
        self.heartbeat_s = heartbeat_s
        self._sending = asyncio.Lock()

    async def serve(self, after: int | None) -> None:
        """Run until either side closes; ``after`` is the client's last seen event id."""
        self.hub.connected(self.principal)
        try:
            try:
                subscription = await self.hub.fanout.join(self.principal)
            except BrokerUnavailable:
                await close(self.websocket, CLOSE_RESUME, "events are unavailable, retry")
                return
            async with subscription:
                code = await self._run(subscription, after)
            if code is not None:
                await close(self.websocket, code)
        finally:
            self.hub.disconnected(self.principal)

    async def send(self, message: dict[str, Any]) -> None:
        async with self._sending:  # the stream, the listener and the heartbeat all send
            await self.websocket.send_text(json.dumps(message, separators=(",", ":")))

    async def _run(self, subscription: Subscription, after: int | None) -> int | None:
        try:
            return await first_to_end(
                self._stream(subscription, after), self._listen(), self._beat()
            )
        except (WebSocketDisconnect, OSError):
            return None
        except Exception:
            log.exception("websocket_failed", user_id=self.principal.user_id)
            return CLOSE_ERROR

    async def _stream(self, subscription: Subscription, after: int | None) -> int:
        async with self.db.transaction() as session:
            latest = await repository.latest_event_id(session, self.principal.account_id)
        hello = {"type": "hello", "user_id": self.principal.user_id, "last_event_id": latest}
        await self.send(hello)
        replayed = set() if after is None else await self._replay(after, latest - DEDUPE_WINDOW)
        async for event in subscription:
            event_id = event.get("id")
            if event_id is None:  # an ephemeral message (broker.ephemeral): live only
                if may_see(self.principal, event):
                    await self.send(event["message"])
                continue
            if event_id in replayed:
                replayed.discard(event_id)
                continue
            if may_see(self.principal, event):  # the fan-out chose already: the last gate
                await self.send({"type": "event", "event": event})
            if self._signed_out_by(event):
                return CLOSE_SIGNED_OUT
        return CLOSE_RESUME if subscription.interrupted else CLOSE_RESTART

    def _signed_out_by(self, event: Mapping[str, Any]) -> bool:
        """This user's browser sessions were ended (signed out by a supervisor, deactivated,
        a new password): a socket opened with one ends too — not one opened with an API
        token, nor the one of the session kept (who changed their own password)."""
        data = event.get("data") or {}
        return (
            event.get("type") == "user.signed_out"
            and self.principal.via == "session"
            and data.get("user_id") == self.principal.user_id
            and data.get("kept_session_id") != self.principal.session_id
        )

    async def _replay(self, after: int, remember_above: int) -> set[int]:
        replayed: set[int] = set()
        cursor = after
        while True:
            # One short transaction per page: never hold the database while a client reads.
            async with self.db.transaction() as session:
                rows = await events.list_after(
                    session, self.principal.account_id, cursor, limit=REPLAY_PAGE
                )
                page = [event_payload(row) for row in rows]
            for event in page:
                if event["id"] > remember_above:
                    replayed.add(event["id"])
                if may_see(self.principal, event):
                    await self.send({"type": "event", "event": event})
            if len(page) < REPLAY_PAGE:
                return replayed
            cursor = page[-1]["id"]

    async def _listen(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = client_message(message)
            if data is not None and data.get("type") == "ping":
                await self.send({"type": "pong"})
            else:
                await self.send(error_message("bad_message", 'expected {"type": "ping"}'))

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            at = _TIMESTAMP.dump_python(self.clock.now(), mode="json")  # as in events: …Z
            await self.send({"type": "heartbeat", "at": at})
