"""The agent desktop (``frontend/``, a Vue single-page app) served at ``/app``.

``make run`` and ``make test`` build it into ``omnidesk/web/static/app/``. Files under
``/app/assets/`` carry a content hash in their names and are cached for a year; every other
path under ``/app`` that is not a file is a route of the app and gets ``index.html``, never
cached, so a new build is picked up on the next load. Without a build, ``/app`` answers 503
in the one error shape and says how to build it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from omnidesk.kit.errors import NotFound, ServiceUnavailable

STATIC = Path(__file__).parent / "static" / "app"
PREFIX = "/app"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"


def spa_router(root: Path = STATIC) -> APIRouter:
    """``/app`` and everything under it, from the build in ``root``."""
    router = APIRouter(include_in_schema=False)

    @router.get(PREFIX)
    async def app_root() -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=308)

    @router.get(PREFIX + "/{path:path}")
    async def app_file(path: str) -> Response:
        return serve(root, path)

    return router


def serve(root: Path, path: str) -> Response:
    """The file at ``path`` in the build, else the app's ``index.html`` (its router decides);
    the app's error handlers answer (and log) a missing build or asset."""
    index = root / "index.html"
    if not index.is_file():
        raise ServiceUnavailable(
            "the agent desktop is not built: run `make run`, or `make frontend`"
        )
    file = _within(root, path)
    if file is not None and file.name != "index.html":
        cache = IMMUTABLE if path.startswith("assets/") else NO_CACHE
        return FileResponse(file, headers={"Cache-Control": cache})
    if path.startswith("assets/"):
        # A hashed file of another build: a 404, not the app (the browser expects a script).
        raise NotFound("asset")
    return FileResponse(index, headers={"Cache-Control": NO_CACHE})


def _within(root: Path, path: str) -> Path | None:
    """The regular file ``path`` names inside ``root``; None for anything else."""
    if not path or "\x00" in path:
        return None
    try:
        base = root.resolve()
        candidate = (base / path).resolve()
    except (OSError, ValueError):
        return None
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate
