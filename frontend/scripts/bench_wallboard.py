"""How soon a change shows on the supervisor's wallboard, in Debian's Chromium, against a real
``omnidesk serve``.

    .venv/bin/python frontend/scripts/bench_wallboard.py --changes 20

An admin opens ``/app/supervisor``; then, ``--changes`` times, a customer writes through the
API channel (a new conversation, queued in the default queue with no agent available) and
the page records, with a MutationObserver, the moment its "waiting" figure for that queue
shows the new count. Each latency runs from just before the customer's POST is sent to that
moment (both clocks are this machine's). Prints a JSON report; issue 5 asks for changes
within a second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.support import CHROMIUM, Server, ok  # noqa: E402

# Resolves with Date.now() once the queue's waiting figure reads `expected`.
SEEN_JS = """([queueId, expected]) => new Promise((resolve) => {
  const cell = () => document.querySelector(`[data-queue="${queueId}"] [data-testid="waiting"]`);
  const check = () => {
    const c = cell();
    if (c && c.textContent.trim() === String(expected)) {
      observer.disconnect();
      resolve(Date.now());
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  check();
})"""


async def main(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        server = Server(url, folder / "data", folder / "serve.log")
        await server.start()
        try:
            admin = await server.admin("Bench")
            async with httpx.AsyncClient(
                base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {admin.token}"}
            ) as api:
                inbox = ok(
                    await api.post(
                        "/api/v1/inboxes", json={"name": "CRM", "channel_type": "api", "config": {}}
                    ),
                    201,
                )
                [queue] = [
                    q for q in ok(await api.get("/api/v1/routing/queues")) if q["is_default"]
                ]
                async with async_playwright() as pw:
                    browser = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
                    page = await browser.new_page(viewport={"width": 1280, "height": 720})
                    await page.goto(f"{server.url}/app/login")
                    await page.get_by_label("Email").fill(admin.email)
                    await page.get_by_label("Password").fill(admin.password)
                    await page.get_by_role("button", name="Log in").click()
                    await page.wait_for_url("**/app/")
                    await page.goto(f"{server.url}/app/supervisor")
                    await page.evaluate(SEEN_JS, [queue["id"], 0])
                    for n in range(1, args.changes + 1):
                        seen = asyncio.ensure_future(page.evaluate(SEEN_JS, [queue["id"], n]))
                        await asyncio.sleep(0)  # the observer is in place before the post
                        sent_ms = time.time() * 1000
                        body = {
                            "external_id": f"m-{n}",
                            "sender": {"external_id": f"c-{n}", "name": f"Customer {n}"},
                            "body": "Where is my order?",
                        }
                        response = await api.post(
                            f"/api/v1/inboxes/{inbox['id']}/messages", json=body
                        )
                        assert response.status_code < 300, response.text
                        latencies.append((await asyncio.wait_for(seen, 60) - sent_ms) / 1000)
                        await asyncio.sleep(args.pause_s)
                    await browser.close()
        finally:
            await server.stop()
    ordered = sorted(latencies)
    return {
        "changes": args.changes,
        "database": "postgresql" if args.database_url else "sqlite",
        "latency_s": {
            "median": round(statistics.median(ordered), 3),
            "p90": round(ordered[max(0, round(0.9 * len(ordered)) - 1)], 3),
            "max": round(ordered[-1], 3),
        },
        "target_s": 1.0,
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--pause-s", type=float, default=0.5, help="Between two changes.")
    parser.add_argument("--database-url", default=None)
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
