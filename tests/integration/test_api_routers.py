"""The API's routers table against the routers themselves, and the API as the API function serves
it (each prefix's routers alone, `create_lazy_app`) against the whole app: every operation of the
OpenAPI document is answered by the same endpoint through both."""

from __future__ import annotations

import re
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from proactive.api import create_app, create_lazy_app
from proactive.api.routers import ROUTERS
from tests.mockaws import mocked_aws

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "proactive" / "proactive"
API_PACKAGE = PACKAGE / "api"


@pytest.fixture(scope="module", autouse=True)
def _aws() -> Iterator[None]:
    # The public routes run (no token stops them): webhook ingest, callbacks, approval links.
    with mocked_aws("routers"):
        yield


def _endpoint_of(app: Any) -> tuple[TestClient, MutableMapping[str, Any]]:
    """A client of `app`, and the request scope the app routed last (its `endpoint`)."""
    seen: MutableMapping[str, Any] = {}

    async def asgi(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        seen["scope"] = scope
        await app(scope, receive, send)

    return TestClient(asgi, raise_server_exceptions=False), seen


def test_every_router_of_the_api_package_is_in_the_table() -> None:
    modules = {path.stem for path in API_PACKAGE.glob("routes_*.py")}
    assert {router.module for router in ROUTERS if not router.module.startswith("proactive.")} == modules
    for module in modules:
        loaded = __import__(f"proactive.api.{module}", fromlist=["_"])
        names = {name for name, value in vars(loaded).items() if isinstance(value, APIRouter)}
        assert names == {r.name for r in ROUTERS if r.module == module}, module


def test_every_page_module_of_the_console_is_in_the_table() -> None:
    modules = {f"proactive.console.{path.stem}" for path in (PACKAGE / "console").glob("routes_*.py")}
    assert {router.module for router in ROUTERS if router.module.startswith("proactive.console.")} == modules
    # The console's routes are pages, not operations of the API's OpenAPI document.
    for router in ROUTERS:
        if router.module.startswith("proactive.console."):
            assert all(not route.include_in_schema for route in router.load().routes), router.module


def test_each_router_serves_only_under_its_prefix() -> None:
    for router in ROUTERS:
        for route in router.load().routes:
            assert isinstance(route, APIRoute)
            assert router.serves(route.path), f"{route.path} ({router.module}) is not under {router.prefix}"
            others = {r.prefix for r in ROUTERS if r.prefix != router.prefix and r.serves(route.path)}
            assert not others, f"{route.path} is under {others} too"


def test_the_lazy_app_answers_each_operation_with_the_whole_apps_endpoint() -> None:
    whole, whole_seen = _endpoint_of(create_app())
    lazy, lazy_seen = _endpoint_of(create_lazy_app())
    operations = [
        (method.upper(), path)
        for path, item in whole.get("/openapi.json").json()["paths"].items()
        for method in item
    ]
    routes = [
        route
        for router in ROUTERS
        for route in router.load().routes
        if isinstance(route, APIRoute) and route.include_in_schema
    ]
    assert len(operations) == sum(len(route.methods) for route in routes)
    for method, path in operations:
        concrete = re.sub(r"\{[^}]+\}", "p1", path)
        answers = [client.request(method, concrete, json={}) for client in (whole, lazy)]
        endpoints = [seen["scope"].get("endpoint") for seen in (whole_seen, lazy_seen)]
        assert endpoints[0] is not None, f"{method} {path}"
        assert endpoints[1] is endpoints[0], f"{method} {path}"
        assert answers[1].status_code == answers[0].status_code, f"{method} {path}"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/api/nothing"),
        ("POST", "/api"),
    ],
)
def test_the_lazy_app_answers_what_is_under_no_prefix_as_the_whole_app(method: str, path: str) -> None:
    whole = TestClient(create_app(), raise_server_exceptions=False).request(method, path)
    lazy = TestClient(create_lazy_app(), raise_server_exceptions=False).request(method, path)
    assert (lazy.status_code, lazy.content) == (whole.status_code, whole.content)


@pytest.mark.parametrize("path", ["/", "/console/", "/console/login", "/console/ws-1/runs"])
def test_the_lazy_app_serves_the_console_as_the_whole_app(path: str) -> None:
    # A page differs from one answer to the next only by its sign-in form's one-time token.
    answers = [
        TestClient(app, raise_server_exceptions=False).get(path) for app in (create_app(), create_lazy_app())
    ]
    pages = [re.sub(rb'name="csrf" value="[^"]+"', b"", answer.content) for answer in answers]
    assert [(a.status_code, str(a.url)) for a in answers[1:]] == [
        (answers[0].status_code, str(answers[0].url))
    ]
    assert pages[1] == pages[0]


def test_the_lazy_app_acknowledges_uvicorns_lifespan() -> None:
    with TestClient(create_lazy_app()) as client:  # runs start-up and shut-down
        assert client.get("/health").json()["status"] == "ok"
