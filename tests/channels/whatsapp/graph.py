"""A fake of Meta's Graph API for WhatsApp on loopback, answering in its documented shapes.

It serves one phone number and its business account: ``GET /v21.0/{phone-number-id}``,
``GET /v21.0/{waba-id}/message_templates`` (paged by cursor), ``POST
/v21.0/{phone-number-id}/messages`` and ``/media``, ``GET /v21.0/{media-id}`` and the media
download URL it hands out. Every call needs ``Authorization: Bearer <token>`` (else 401 with
error 190). ``failures`` scripts the next answers of ``/messages`` (a status and an error
code, or ``"hang"`` to never answer in time).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAYLOADS = Path(__file__).parent / "payloads"
VERSION = "v21.0"
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
TOKEN = "EAAJB-test-system-user-token"


def payload(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return loaded


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class GraphApi:
    port: int = 0
    #: media id -> (content type, bytes): the customers' files Meta holds.
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: The next answers of POST /messages: (HTTP status, Graph error code) or "hang".
    failures: list[tuple[int, int] | str] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(
        default_factory=lambda: payload("message_templates.json")["data"]
    )
    calls: list[Call] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)
    _sent: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{VERSION}"

    def sent(self) -> list[dict[str, Any]]:
        """The messages the business sent (the bodies of POST /messages)."""
        return [c.json() for c in self.calls if c.path.endswith(f"{PHONE_NUMBER_ID}/messages")]

    async def start(self) -> GraphApi:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            line = (await reader.readline()).decode("latin-1").strip()
            if not line:
                return
            method, target, _ = line.split(" ", 2)
            headers: dict[str, str] = {}
            while (header := (await reader.readline()).decode("latin-1").strip()) != "":
                name, _, value = header.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            split = urlsplit(target)
            query = {k: v[0] for k, v in parse_qs(split.query).items()}
            call = Call(method, split.path, query, headers, body)
            self.calls.append(call)
            status, content_type, answer = await self._answer(call)
            writer.write(
                f"HTTP/1.1 {status} Status\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(answer)}\r\nConnection: close\r\n\r\n".encode()
                + answer
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client gave up (a timeout test)
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, call: Call) -> tuple[int, str, bytes]:
        if call.headers.get("authorization") != f"Bearer {TOKEN}":
            return _error(401, 190, "Error validating access token: Session has expired")
        path = call.path.removeprefix(f"/{VERSION}/")
        if call.path.startswith("/download/"):
            content_type, data = self.media[call.path.removeprefix("/download/")]
            return 200, content_type, data
        if call.method == "POST" and path == f"{PHONE_NUMBER_ID}/messages":
            return await self._message(call)
        if call.method == "POST" and path == f"{PHONE_NUMBER_ID}/media":
            return _json({"id": f"upload-{len(self.calls)}"})
        if call.method == "GET" and path == PHONE_NUMBER_ID:
            return _json(
                {
                    "verified_name": "Acme Support",
                    "display_phone_number": "+1 555-010-0199",
                    "quality_rating": "GREEN",
                    "id": PHONE_NUMBER_ID,
                }
            )
        if call.method == "GET" and path == f"{WABA_ID}/message_templates":
            return self._templates(call)
        if call.method == "GET" and path in self.media:
            content_type, data = self.media[path]
            return _json(
                {
                    "messaging_product": "whatsapp",
                    "url": f"http://127.0.0.1:{self.port}/download/{path}",
                    "mime_type": content_type,
                    "sha256": "0" * 64,
                    "file_size": str(len(data)),
                    "id": path,
                }
            )
        return _error(400, 100, f"Unsupported request - method type: {call.method.lower()}")

    async def _message(self, call: Call) -> tuple[int, str, bytes]:
        if self.failures:
            failure = self.failures.pop(0)
            if failure == "hang":
                await asyncio.sleep(3600)  # the client's timeout ends it
            assert isinstance(failure, tuple)
            return _error(*failure, "scripted failure")
        self._sent += 1
        to = str(call.json().get("to"))
        return _json(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": f"wamid.OUT{self._sent}"}],
            }
        )

    def _templates(self, call: Call) -> tuple[int, str, bytes]:
        # Two per page, so that the client must follow the cursors.
        start = int(call.query.get("after", "0"))
        page = self.templates[start : start + 2]
        body: dict[str, Any] = {"data": page, "paging": {"cursors": {"before": str(start)}}}
        if start + 2 < len(self.templates):
            body["paging"]["cursors"]["after"] = str(start + 2)
            body["paging"]["next"] = f"https://graph.facebook.com/{VERSION}/next-page"
        return _json(body)


def _json(body: dict[str, Any], status: int = 200) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body).encode()


def _error(status: int, code: int, message: str) -> tuple[int, str, bytes]:
    return _json(
        {
            "error": {
                "message": f"(#{code}) {message}",
                "type": "OAuthException",
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": message},
                "fbtrace_id": "AazvHbQvM5sT8Cq7nF7b1bD",
            }
        },
        status,
    )
