"""The agent desktop's static serving at /app: files, SPA fallback, caching, not built."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from omnidesk.web.errors import install_error_handlers
from omnidesk.web.spa import IMMUTABLE, NO_CACHE, spa_router


def client(root: Path) -> httpx.AsyncClient:
    app = FastAPI()
    install_error_handlers(app)  # as in the real app: errors in the one shape, logged
    app.include_router(spa_router(root))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def build(root: Path) -> None:
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>desk</title>")
    (root / "assets" / "index-abc123.js").write_text("console.log(1)")
    (root / "favicon.svg").write_text("<svg/>")


async def test_serves_files_and_falls_back_to_index_for_routes(tmp_path: Path) -> None:
    build(tmp_path)
    async with client(tmp_path) as c:
        asset = await c.get("/app/assets/index-abc123.js")
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == IMMUTABLE
        assert "javascript" in asset.headers["content-type"]
        other = await c.get("/app/favicon.svg")
        assert other.status_code == 200
        assert other.headers["cache-control"] == NO_CACHE
        for path in ("/app/", "/app/conversations/12", "/app/login?next=/", "/app/index.html"):
            page = await c.get(path)
            assert page.status_code == 200, path
            assert page.text.startswith("<!doctype html>")
            assert page.headers["cache-control"] == NO_CACHE
        bare = await c.get("/app")
        assert bare.status_code == 308
        assert bare.headers["location"] == "/app/"


async def test_missing_assets_and_paths_outside_the_build_are_not_served(tmp_path: Path) -> None:
    root = tmp_path / "app"
    build(root)
    (tmp_path / "secret.txt").write_text("no")
    async with client(root) as c:
        missing = await c.get("/app/assets/index-old.js")
        assert missing.status_code == 404
        assert missing.json()["code"] == "not_found"
        for path in (
            "/app/../secret.txt",
            "/app/%2e%2e/secret.txt",
            "/app/assets/..%2f..%2fsecret.txt",
        ):
            response = await c.get(path)
            assert response.text != "no", path


async def test_not_built_is_a_503_in_the_error_shape(tmp_path: Path) -> None:
    async with client(tmp_path / "nothing") as c:
        response = await c.get("/app/conversations/1")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "unavailable"
    assert "make" in body["message"]
    assert body["field"] is None
