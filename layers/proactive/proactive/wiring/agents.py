"""What the functions that run or configure agents register: the agent runtimes (builtin, http
and llm, each loaded when an agent first uses it), and the run context sources (what an agent
must know about the source of its run beyond the task: a conversation's history).

Installed (`install`) by the functions that run or configure agents (the API, the worker, the goal
loop), beside the wiring's event bus (`proactive.wiring.bus`). Kept apart from the rest of the
wiring so that the functions that never run an agent (ingest, the dispatcher, dead letters) cannot
reach the model providers' SDKs, not even through an import they would never make.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from proactive.agents.runtimes import (
    AgentRuntime,
    RunContext,
    register_context_source,
    register_runtime_loader,
)
from proactive.store import Store

if TYPE_CHECKING:
    from proactive.models.runs import RunRecord


def _builtin() -> AgentRuntime:
    from proactive.agents.runtimes.builtin import BuiltinRuntime

    return BuiltinRuntime()


def _http() -> AgentRuntime:
    from proactive.agents.runtimes.http import HttpRuntime

    return HttpRuntime()


def _llm() -> AgentRuntime:
    from proactive.agents.runtimes.llm import LlmRuntime

    return LlmRuntime()


RUNTIMES: dict[str, Callable[[], AgentRuntime]] = {"builtin": _builtin, "http": _http, "llm": _llm}


# Run context sources.


def _conversation_context(store: Store, run: RunRecord, context: RunContext) -> None:
    from proactive.conversations import turns

    turns.prepare(store, run, context)


CONTEXT_SOURCES: dict[str, Callable[[Store, RunRecord, RunContext], None]] = {
    "conversation": _conversation_context,
}


def install() -> None:
    """Make each runtime available by its name, and each context source to runs from its source.
    Calling it again changes nothing."""
    for name, load in RUNTIMES.items():
        register_runtime_loader(name, load)
    for source_type, prepare in CONTEXT_SOURCES.items():
        register_context_source(source_type, prepare)
