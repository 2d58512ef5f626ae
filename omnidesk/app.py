"""The ASGI application: every context's endpoints, health checks, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from omnidesk import __version__, bootstrap
from omnidesk.accounts import endpoints as accounts
from omnidesk.analytics import endpoints as reports
from omnidesk.automation import endpoints as automation
from omnidesk.automation import rule_endpoints as automation_rules
from omnidesk.categorisation import endpoints as categorisation
from omnidesk.channels import webhooks as provider_webhooks
from omnidesk.channels.api import endpoints as api_channel
from omnidesk.channels.telegram import endpoints as telegram_channel
from omnidesk.channels.webchat import stream as webchat_channel
from omnidesk.channels.whatsapp import endpoints as whatsapp_channel
from omnidesk.contacts import endpoints as contacts
from omnidesk.conversations import endpoints as conversations
from omnidesk.forms import endpoints as forms
from omnidesk.inboxes import endpoints as inboxes
from omnidesk.jobs import endpoints as jobs
from omnidesk.kit.clock import Clock
from omnidesk.kit.logging import configure_logging
from omnidesk.kit.process import tune_for_latency
from omnidesk.realtime import endpoints as realtime
from omnidesk.realtime import viewing
from omnidesk.routing import endpoints as routing
from omnidesk.settings import Settings
from omnidesk.sla import endpoints as sla
from omnidesk.web.errors import ERROR_RESPONSES, install_error_handlers
from omnidesk.web.lane import FastLane
from omnidesk.web.middleware import RequestContextMiddleware
from omnidesk.web.spa import spa_router

DESCRIPTION = """
The omnidesk REST API. Authenticate with a bearer API token (`Authorization: Bearer odk_…`)
or with the browser session cookie plus the `X-CSRF-Token` header on unsafe requests.

Every error is `{"code", "message", "field"}` with a 4xx status.
"""


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, run_jobs: bool | None = None
) -> FastAPI:
    settings = settings or Settings()
    configure_logging(json=settings.json_logs, level=settings.log_level)
    container = bootstrap.build_container(settings, clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await bootstrap.start(container, run_jobs=run_jobs)
        tune_for_latency()
        try:
            yield
        finally:
            await bootstrap.stop(container)

    app = FastAPI(
        title="omnidesk",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.container = container
    # The last added is the outermost: request ids, logs and metrics wrap the fast lane too.
    app.add_middleware(FastLane, routes=api_channel.LANE)
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)

    # Routes are matched in order, one after another: the busiest one (customers' messages
    # posted by integrations, hundreds a second) comes first.
    app.include_router(api_channel.router)
    app.include_router(provider_webhooks.router)  # SMS, WhatsApp, Messenger, Telegram…
    app.include_router(accounts.auth)
    app.include_router(accounts.router)
    # --- context routers ---------------------------------------------------------------
    app.include_router(realtime.router)
    app.include_router(inboxes.router)
    app.include_router(jobs.router)
    app.include_router(contacts.router)
    app.include_router(conversations.router)
    app.include_router(routing.router)
    app.include_router(automation.router)
    app.include_router(automation_rules.router)
    app.include_router(sla.router)
    app.include_router(forms.router)  # ticket forms
    app.include_router(categorisation.router)  # auto-categorisation rules
    app.include_router(reports.router)
    app.include_router(viewing.router)  # collision presence
    app.include_router(webchat_channel.router)  # visitors' calls, their socket, /widget.js
    app.include_router(webchat_channel.agents)
    app.include_router(telegram_channel.router)  # its webhook registration
    app.include_router(whatsapp_channel.router)  # message templates
    app.include_router(spa_router())  # the agent desktop at /app

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/app/")  # the agent desktop

    @app.get("/healthz", tags=["health"], summary="Liveness: the process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness: the database answers",
        responses={503: {"description": "The database does not answer"}},
    )
    async def readyz(request: Request) -> Any:
        try:
            async with container.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            return JSONResponse(
                {"status": "unavailable", "database": "down", "error": type(exc).__name__},
                status_code=503,
            )
        return {"status": "ok", "database": "up"}

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
