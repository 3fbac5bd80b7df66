"""The management API: one FastAPI app, one routes module per capability.

Its OpenAPI document is the contract: every route's errors have the one error body, the bearer
token is a security scheme (the docs page has an Authorize button), and the docs page is served
from files in the package, so it renders with no network.

The API function serves it lazily (`create_lazy_app`): a request is answered by an app of only
the routers of its path's prefix, built on the prefix's first request, so that its cold start
loads neither the other routers nor what they need.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import Receive, Scope, Send

from proactive import __version__
from proactive.api.bodies import readable_body
from proactive.api.correlation import add_correlation_ids
from proactive.api.errors import RESPONSES, install_error_handlers
from proactive.api.inprocess import ROOT_APP
from proactive.api.routers import ROUTERS, Router
from proactive.api.security import SecurityHeaders, docs_page

# Where the docs page's script and styles are served (a route of its own in template.yaml).
DOCS_STATIC = "/docs/static"


class ASGIApp(Protocol):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


def _wire() -> None:
    """What the routes look up (runtimes, run context sources), registered before the first app
    is built: at a request's time in the API function, so its init loads none of it."""
    from proactive.wiring import agents as agent_wiring

    agent_wiring.install()


def create_app() -> FastAPI:
    """The whole API: every router, the OpenAPI document at /openapi.json and the docs page."""
    _wire()
    app = FastAPIOffline(
        title="Proactive",
        version=__version__,
        description="Make AI agents proactive: agents, runs, schedules, triggers, webhooks and monitors. "
        "Every /api route but the public webhook ingest needs `Authorization: Bearer <JWT>`.",
        static_url=DOCS_STATIC,
        # The docs page is served here (`security.docs_page`), with a policy of its own.
        docs_url=None,
        redoc_url=None,
    )
    docs_page(app, "/docs", DOCS_STATIC)
    _install(app, ROUTERS)
    _only_our_error_body(app)
    return app


def create_lazy_app() -> ASGIApp:
    """The API as the API function serves it, answering every request as `create_app()` would.

    A request whose path is under a router's prefix (`routers.ROUTERS`) goes to an app of the
    routers of that prefix alone, built on the prefix's first request, with the same error
    handling and correlation ids; any other request (the OpenAPI document, the docs page, an
    unknown path) to the whole app, built on first use. Every route a path can match is under
    one prefix, so the smaller app matches what the whole one would."""
    return _LazyApi()


class _LazyApi:
    def __init__(self) -> None:
        self._apps: dict[str | None, ASGIApp] = {}
        # The local stack serves this under uvicorn: two first requests build one app.
        self._building = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        path = scope.get("path", "")
        prefix = next((router.prefix for router in ROUTERS if router.serves(path)), None)
        # A route that makes a request of the API in-process (accepting a suggestion) makes it
        # of the whole API, not of its prefix's app.
        scope[ROOT_APP] = self
        await self._app(prefix)(scope, receive, send)

    def _app(self, prefix: str | None) -> ASGIApp:
        if prefix not in self._apps:
            with self._building:
                if prefix not in self._apps:
                    _wire()
                    self._apps[prefix] = create_app() if prefix is None else _prefix_app(prefix)
        return self._apps[prefix]


def _prefix_app(prefix: str) -> FastAPI:
    """The routers of one prefix, in the whole app's order, without the docs."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    _install(app, [router for router in ROUTERS if router.prefix == prefix])
    return app


def _install(app: FastAPI, routers: Sequence[Router]) -> None:
    """Every app's error handling, correlation ids and security headers, and its routers, each
    route's JSON body checked for text that is not valid Unicode (`bodies.readable_body`)."""
    install_error_handlers(app)
    add_correlation_ids(app)
    app.add_middleware(SecurityHeaders)
    for router in routers:
        app.include_router(
            router.load(),
            responses=RESPONSES if router.authenticated else None,
            dependencies=[Depends(readable_body)],
        )


async def _lifespan(receive: Receive, send: Send) -> None:
    """No app here has start-up or shut-down work: each is acknowledged (uvicorn asks)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


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
