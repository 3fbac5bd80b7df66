"""The local stack as a subprocess on a free loopback port, driven over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.localstack import Stack, running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack") / "stack.log") as s:
        yield s
