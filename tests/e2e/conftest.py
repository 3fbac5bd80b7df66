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
