"""The local stack as a subprocess on a free loopback port, driven over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tests.localstack import Stack, running_stack


class _Kept:
    """The stack the test files share: started when a test needs it, and stopped as soon as the
    next test this process runs does not (an idle stack keeps polling its queue, which costs the
    other tests' processes their share of the machine); started again if a later file needs it."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._exit = ExitStack()
        self.stack: Stack | None = None

    def get(self) -> Stack:
        if self.stack is None:
            log = self._factory.mktemp("stack") / "stack.log"
            self.stack = self._exit.enter_context(running_stack(log))
        return self.stack

    def stop(self) -> None:
        self.stack = None
        self._exit.close()


_kept: _Kept | None = None


@pytest.fixture(scope="session")
def _stack_keeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Kept]:
    global _kept
    _kept = _Kept(tmp_path_factory)
    try:
        yield _kept
    finally:
        _kept.stop()
        _kept = None


@pytest.fixture(scope="module")
def stack(_stack_keeper: _Kept) -> Stack:
    return _stack_keeper.get()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    yield
    # Once this file's fixtures are gone: stop the stack unless the next test uses it.
    needed = nextitem is not None and (
        nextitem.path == item.path or "stack" in getattr(nextitem, "fixturenames", ())
    )
    if _kept is not None and not needed:
        _kept.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for a test file (contexts keep its tests apart). Not kept for the session:
    Playwright's synchronous API holds an event loop running in this thread while it is open,
    which a later test of the same process calling asyncio.run() would trip over."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import launch

    with sync_playwright() as playwright:
        launched = launch(playwright)
        try:
            yield launched
        finally:
            launched.close()


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
