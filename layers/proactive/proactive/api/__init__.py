"""The management API (FastAPI). In AWS it runs behind Mangum; locally, under uvicorn.

The factories: `create_app`, the whole API; `create_lazy_app`, the same API as the API function
serves it, each prefix's routers loaded on its first request; `create_stream_app`, the stream
function's app, which serves streamed conversation answers only. Each loads its modules when
called, so that importing this package loads none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from proactive.api.app import ASGIApp


def create_app() -> FastAPI:
    """The management API: every route, its OpenAPI document and docs page."""
    from proactive.api.app import create_app as build

    return build()


def create_lazy_app() -> ASGIApp:
    """The management API as the API function serves it: see `proactive.api.app.create_lazy_app`."""
    from proactive.api.app import create_lazy_app as build

    return build()


def create_stream_app() -> FastAPI:
    """The stream function's app: `POST /conversations/{id}/messages` with `stream: true` only."""
    from proactive.api.stream import create_stream_app as build
    from proactive.wiring import agents as agent_wiring

    agent_wiring.install()
    return build()


__all__ = ["create_app", "create_lazy_app", "create_stream_app"]
