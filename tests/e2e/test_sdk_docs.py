"""docs/sdk.md's examples run as written against the local stack: every ```python block, in order,
as the cells of a notebook run (top-level `await`, one namespace), with the stack's address and a
token in the environment, as the reference says."""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path

import pytest

from tests.localstack import Stack

pytestmark = pytest.mark.e2e
DOCS = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
WORKSPACE = "ws-456"  # the examples' workspace, as the README's


def test_every_example_of_the_reference_runs_as_written(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROACTIVE_API_URL", stack.base_url)
    monkeypatch.setenv("PROACTIVE_TOKEN", stack.token(WORKSPACE))
    monkeypatch.delenv("PROACTIVE_STREAM_URL", raising=False)

    async def run_all() -> None:
        namespace: dict[str, object] = {"__name__": "__main__"}
        for number, block in enumerate(BLOCKS, 1):
            code = compile(
                block, f"docs/sdk.md, example {number}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
            )
            done = eval(code, namespace)  # noqa: S307  # the reference's own examples
            if asyncio.iscoroutine(done):
                await done

    asyncio.run(run_all())

    printed = capsys.readouterr().out
    for line in (
        "{'status': 'ok', 'version': '0.1.0'}",
        "404 not_found run 'run-that-does-not-exist' not found",
        "succeeded Builtin agent 'assistant' summary of the manual task",
        "accepted Process: deploy finished",
        "1500 [(1500, 'metrics[1500].value')]",
        "autonomous\n",
        "disabled\n",
    ):
        assert line in printed, printed
    assert "sk-test-not-a-real-key" not in printed


def test_the_reference_has_examples_to_run() -> None:
    assert len(BLOCKS) >= 20
