"""A fake of Twilio's REST API (2010-04-01) on loopback: the calls omnidesk makes, answered in
Twilio's documented shapes (payloads/*.json).

- ``POST /2010-04-01/Accounts/{sid}/Messages.json`` creates a message (or answers the next
  scripted error of ``create_answers``; ``"drop"`` takes the message and closes the
  connection without answering, like a network failure after Twilio accepted it);
- ``GET …/Messages.json?To=&From=`` lists them, newest first;
- ``GET /2010-04-01/Accounts/{sid}.json`` and ``…/IncomingPhoneNumbers.json?PhoneNumber=``;
- ``GET …/Messages/{MM}/Media/{ME}`` redirects (307) to the file on another host name
  (``localhost``), as Twilio redirects to its media storage.

Every API call needs HTTP basic auth with ``auth``; the media storage needs none.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PAYLOADS = Path(__file__).parent / "payloads"
ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
NUMBER = "+14155550100"
CUSTOMER = "+14155550123"


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    form: list[tuple[str, str]]

    def field(self, name: str) -> str | None:
        return next((value for key, value in self.form if key == name), None)


@dataclass
class FakeTwilio:
    account_sid: str = ACCOUNT_SID
    auth: tuple[str, str] = (ACCOUNT_SID, AUTH_TOKEN)
    port: int = 0
    #: What the next message creations answer, in turn: ``(status, Twilio error code)``,
    #: ``"drop"`` or ``"hang"`` (no answer until stopped); then success.
    create_answers: list[tuple[int, int] | str] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    numbers: list[dict[str, Any]] = field(default_factory=list)
    #: ME sid → (bytes, content type)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def created(self) -> list[Received]:
        return [
            r for r in self.requests if r.method == "POST" and r.path.endswith("/Messages.json")
        ]

    async def start(self) -> FakeTwilio:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
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
            parts = urlsplit(target)
            received = Received(
                method,
                parts.path,
                dict(parse_qsl(parts.query)),
                headers,
                parse_qsl(body.decode(), keep_blank_values=True),
            )
            self.requests.append(received)
            answer = await self._answer(received)
            if answer is None:
                return  # dropped: the connection closes without an answer
            status, extra, content = answer
            head = f"HTTP/1.1 {status} Status\r\nContent-Length: {len(content)}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in extra.items())
            writer.write(f"{head}Connection: close\r\n\r\n".encode() + content)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, r: Received) -> tuple[int, dict[str, str], bytes] | None:
        if r.path.startswith("/media-storage/"):
            data, kind = self.media[r.path.rsplit("/", 1)[-1]]
            return 200, {"Content-Type": kind}, data
        if not self._authorised(r):
            return _json(401, _error(20003, "Authenticate", 401))
        base = f"/2010-04-01/Accounts/{self.account_sid}"
        if r.method == "GET" and r.path == f"{base}.json":
            return _json(200, payload("account.json"))
        if r.method == "GET" and r.path == f"{base}/IncomingPhoneNumbers.json":
            wanted = r.query.get("PhoneNumber")
            found = [n for n in self.numbers if n["phone_number"] == wanted]
            return _json(200, {"incoming_phone_numbers": found, "page": 0})
        if r.path == f"{base}/Messages.json":
            if r.method == "POST":
                return await self._create(r)
            found = [
                m
                for m in reversed(self.messages)
                if m["to"] == r.query.get("To") and r.query.get("From") in (None, m["from"])
            ]
            return _json(200, {"messages": found, "page": 0})
        media = re.fullmatch(rf"{base}/Messages/(\w+)/Media/(\w+)", r.path)
        if r.method == "GET" and media and media.group(2) in self.media:
            where = f"http://localhost:{self.port}/media-storage/{media.group(2)}"
            return 307, {"Location": where}, b""
        return _json(404, _error(20404, "The requested resource was not found", 404))

    async def _create(self, r: Received) -> tuple[int, dict[str, str], bytes] | None:
        scripted = self.create_answers.pop(0) if self.create_answers else None
        if scripted == "hang":
            await asyncio.Event().wait()
        if isinstance(scripted, tuple):
            status, code = scripted
            if code == 21211:  # as Twilio's documentation shows it
                return _json(status, payload("error_21211.json"))
            return _json(status, _error(code, f"scripted error {code}", status))
        message = copy.deepcopy(payload("message_created.json"))
        message.update(
            sid=f"SM{len(self.messages) + 1:032x}",
            to=r.field("To"),
            body=r.field("Body"),
            messaging_service_sid=r.field("MessagingServiceSid"),
        )
        message["from"] = r.field("From") or NUMBER
        self.messages.append(message)
        if scripted == "drop":
            return None
        return _json(201, message)

    def _authorised(self, r: Received) -> bool:
        given = r.headers.get("authorization", "")
        expected = base64.b64encode(":".join(self.auth).encode()).decode()
        return given == f"Basic {expected}"


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    more = f"https://www.twilio.com/docs/errors/{code}"
    return {"code": code, "message": message, "more_info": more, "status": status}


def _json(status: int, document: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(document).encode()
