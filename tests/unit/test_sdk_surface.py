"""The SDK's surface without a stack: what type checkers see of `from proactive import ...`, that
`import proactive` still loads no SDK, that every method works on both clients and is in the
reference, and how Server-Sent Events are read."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import proactive
from proactive import sdk
from proactive.sdk import calls
from proactive.sdk.sse import Decoder, ServerSentEvent, events

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "docs" / "sdk.md").read_text()
MYPY = Path(sys.executable).parent / "mypy"

SNIPPET = """
from proactive import Proactive, ProactiveSync, Scheduler

async def main() -> None:
    reveal_type(Scheduler().get)
    reveal_type(await Proactive().runs.wait("run-1"))
    reveal_type(ProactiveSync().schedules.get)
    reveal_type(ProactiveSync().agents.list)
    reveal_type(ProactiveSync().metrics.iterate_points)
    reveal_type(ProactiveSync().conversations.stream)
    wrong: int = ProactiveSync().runs.wait("run-1")
"""


def test_type_checkers_see_the_sdks_types_through_the_package() -> None:
    done = subprocess.run(
        [str(MYPY), "--no-error-summary", "-c", SNIPPET], capture_output=True, text=True, cwd=ROOT
    )
    # Written without `builtins.`, which some versions of mypy print and others do not.
    revealed = re.findall(r'Revealed type is "(.*)"', done.stdout.replace("builtins.", ""))
    assert revealed == [
        "def (resource_id: str) -> typing.Coroutine[Any, Any, proactive.models.schedules.Schedule]",
        "proactive.models.runs.Run",
        "def (resource_id: str) -> proactive.models.schedules.Schedule",
        "def (*, workspace_id: str | None =, limit: int =, cursor: str | None =)"
        " -> proactive.models.common.Page[proactive.models.agents.Agent]",
        "def (metric_name: str, *, since: datetime.datetime | None =, until: datetime.datetime | None =,"
        " workspace_id: str | None =, limit: int =, cursor: str | None =)"
        " -> typing.Iterator[proactive.models.series.Point]",
        "def (conversation_id: str, message: str) -> typing.Iterator["
        "proactive.sdk.resources.conversations.Delta | proactive.sdk.resources.conversations.ToolCall"
        " | proactive.models.conversations.Message | proactive.models.conversations.TurnAccepted]",
    ], done.stdout + done.stderr
    # Not Any: a wrong use is an error.
    assert 'expression has type "Run", variable has type "int"' in done.stdout


def test_import_proactive_loads_no_sdk_until_a_name_is_asked_for() -> None:
    code = (
        "import sys, proactive\n"
        "assert 'proactive.sdk' not in sys.modules\n"
        "from proactive import aws\n"
        "assert 'proactive.sdk' not in sys.modules\n"
        "from proactive import ProactiveSync\n"
        "assert 'proactive.sdk' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_names_type_checkers_see_are_the_sdks_public_names() -> None:
    source = (ROOT / "layers" / "proactive" / "proactive" / "__init__.py").read_text()
    declared = re.findall(r"from proactive\.sdk import (\w+) as \1", source)
    assert sorted(declared) == sorted(sdk.__all__)
    assert all(getattr(proactive, name) is getattr(sdk, name) for name in sdk.__all__)


RESOURCES = {
    name: type(getattr(sdk.Proactive(token="t"), name))
    for name, value in vars(sdk._Resources).items()
    if isinstance(value, property) and not name.startswith("_")
}
DESCRIPTORS = (calls.call, calls.paged, calls.streamed)


def _methods(resource: type) -> dict[str, object]:
    found = {}
    for klass in reversed(resource.__mro__):
        for name, value in vars(klass).items():
            if not name.startswith("_"):
                found[name] = value
    return {
        name: value
        for name, value in found.items()
        if inspect.isfunction(value) or isinstance(value, DESCRIPTORS)
    }


@pytest.mark.parametrize("attribute", sorted(RESOURCES))
def test_every_method_serves_both_clients(attribute: str) -> None:
    """A plain `async def` would be a coroutine on the sync client too: each is decorated."""
    methods = _methods(RESOURCES[attribute])
    assert methods
    plain = [name for name, value in methods.items() if not isinstance(value, DESCRIPTORS)]
    assert plain == []


def _section(resource: type) -> str:
    """The reference's section on the resource: from its heading to the next."""
    titles = {"Scheduler": "Schedules", "TriggerManager": "Triggers", "WebhookManager": "Webhooks"}
    titles |= {"ProactiveMonitor": "Monitors", "Autonomous": "Autonomous mode", "GoalLoop": "The goal loop"}
    title = titles.get(resource.__name__, resource.__name__)
    found = re.search(rf"^### {title}\n(.*?)(?=^##)", DOCS + "\n##", flags=re.S | re.M)
    assert found is not None, f"docs/sdk.md has no section '### {title}'"
    return found.group(1)


