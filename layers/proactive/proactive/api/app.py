"""The management API: one FastAPI app, one routes module per capability.

Its OpenAPI document is the contract: every route's errors have the one error body, the bearer
token is a security scheme (the docs page has an Authorize button), and the docs page is served
from files in the package, so it renders with no network.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi_offline import FastAPIOffline

from proactive import __version__
from proactive.api import (
    errors,
    routes_actions,
    routes_agents,
    routes_approvals,
    routes_autonomy,
    routes_callbacks,
    routes_conversations,
    routes_hooks,
    routes_loop,
    routes_monitors,
    routes_notifications,
    routes_runs,
    routes_schedules,
    routes_series,
    routes_tasks,
    routes_triggers,
    routes_webhooks,
    routes_workspace,
)
from proactive.observability import logger

# Where the docs page's script and styles are served (a route of its own in template.yaml).
DOCS_STATIC = "/docs/static"


def create_app() -> FastAPI:
    app = FastAPIOffline(
        title="Proactive",
        version=__version__,
        description="Make AI agents proactive: agents, runs, schedules, triggers, webhooks and monitors. "
        "Every /api route but the public webhook ingest needs `Authorization: Bearer <JWT>`.",
        static_url=DOCS_STATIC,
        redoc_url=None,
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

    for module in (
        routes_agents,
        routes_runs,
        routes_schedules,
        routes_triggers,
        routes_webhooks,
        routes_monitors,
        routes_workspace,
        routes_notifications,
        routes_autonomy,
        routes_series,
        routes_loop,
        routes_conversations,
        routes_tasks,
        routes_actions,
        routes_approvals,
    ):
        app.include_router(module.router, responses=errors.RESPONSES)
    app.include_router(routes_hooks.router)
    app.include_router(routes_callbacks.router)
    app.include_router(routes_tasks.public)
    app.include_router(routes_approvals.public)
    _only_our_error_body(app)
    return app


def _only_our_error_body(app: FastAPI) -> None:
    """FastAPI documents a 422 of its own shape on routes that could fail its validation; every
    error here has the one error body, and the ingest route answers no 422 at all."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path in schema["paths"].values():
                for operation in path.values():
                    answer = operation.get("responses", {}).get("422", {})
                    if "HTTPValidationError" in str(answer):
                        del operation["responses"]["422"]
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
