"""What the browser tests share: ``omnidesk serve`` in a subprocess on a free port, a
customer's website on its own loopback origin, and small helpers.

Chromium is Debian's (``/usr/bin/chromium``); Playwright never downloads a browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx
import pytest

from tests.conftest import APP_USES_REDIS, REDIS_URL

if TYPE_CHECKING:
    from playwright.async_api import Page

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
APP_INDEX = ROOT / "omnidesk" / "web" / "static" / "app" / "index.html"
WIDGET = ROOT / "omnidesk" / "channels" / "webchat" / "static" / "widget.js"
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
#: The desktop's reference screen (screenshots; "usable at 1280 by 720").
VIEWPORT = {"width": 1280, "height": 720}
LOOPBACK = "127.0.0.1"
BOOT_TIMEOUT_S = 60.0
#: How long any one condition may take to become true (generous: a loaded 2-core CI).
WAIT_S = 60.0
WAIT_MS = WAIT_S * 1000


# The host site ----------------------------------------------------------------------------

HOST_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme shop</title>
<style>
  body { font: 16px/1.6 Georgia, serif; color: #333; background: #fafafa; margin: 2rem; }
  h1 { color: #8b0000; letter-spacing: .05em; }
  p, div { box-sizing: content-box; }
  button { background: #eee; border: 2px solid #999; padding: 4px 10px; }
  textarea, input { font-family: monospace; }
</style>
<script>window.omnideskSettings = __SETTINGS__;</script>
</head>
<body>
<h1>Acme shop</h1>
<p id="intro">Welcome to our shop. <a href="#terms">Terms</a></p>
<button id="buy" type="button">Buy</button>
<input id="search" placeholder="Search">
<textarea id="notes"></textarea>
<div id="target" style="width:300px;height:120px;background:#ddd">Broken carousel</div>
__SNIPPET__
</body>
</html>
"""


class HostSite:
    """The customer's website on its own loopback origin: pages with the snippet, and
    `/plain` without it (the baseline for "the widget changes nothing on the page"). The
    port is bound first, so the origin can go on an inbox's allow-list before its snippet
    exists."""

    def __init__(self) -> None:
        pages: dict[str, str] = {}
        self.pages = pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                page = pages.get(self.path.split("?")[0])
                body = (page or "not found").encode()
                self.send_response(200 if page else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.embed("/plain", "")

    def embed(self, path: str, snippet: str, settings: dict[str, Any] | None = None) -> str:
        """Serves a page at ``path`` with this snippet and ``window.omnideskSettings``."""
        page = HOST_PAGE.replace("__SNIPPET__", snippet)
        page = page.replace("__SETTINGS__", json.dumps(settings or {"locale": "en"}))
        self.pages[path] = page
        return f"{self.origin}{path}"

    def __enter__(self) -> HostSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


# omnidesk ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Admin:
    """An account's admin: how to log in, and an API token of theirs."""

    email: str
    password: str
    token: str


class Server:
    """``python -m omnidesk serve`` on a free loopback port, its output in a log file.

    ``public_url`` is the address browsers use (by default the server's own); ``extra_env``
    adds settings."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        log_path: Path,
        public_url: str | None = None,
        **extra_env: str,
    ):
        self.port = free_port()
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIDESK_")}
        env.update(
            OMNIDESK_ENVIRONMENT="test",
            OMNIDESK_SECRET_KEY="e2e-" + uuid.uuid4().hex * 2,
            OMNIDESK_DATABASE_URL=database_url,
            OMNIDESK_HOST=LOOPBACK,
            OMNIDESK_PORT=str(self.port),
            OMNIDESK_PUBLIC_URL=public_url or f"http://{LOOPBACK}:{self.port}",
            OMNIDESK_DATA_DIR=str(data_dir),
            OMNIDESK_SEED_DEMO="false",
            OMNIDESK_LOG_LEVEL="WARNING",
            **extra_env,
        )
        if APP_USES_REDIS and REDIS_URL:
            env["OMNIDESK_REDIS_URL"] = REDIS_URL
            env["OMNIDESK_REDIS_KEY_PREFIX"] = f"omnidesk-e2e-{uuid.uuid4().hex}:"
        self.env = env

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    async def admin_token(self, account: str) -> str:
        """A new account with its admin, and an API token of theirs (see :meth:`admin`)."""
        return (await self.admin(account)).token

    async def admin(self, account: str) -> Admin:
        """A new account with its admin (``omnidesk create-admin``), and an API token of
        theirs, made through the API the way an admin would."""
        password = "e2e password " + uuid.uuid4().hex[:8]
        email = f"admin-{uuid.uuid4().hex[:8]}@e2e.example.com"
        await self.cli(
            "create-admin", "--account", account, "--email", email, OMNIDESK_ADMIN_PASSWORD=password
        )
        async with httpx.AsyncClient(base_url=self.url, timeout=15) as api:
            credentials = {"email": email, "password": password}
            login = ok(await api.post("/api/v1/auth/login", json=credentials))
            created = await api.post(
                "/api/v1/api-tokens",
                json={"name": "e2e"},
                headers={"X-CSRF-Token": login["csrf_token"]},
            )
            return Admin(email, password, str(ok(created, 201)["token"]))

    async def cli(self, *args: str, **extra_env: str) -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "omnidesk",
            *args,
            env={**self.env, **extra_env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), BOOT_TIMEOUT_S)
        text = out.decode(errors="replace")
        assert process.returncode == 0, f"omnidesk {' '.join(args)} failed:\n{text}"
        return text

    async def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "omnidesk",
            "serve",
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
        )
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    pytest.fail(f"omnidesk serve exited at start:\n{self.tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        pytest.fail(f"omnidesk serve did not start in {BOOT_TIMEOUT_S:.0f}s:\n{self.tail()}")

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


# Helpers ----------------------------------------------------------------------------------


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json() if response.content else None


async def eventually(
    check: Callable[[], Awaitable[Any]], what: str | Callable[[], str], timeout_s: float = WAIT_S
) -> Any:
    """Polls until ``check`` returns something truthy; fails saying what never happened."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.1)
    pytest.fail(f"timed out waiting for {what if isinstance(what, str) else what()} ({last!r})")


async def no_serious_violations(page: Page, what: str) -> None:
    """axe-core on the page as it is: no serious or critical violation."""
    await page.add_script_tag(path=str(AXE))
    result: list[dict[str, Any]] = await page.evaluate(
        """async () => {
          const r = await axe.run(document, { resultTypes: ['violations'] });
          return r.violations.map((v) => ({ id: v.id, impact: v.impact,
            nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
        }"""
    )
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert bad == [], f"axe-core on {what}: {bad}"
