"""Agent runtimes behind one interface, and the registry that names them.

A runtime turns (agent, task) into output text. The worker does not care whether the agent
runs here, over HTTP or on an LLM. A runtime is registered by name with the module that holds
it, and that module is imported only when an agent of that runtime is validated or executed,
so functions that never run agents never load what runtimes depend on.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from proactive.errors import InvalidInput


@dataclass(frozen=True)
class RunContext:
    """What an agent knows about the run it is executing."""

    run_id: str
    source_type: str
    source_id: str | None
    attempt: int


class AgentRuntime(Protocol):
    name: str

    def validate_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Return the config to store, or raise InvalidInput naming the problem."""

    def execute(self, agent: Mapping[str, Any], task: str, context: RunContext) -> str:
        """Do the task; return the output. Raise AgentError (or anything) on failure."""


# name -> the runtime, or "module:attribute" where it is found until first used.
_RUNTIMES: dict[str, AgentRuntime | str] = {"builtin": "proactive.agents.runtimes.builtin:BuiltinRuntime"}


def register_runtime(runtime: AgentRuntime) -> None:
    """Make a runtime available to agents by its name."""
    _RUNTIMES[runtime.name] = runtime


def runtime_for(name: str) -> AgentRuntime:
    entry = _RUNTIMES.get(name)
    if entry is None:
        raise InvalidInput(
            f"unknown runtime {name!r}; available: {', '.join(sorted(_RUNTIMES))}", field="runtime"
        )
    if isinstance(entry, str):
        module, _, attribute = entry.partition(":")
        entry = getattr(importlib.import_module(module), attribute)()
        _RUNTIMES[name] = entry
    return entry
