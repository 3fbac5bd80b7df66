"""The local stack as a subprocess on a free loopback port, driven over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any, cast

import pytest

from tests.localstack import Stack, running_stack


class _Kept:
    """Something the test files share (the local stack, a browser): made when a test needs it,
    and ended as soon as the next test this process runs does not (an idle stack keeps polling
    its queue and a browser its renderer, at the cost of the other tests' processes); made again
    if a later file needs it. Files that use one run one after the other (`tests/conftest.py`
    orders them so), so a process makes each about once."""

    def __init__(self, fixture: str, make: Callable[[ExitStack], Any]) -> None:
        self.fixture = fixture
        self._make = make
        self._exit = ExitStack()
        self.kept: Any = None

    def get(self) -> Any:
        if self.kept is None:
            self.kept = self._make(self._exit)
        return self.kept

    def stop(self) -> None:
        self.kept = None
        self._exit.close()

    def needed_by(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool:
        return nextitem is not None and (
            nextitem.path == item.path or self.fixture in getattr(nextitem, "fixturenames", ())
        )


_kept: list[_Kept] = []


def _browser(exit: ExitStack) -> Any:
    """Chromium under Playwright's synchronous API. That API holds an event loop running in this
    thread while it is open, which a later test of the same process calling asyncio.run() would
    trip over: it is ended before any test that does not use it."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import launch

    playwright = exit.enter_context(sync_playwright())
    launched = launch(playwright)
    exit.callback(launched.close)
    return launched


@pytest.fixture(scope="session")
def _keepers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, _Kept]]:
    def stack(exit: ExitStack) -> Stack:
        return exit.enter_context(running_stack(tmp_path_factory.mktemp("stack") / "stack.log"))

    keepers = {"stack": _Kept("stack", stack), "browser": _Kept("browser", _browser)}
    _kept.extend(keepers.values())
    try:
        yield keepers
    finally:
        # The browser first: it may hold pages open on the stack.
        for keeper in reversed(_kept):
            keeper.stop()
        _kept.clear()


@pytest.fixture(scope="module")
def stack(_keepers: dict[str, _Kept]) -> Stack:
    return cast(Stack, _keepers["stack"].get())


@pytest.fixture(scope="module")
def browser(_keepers: dict[str, _Kept]) -> Any:
    """One Chromium for the test files that follow each other in this process (contexts keep
    their tests apart)."""
    return _keepers["browser"].get()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    yield
    # Once this test's fixtures are gone: end what the next test does not use.
    for keeper in reversed(_kept):
        if keeper.kept is not None and not keeper.needed_by(item, nextitem):
            keeper.stop()


@pytest.fixture
def console(browser: Any, stack: Stack) -> Iterator[Any]:
    """A browser tab signed in (by a one-time link) to the console of a workspace of the test's
    own. The test fails if any page loaded anything from outside the stack."""
    import uuid

    from tests.e2e.browser import sign_in

    workspace = f"ws-{uuid.uuid4().hex[:10]}"
    signed_in = sign_in(browser, stack.base_url, stack.token(workspace), workspace)
    try:
        yield signed_in
    finally:
        signed_in.context.close()
        signed_in.api.close()
    assert signed_in.outside == [], f"pages loaded from outside the stack: {signed_in.outside}"
