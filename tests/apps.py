"""One app of the whole API for every test of a process that asks the API in-process.

FastAPI builds each route's parameter and model checks (pydantic adapters, for its 185
routes) on an app's first requests: a third of a second for each app, paid again by each
test that made its own. An app keeps nothing of a test: the store, queues, settings and secrets
its routes use are looked up at each request (`proactive.api.deps`), and each test's are its own.
Tests of how the apps are built (`test_api_routers.py`) build their own.
"""

from __future__ import annotations

import functools

from fastapi import FastAPI


@functools.cache
def api_app() -> FastAPI:
    from proactive.api import create_app

    return create_app()
