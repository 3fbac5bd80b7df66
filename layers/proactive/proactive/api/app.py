from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from proactive import __version__
from proactive.api import (
    errors,
    routes_agents,
    routes_monitors,
    routes_runs,
    routes_schedules,
    routes_triggers,
    routes_webhooks,
)
from proactive.observability import logger


def create_app() -> FastAPI:
    app = FastAPI(
        title="Proactive",
        version=__version__,
        description="Make AI agents proactive: agents, runs, schedules, triggers, webhooks and monitors. "
        "Every /api route needs `Authorization: Bearer <JWT>`.",
    )
    errors.install(app)

    @app.middleware("http")
    async def correlation_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        event = request.scope.get("aws.event") or {}
        cid = request.headers.get("x-correlation-id") or (event.get("requestContext") or {}).get("requestId")
        cid = cid or str(uuid.uuid4())
        logger.set_correlation_id(cid)
        response = await call_next(request)
        response.headers["x-correlation-id"] = cid
        return response

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    routers = (
        routes_agents,
        routes_runs,
        routes_schedules,
        routes_triggers,
        routes_webhooks,
        routes_monitors,
    )
    for module in routers:
        app.include_router(module.router)
    return app