@pytest.mark.parametrize("attribute", sorted(RESOURCES))
def test_the_reference_names_every_method_and_has_an_example(attribute: str) -> None:
    section = _section(RESOURCES[attribute])
    unnamed = [name for name in _methods(RESOURCES[attribute]) if not re.search(rf"\b{name}\b", section)]
    assert unnamed == []
    examples = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert any(f"proactive.{attribute}." in example for example in examples)


def test_a_coroutine_method_keeps_its_name_and_signature_on_the_sync_client() -> None:
    client = sdk.ProactiveSync(token="t")
    wait = client.runs.wait
    assert wait.__name__ == "wait"
    assert wait.__doc__ == sdk.Runs.wait.__doc__
    assert list(inspect.signature(wait).parameters) == ["run_id", "timeout", "interval"]


def test_a_sync_call_from_inside_the_sdks_own_loop_is_refused_not_deadlocked() -> None:
    runner = calls.Runner.shared()

    async def nested() -> None:
        runner.run(asyncio.sleep(0))

    with pytest.raises(RuntimeError, match="inside the SDK's own event loop"):
        runner.run(nested())


def test_a_sync_iterator_pulls_items_one_by_one_and_closes_early() -> None:
    runner = calls.Runner.shared()
    pulled: list[int] = []
    closed: list[bool] = []

    async def numbers() -> AsyncIterator[int]:
        try:
            for n in range(10):
                pulled.append(n)
                yield n
        finally:
            closed.append(True)

    items = runner.iterate(numbers())
    assert [next(items), next(items)] == [0, 1]
    items.close()
    assert (pulled, closed) == ([0, 1], [True])


def _decoded(lines: list[str]) -> list[ServerSentEvent]:
    decoder = Decoder()
    return [event for line in lines if (event := decoder.feed(line)) is not None]


def test_events_are_read_as_the_standard_says() -> None:
    lines = [
        ": a comment, ignored",
        "event: delta",
        'data: {"text": "Hel"}',
        "",
        "event: delta",
        "data:no space",
        "data",
        "data:  two spaces",
        "id: 7",
        "retry: 3000",
        "",
        "",  # a blank line with nothing before it dispatches nothing
        "event: ping",
        "",  # an event with no data is not dispatched
        'data: {"id": "msg-1"}',
        "",
    ]
    assert _decoded(lines) == [
        ServerSentEvent("delta", '{"text": "Hel"}'),
        ServerSentEvent("delta", "no space\n\n two spaces", id="7", retry=3000),
        ServerSentEvent("message", '{"id": "msg-1"}', id="7", retry=3000),
    ]
    assert _decoded(lines)[0].json() == {"text": "Hel"}


def test_an_event_the_stream_ends_in_the_middle_of_is_dropped() -> None:
    async def lines() -> AsyncIterator[str]:
        for line in ["event: delta", 'data: {"text": "a"}', "", "event: message", "data: {}"]:
            yield line + "\r\n"

    async def read() -> list[ServerSentEvent]:
        return [event async for event in events(lines())]

    assert [json.loads(e.data) for e in asyncio.run(read())] == [{"text": "a"}]
