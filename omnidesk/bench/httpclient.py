"""A small HTTP/1.1 keep-alive client on asyncio streams, for load generation.

httpx spends more CPU per request than the server under test at a few hundred requests per
second; this client does only what the benchmarks need: one request at a time per
connection, ``Content-Length`` or chunked bodies, and a reconnect when the server closed
an idle keep-alive connection. Loopback only: it never reads proxy settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

_NO_BODY_STATUSES = frozenset({204, 304})
_MAX_HEAD_BYTES = 64 * 1024


class HttpError(Exception):
    """The connection failed or the server's answer was not HTTP/1.1 we understand."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-cased names; a repeated header keeps its last value
    body: bytes
    set_cookies: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body)

    def cookie(self, name: str) -> str | None:
        prefix = name + "="
        for raw in self.set_cookies:
            first = raw.split(";", 1)[0].strip()
            if first.startswith(prefix):
                return first[len(prefix) :]
        return None


class HttpConnection:
    """One keep-alive connection to ``host:port``; callers must not overlap requests."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        headers: dict[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        fixed = {"Host": f"{host}:{port}", "Connection": "keep-alive", **(headers or {})}
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode("latin-1")
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        #: Connections opened, so a report can show reconnects.
        self.connects = 0

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Response:
        head = bytearray(f"{method} {path} HTTP/1.1\r\n".encode("latin-1"))
        head += self._fixed
        if headers:
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1")
        if body is not None:
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n".encode(
                "latin-1"
            )
        head += b"\r\n"
        if body:
            head += body
        payload = bytes(head)
        async with asyncio.timeout(self.timeout_s):
            reused = self._usable()
            try:
                return await self._exchange(payload)
            except _ClosedBeforeAnswer:
                if not reused:
                    raise HttpError("the server closed the connection without answering") from None
            # A kept-alive connection the server had closed: nothing was processed, retry once.
            await self.close()
            try:
                return await self._exchange(payload)
            except _ClosedBeforeAnswer:
                raise HttpError("the server closed the connection without answering") from None

    def _usable(self) -> bool:
        return (
            self._reader is not None
            and self._writer is not None
            and not self._reader.at_eof()
            and not self._writer.is_closing()
        )

    async def _exchange(self, payload: bytes) -> Response:
        if not self._usable():
            await self.close()
            try:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            except OSError as exc:
                raise HttpError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
            self.connects += 1
        reader, writer = self._reader, self._writer
        assert reader is not None
        assert writer is not None
        got_head = False
        try:
            writer.write(payload)
            try:
                raw_head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                await self.close()
                if not exc.partial:
                    raise _ClosedBeforeAnswer from None
                raise HttpError("the connection closed in the middle of an answer") from None
            except asyncio.LimitOverrunError as exc:
                await self.close()
                raise HttpError("the answer's head is too large") from exc
            got_head = True
            status, headers, cookies = _parse_head(raw_head)
            body = await self._read_body(reader, status, headers)
        except (ConnectionError, OSError) as exc:
            await self.close()
            if not got_head and isinstance(exc, ConnectionResetError | BrokenPipeError):
                raise _ClosedBeforeAnswer from None
            raise HttpError(f"connection failed: {exc!r}") from exc
        except BaseException:
            await self.close()  # cancelled or timed out mid-answer: the stream is unusable
            raise
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, headers, body, cookies)

    async def _read_body(
        self, reader: asyncio.StreamReader, status: int, headers: dict[str, str]
    ) -> bytes:
        if status in _NO_BODY_STATUSES or 100 <= status < 200:
            return b""
        try:
            length = headers.get("content-length")
            if length is not None:
                return await reader.readexactly(int(length))
            if "chunked" in headers.get("transfer-encoding", "").lower():
                return await _read_chunked(reader)
        except asyncio.IncompleteReadError:
            await self.close()
            raise HttpError("the connection closed in the middle of a body") from None
        body = await reader.read()  # delimited by the end of the connection
        await self.close()
        return body

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


class _ClosedBeforeAnswer(Exception):
    pass


def _parse_head(raw: bytes) -> tuple[int, dict[str, str], tuple[str, ...]]:
    if len(raw) > _MAX_HEAD_BYTES:
        raise HttpError("the answer's head is too large")
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpError(f"bad header line: {line[:80]!r}")
        key = name.strip().lower()
        headers[key] = value.strip()
        if key == "set-cookie":
            cookies.append(value.strip())
    return int(parts[1]), headers, tuple(cookies)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            # Trailers, if any, end with an empty line.
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)
