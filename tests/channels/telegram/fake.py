"""A fake Telegram Bot API on loopback: a real HTTP/1.1 server answering the documented
methods omnidesk calls (getMe, setWebhook, getWebhookInfo, sendMessage, sendPhoto,
sendDocument, getFile) at ``/bot<token>/<method>`` and serving files at
``/file/bot<token>/<file_path>``, in the Bot API's answer shapes
(https://core.telegram.org/bots/api#making-requests)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
BOT = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "Acme Support",
    "username": "acme_support_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    #: multipart files: field name -> (filename, content type, bytes)
    files: dict[str, tuple[str, str, bytes]]


@dataclass(frozen=True)
class Refusal:
    """An answer ``{"ok": false, …}`` the fake gives to the next call of ``method``."""

    method: str
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class FakeBotApi:
    token: str = TOKEN
    port: int = 0
    calls: list[Call] = field(default_factory=list)
    #: file_id -> (file_path, bytes); a file whose bytes are None is over the 20 MB cap.
    files: dict[str, tuple[str, bytes | None]] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    #: Seconds to wait before answering a send (to make omnidesk time out).
    delay_s: float = 0.0
    webhook: dict[str, Any] = field(default_factory=dict)
    _next_message_id: int = 100
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sent(self, method: str | None = None) -> list[Call]:
        sends = ("sendMessage", "sendPhoto", "sendDocument")
        return [c for c in self.calls if (c.method == method if method else c.method in sends)]

    async def start(self) -> FakeBotApi:
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

    # HTTP -----------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            request_line = (await reader.readline()).decode("latin-1").strip()
            if not request_line:
                return
            verb, path, _ = request_line.split(" ", 2)
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode("latin-1").strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status, content_type, answer = await self._answer(verb, path, headers, body)
            writer.write(
                f"HTTP/1.1 {status} Status\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(answer)}\r\nConnection: close\r\n\r\n".encode()
                + answer
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # omnidesk gave up (a timeout test)
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(
        self, verb: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        file_prefix = f"/file/bot{self.token}/"
        if verb == "GET" and path.startswith(file_prefix):
            self.calls.append(Call("download", {"file_path": path[len(file_prefix) :]}, {}))
            for file_path, data in self.files.values():
                if path == file_prefix + file_path and data is not None:
                    return 200, "application/octet-stream", data
            return 404, "text/plain", b"Not Found"
        prefix, _, method = path.rpartition("/")
        if prefix != f"/bot{self.token}":
            # What Telegram answers for a token it does not know.
            return _error(401, "Unauthorized")
        params, files = _params(headers, body)
        self.calls.append(Call(method, params, files))
        for refusal in self.refusals:
            if refusal.method == method:
                self.refusals.remove(refusal)
                return _error(refusal.status, refusal.description, refusal.retry_after)
        if method.startswith("send") and self.delay_s:
            await asyncio.sleep(self.delay_s)
        return self._method(method, params, files)

    # Methods --------------------------------------------------------------------------

    def _method(
        self, method: str, params: dict[str, Any], files: dict[str, tuple[str, str, bytes]]
    ) -> tuple[int, str, bytes]:
        if method == "getMe":
            return _ok(BOT)
        if method == "setWebhook":
            url = str(params.get("url", ""))
            if not url.startswith("https://"):
                return _error(
                    400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
                )
            self.webhook = {
                "url": url,
                "secret_token": params.get("secret_token"),
                "allowed_updates": params.get("allowed_updates"),
            }
            return _ok(True, description="Webhook was set")
        if method == "getWebhookInfo":
            info: dict[str, Any] = {
                "url": self.webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": 0,
            }
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
            return _ok(info)
        if method == "getFile":
            found = self.files.get(str(params.get("file_id")))
            if found is None:
                return _error(400, "Bad Request: invalid file_id")
            file_path, data = found
            if data is None:
                return _error(400, "Bad Request: file is too big")
            file_id = str(params["file_id"])
            return _ok(
                {
                    "file_id": file_id,
                    "file_unique_id": f"u-{file_id}",
                    "file_size": len(data),
                    "file_path": file_path,
                }
            )
        if method in ("sendMessage", "sendPhoto", "sendDocument"):
            return self._send(method, params, files)
        return _error(404, "Not Found: method not found")

    def _send(
        self, method: str, params: dict[str, Any], files: dict[str, tuple[str, str, bytes]]
    ) -> tuple[int, str, bytes]:
        chat_id = int(params["chat_id"])
        self._next_message_id += 1
        message: dict[str, Any] = {
            "message_id": self._next_message_id,
            "from": BOT,
            "chat": {"id": chat_id, "first_name": "Customer", "type": "private"},
            "date": 1736067600,
        }
        if method == "sendMessage":
            message["text"] = params["text"]
        elif method == "sendPhoto":
            _, _, data = files["photo"]
            message["photo"] = [
                {
                    "file_id": "p-1",
                    "file_unique_id": "up-1",
                    "width": 90,
                    "height": 90,
                    "file_size": len(data),
                }
            ]
        else:
            filename, content_type, data = files["document"]
            message["document"] = {
                "file_id": "d-1",
                "file_unique_id": "ud-1",
                "file_name": filename,
                "mime_type": content_type,
                "file_size": len(data),
            }
        return _ok(message)


def _params(
    headers: dict[str, str], body: bytes
) -> tuple[dict[str, Any], dict[str, tuple[str, str, bytes]]]:
    content_type = headers.get("content-type", "")
    if content_type.startswith("application/json"):
        return json.loads(body or b"{}"), {}
    if not content_type.startswith("multipart/form-data"):
        return {}, {}
    parsed = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        assert isinstance(name, str)
        assert isinstance(data, bytes)
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, part.get_content_type(), data)
        else:
            text = data.decode()
            # Objects (reply_parameters) travel as JSON in a multipart field.
            params[name] = json.loads(text) if text.startswith("{") else text
    return params, files


def _ok(result: Any, **extra: Any) -> tuple[int, str, bytes]:
    return 200, "application/json", json.dumps({"ok": True, "result": result, **extra}).encode()


def _error(status: int, description: str, retry_after: int | None = None) -> tuple[int, str, bytes]:
    answer: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        answer["parameters"] = {"retry_after": retry_after}
    return status, "application/json", json.dumps(answer).encode()
