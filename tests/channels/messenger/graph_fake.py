"""A fake of Meta's Graph API on loopback: the Send API, object look-ups and a media CDN.

It speaks the documented shapes: ``POST /{page-id}/messages`` with a JSON body (or a
multipart form with ``filedata``) answered ``{"recipient_id", "message_id"}`` or a Graph
error ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``;
``GET /{id}?fields=…`` answered with the object; ``GET /cdn/<name>`` serving files. Each
request must carry ``Authorization: Bearer <token>`` (except the CDN, whose URLs are signed).
Shared by the Messenger and Instagram tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "EAAG-page-token-for-tests-0123456789"


@dataclass(frozen=True)
class GraphError:
    """A Graph API refusal to answer instead of a success."""

    status: int
    code: int
    message: str
    subcode: int | None = None

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
            "fbtrace_id": "AbCdEfGhIjK",
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        return {"error": error}


@dataclass(frozen=True)
class Sent:
    """One Send API call as the fake understood it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    #: ``filedata`` of a multipart upload: (filename, content type, bytes).
    file: tuple[str, str, bytes] | None = None


@dataclass
class GraphFake:
    port: int = 0
    token: str = TOKEN
    #: Graph objects by id, as ``GET /{id}`` returns them.
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: What the next sends answer, in order: a GraphError, or "hang" (never answer in time);
    #: then success.
    answers: list[GraphError | str] = field(default_factory=list)
    #: Files served at /cdn/<name>: (content type, bytes).
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v21.0"

    def cdn(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/cdn/{name}"

    async def start(self) -> GraphFake:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    # HTTP ---------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            request_line = (await reader.readline()).decode("latin-1").strip()
            if not request_line:
                return
            method, target, _ = request_line.split(" ", 2)
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode("latin-1").strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append((method, target))
            answer = await self._route(method, target, headers, body)
            if answer is None:
                return
            status, content_type, payload, extra = answer
            head = "".join(f"{k}: {v}\r\n" for k, v in extra.items())
            writer.write(
                f"HTTP/1.1 {status} Status\r\nContent-Type: {content_type}\r\n{head}"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client gave up (a timeout test)
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _route(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes, dict[str, str]] | None:
        parts = urlsplit(target)
        path = parts.path
        if path.startswith("/cdn/"):
            return self._cdn(path.removeprefix("/cdn/"))
        if headers.get("authorization") != f"Bearer {self.token}":
            return _json(401, GraphError(401, 190, "Invalid OAuth access token.").body())
        segments = path.removeprefix("/v21.0/").split("/")
        if method == "POST" and len(segments) == 2 and segments[1] == "messages":
            return await self._send(path, headers, body)
        if method == "GET" and len(segments) == 1:
            found = self.objects.get(segments[0])
            if found is None:
                error = GraphError(400, 100, "Unsupported get request.", 33)
                return _json(400, error.body())
            fields = parse_qs(parts.query).get("fields", ["id"])[0].split(",")
            return _json(200, {k: v for k, v in found.items() if k in fields})
        return _json(404, GraphError(404, 803, "Unknown path").body())

    async def _send(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes, dict[str, str]] | None:
        file = None
        if headers.get("content-type", "").startswith("multipart/form-data"):
            fields, file = _multipart(headers["content-type"], body)
            parsed = {
                k: v if k == "messaging_type" or k == "tag" else json.loads(v)
                for k, v in fields.items()
            }
        else:
            parsed = json.loads(body)
        answer = self.answers.pop(0) if self.answers else None
        if answer == "hang":
            await asyncio.sleep(30)  # longer than the client's timeout: it gives up first
            return None
        self.sent.append(Sent(path, headers, parsed, file))
        if isinstance(answer, GraphError):
            return _json(answer.status, answer.body())
        recipient = parsed["recipient"]["id"]
        return _json(200, {"recipient_id": recipient, "message_id": f"m_sent-{len(self.sent)}"})

    def _cdn(self, name: str) -> tuple[int, str, bytes, dict[str, str]]:
        if name.startswith("redirect-"):
            location = self.cdn(name.removeprefix("redirect-"))
            return 302, "text/plain", b"", {"Location": location}
        if name not in self.files:
            return 404, "text/plain", b"URL signature expired", {}
        content_type, data = self.files[name]
        return 200, content_type, data, {}


def _json(status: int, payload: dict[str, Any]) -> tuple[int, str, bytes, dict[str, str]]:
    return status, "application/json", json.dumps(payload).encode(), {}


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], tuple[str, str, bytes]]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, str] = {}
    file: tuple[str, str, bytes] | None = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str)
        assert isinstance(payload, bytes)
        if name == "filedata":
            file = (part.get_filename() or "", part.get_content_type(), payload)
        else:
            fields[name] = payload.decode()
    assert file is not None, "a multipart send without filedata"
    return fields, file
