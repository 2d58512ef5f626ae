"""The load generator's HTTP/1.1 client against a tiny loopback server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from omnidesk.bench.httpclient import HttpConnection, HttpError
from omnidesk.bench.messages import _percentile


class Server:
    """Answers each request from a script; can drop a kept-alive connection."""

    def __init__(self) -> None:
        self.answers: list[bytes] = []
        self.requests: list[bytes] = []
        self.close_after_answer = False
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                length = 0
                for line in head.decode().split("\r\n"):
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                self.requests.append(head + await reader.readexactly(length))
                writer.write(self.answers.pop(0))
                await writer.drain()
                if self.close_after_answer:
                    return
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    s = Server()
    await s.start()
    yield s
    await s.stop()


async def test_keep_alive_content_length_and_chunked(server: Server) -> None:
    server.answers = [
        b'HTTP/1.1 201 Created\r\ncontent-length: 9\r\nset-cookie: a=b; Path=/\r\n\r\n{"id": 1}',
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ]
    conn = HttpConnection("127.0.0.1", server.port, headers={"Authorization": "Bearer t"})
    try:
        first = await conn.request("POST", "/x", b'{"a": 1}')
        assert first.status == 201
        assert first.json() == {"id": 1}
        assert first.cookie("a") == "b"
        second = await conn.request("GET", "/y")
        assert second.body == b"abcdef"
        third = await conn.request("DELETE", "/z")
        assert third.status == 204
        assert third.body == b""
    finally:
        await conn.close()
    assert server.connections == 1  # one kept-alive connection for all three
    assert b"Authorization: Bearer t\r\n" in server.requests[0]
    assert server.requests[0].endswith(b'Content-Length: 8\r\n\r\n{"a": 1}')


async def test_reconnects_when_the_server_closed_an_idle_connection(server: Server) -> None:
    server.close_after_answer = True
    server.answers = [b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na"] * 2
    conn = HttpConnection("127.0.0.1", server.port)
    try:
        assert (await conn.request("GET", "/")).body == b"a"
        await asyncio.sleep(0.05)  # the server's FIN arrives
        assert (await conn.request("GET", "/")).body == b"a"
    finally:
        await conn.close()
    assert server.connections == 2
    assert conn.connects == 2


async def test_a_refused_connection_is_an_http_error() -> None:
    server = Server()
    await server.start()
    port = server.port
    await server.stop()
    with pytest.raises(HttpError):
        await HttpConnection("127.0.0.1", port, timeout_s=2).request("GET", "/")


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert _percentile(values, 0.5) == 50.0
    assert _percentile(values, 0.99) == 99.0
    assert _percentile(values, 1.0) == 100.0
    assert _percentile([], 0.99) is None
