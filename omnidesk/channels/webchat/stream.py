"""``/widget/v1/{key}/ws``: the visitor's websocket (docs/channels/webchat.md).

``hello {after}``, then every message of the visitor's conversations after ``after`` out of
the database, then live frames from the committed events of the account (the broker:
in memory or Redis). No gap, no duplicate: the broker subscription is taken before the
database is read, so a message committed meanwhile is in the replay, on the subscription,
or both — and ids already replayed are skipped when they come live.

Live frames: ``message {message}`` (the visitor's own from another tab or device, an
agent's reply, never a note), ``typing {typing, name?}`` (an agent), ``read {message_id}``
(an agent read the visitor's messages), ``status {conversation_id, status}``, and ``ping``
every ``webchat.ping_s``, answered ``{"type": "pong"}``.

Close codes: 4400 bad query, 4401 bad visitor token, 4403 origin not allowed, 4404 unknown
widget key, 4429 rate limited, 1013 fell behind or events unavailable (reconnect with the
last message id), 1012 server stopping, 1011 server error.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from omnidesk.channels.webchat import service
from omnidesk.channels.webchat.endpoints import (
    agents,
    links_of,
    origin_allowed,
    router,
    visitor_id_of,
)
from omnidesk.conversations import service as conversations
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.errors import NotFound, RateLimited, Unauthorized
from omnidesk.realtime.broker import BrokerUnavailable, Subscription
from omnidesk.realtime.cancel import first_to_end
from omnidesk.realtime.connection import client_message, close

if TYPE_CHECKING:
    from omnidesk.bootstrap import Container

log = structlog.get_logger(__name__)

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_RATE_LIMITED = 4429
CLOSE_RESTART = 1012
CLOSE_RESUME = 1013
CLOSE_ERROR = 1011
REPLAY_PAGE = 100
_MESSAGE_EVENTS = ("message.received", "message.created")
_STATUS_EVENTS = ("conversation.resolved", "conversation.status_changed")

__all__ = ["VisitorConnection", "agents", "router"]


@router.websocket("/widget/v1/{key}/ws")
async def visitor_socket(websocket: WebSocket, key: str) -> None:
    container: Container = websocket.app.state.container
    await websocket.accept()
    try:
        raw_after = websocket.query_params.get("after") or "0"
        if not raw_after.isascii() or not raw_after.isdigit() or len(raw_after) > 18:
            await close(websocket, CLOSE_BAD_REQUEST, "after must be a message id")
            return
        ip = websocket.client.host if websocket.client else "unknown"
        try:
            await container.rate_limiter.hit(
                f"webchat:ip:{ip}", limit=container.settings.webchat.ip_calls_per_minute
            )
            async with container.db.transaction() as session:
                inbox = await service.find_inbox(session, key)
        except RateLimited:
            await close(websocket, CLOSE_RATE_LIMITED, "too many connections, retry later")
            return
        except NotFound:
            await close(websocket, CLOSE_NOT_FOUND, "no chat has this widget key")
            return
        if not origin_allowed(inbox, websocket.headers.get("origin")):
            await close(websocket, CLOSE_FORBIDDEN, "this site may not embed the chat")
            return
        try:
            visitor_id = visitor_id_of(container, inbox, websocket.query_params.get("token"))
        except Unauthorized as exc:
            await close(websocket, CLOSE_UNAUTHENTICATED, exc.message)
            return
        connection = VisitorConnection(websocket, container, inbox, visitor_id)
        await connection.serve(int(raw_after))
    except WebSocketDisconnect:
        pass


class VisitorConnection:
    def __init__(
        self, websocket: WebSocket, container: Container, inbox: Inbox, visitor_id: str
    ) -> None:
        self.websocket = websocket
        self.container = container
        self.inbox = inbox
        self.visitor_id = visitor_id
        self.links = links_of(container, inbox)
        self.contact_id: int | None = None
        self.conversations: set[int] = set()
        self.names: dict[int, str] = {}
        self._sending = asyncio.Lock()

    async def serve(self, after: int) -> None:
        broker = self.container.broker
        if broker is None:
            await close(self.websocket, CLOSE_RESUME, "events are unavailable, retry")
            return
        try:
            subscription = await broker.subscribe(self.inbox.account_id)
        except BrokerUnavailable:
            await close(self.websocket, CLOSE_RESUME, "events are unavailable, retry")
            return
        async with subscription:
            code = await self._run(subscription, after)
        if code is not None:
            await close(self.websocket, code)

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._sending:
            await self.websocket.send_text(json.dumps(frame, separators=(",", ":")))

    async def _run(self, subscription: Subscription, after: int) -> int | None:
        try:
            return await first_to_end(
                self._stream(subscription, after), self._listen(), self._ping()
            )
        except (WebSocketDisconnect, OSError):
            return None
        except Exception:
            log.exception("visitor_websocket_failed", inbox_id=self.inbox.id)
            return CLOSE_ERROR

    async def _stream(self, subscription: Subscription, after: int) -> int:
        async with self.container.db.transaction() as session:
            contact = await service.visitor_contact(session, self.inbox, self.visitor_id)
            if contact is not None:
                self.contact_id = contact.id
                self.conversations = await service.conversation_ids(session, self.inbox, contact.id)
        await self.send({"type": "hello", "after": after})
        replayed = await self._replay(after)
        async for event in subscription:
            await self._on_event(event, replayed)
        return CLOSE_RESUME if subscription.interrupted else CLOSE_RESTART

    async def _replay(self, after: int) -> set[int]:
        replayed: set[int] = set()
        if self.contact_id is None:
            return replayed
        cursor = after
        while True:
            async with self.container.db.transaction() as session:
                page = await service.history(
                    session, self.inbox, self.contact_id, after=cursor, limit=REPLAY_PAGE
                )
            for message in page:
                replayed.add(message["id"])
                await self._send_message(message, confirm=False)
            await self._delivered(page)
            if len(page) < REPLAY_PAGE:
                return replayed
            cursor = page[-1]["id"]

    async def _send_message(self, message: dict[str, Any], *, confirm: bool = True) -> None:
        sender_id = message.get("sender_id")
        if message["sender_type"] == "user" and sender_id and sender_id not in self.names:
            async with self.container.db.transaction() as session:
                self.names |= await service.user_names(session, self.inbox.account_id, [sender_id])
        out = service.visitor_message(message, self.links, self.names)
        await self.send({"type": "message", "message": out.model_dump(mode="json")})
        if confirm:
            await self._delivered([message])

    async def _delivered(self, messages: list[dict[str, Any]]) -> None:
        """Our messages just sent down the socket are ``delivered`` (agents see it through
        ``message.delivery_updated``); the outbox's later "sent" does not undo it."""
        ids = [
            m["id"]
            for m in messages
            if m["direction"] == "outbound" and m.get("delivery_status") in ("queued", "sent")
        ]
        if not ids:
            return
        async with self.container.db.transaction() as session:
            for message_id in ids:
                await conversations.record_delivery(
                    session, self.container.clock, message_id=message_id, state="delivered"
                )

    async def _on_event(self, event: dict[str, Any], replayed: set[int]) -> None:
        if event.get("id") is None:  # an ephemeral message: typing, reads
            await self._on_ephemeral(event.get("message") or {})
            return
        kind = event.get("type")
        conversation_id = event.get("conversation_id")
        if kind in _MESSAGE_EVENTS:
            message = (event.get("data") or {}).get("message") or {}
            if message.get("kind") != "message":
                return  # internal notes and activities are never the visitor's
            meta = message.get("meta") or {}
            if self.contact_id is None and meta.get("visitor_id") == self.visitor_id:
                self.contact_id = event.get("contact_id")  # their first message made it
            if self.contact_id is None or event.get("contact_id") != self.contact_id:
                return
            if message.get("inbox_id") == self.inbox.id and conversation_id is not None:
                self.conversations.add(conversation_id)
            if conversation_id not in self.conversations:
                return
            if message["id"] in replayed:
                replayed.discard(message["id"])
                return
            await self._send_message(message)
        elif kind in _STATUS_EVENTS and conversation_id in self.conversations:
            status = (event.get("data") or {}).get("to")
            await self.send(
                {"type": "status", "conversation_id": conversation_id, "status": status}
            )

    async def _on_ephemeral(self, message: dict[str, Any]) -> None:
        if message.get("conversation_id") not in self.conversations:
            return
        if message.get("type") == "conversation.typing":
            sender = message.get("sender") or {}
            if sender.get("type") != "user":
                return
            frame: dict[str, Any] = {"type": "typing", "typing": bool(message.get("typing"))}
            if sender.get("name"):
                frame["name"] = sender["name"]
            await self.send(frame)
        elif message.get("type") == "conversation.read":
            await self.send({"type": "read", "message_id": message.get("message_id")})

    async def _listen(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = client_message(message)
            if data is None or data.get("type") != "pong":
                log.debug("visitor_frame_ignored", inbox_id=self.inbox.id)

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(self.container.settings.webchat.ping_s)
            await self.send({"type": "ping"})
