"""Agents and the runtimes that execute them.

A runtime turns (agent, task) into output text. Every runtime sits behind the same small
interface, so the worker does not care whether the agent runs locally, over HTTP or on an LLM.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from proactive.clock import iso
from proactive.errors import InvalidInput
from proactive.ids import new_id
from proactive.models import AgentCreate, AgentUpdate
from proactive.store import Store


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


class BuiltinRuntime:
    """A deterministic local agent: it answers with a summary of the task it was given.

    It needs no network or credentials, so a new deployment can prove the whole path
    (schedule -> queue -> worker -> run) before any real agent is connected.
    """

    name = "builtin"
    _max_summary = 280

    def validate_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        if config:
            raise InvalidInput(
                f"the builtin runtime takes no config; got keys {sorted(config)}", field="config"
            )
        return {}

    def execute(self, agent: Mapping[str, Any], task: str, context: RunContext) -> str:
        text = " ".join(task.split())
        words = len(text.split(" ")) if text else 0
        first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
        if len(first) > self._max_summary:
            first = first[: self._max_summary - 1].rstrip() + "…"
        return (
            f"Builtin agent '{agent['name']}' summary of the {context.source_type} task "
            f"({words} words): {first}"
        )


_RUNTIMES: dict[str, AgentRuntime] = {}


def register_runtime(runtime: AgentRuntime) -> None:
    """Make a runtime available to agents by its name."""
    _RUNTIMES[runtime.name] = runtime


def runtime_for(name: str) -> AgentRuntime:
    try:
        return _RUNTIMES[name]
    except KeyError:
        raise InvalidInput(
            f"unknown runtime {name!r}; available: {', '.join(sorted(_RUNTIMES))}", field="runtime"
        ) from None


register_runtime(BuiltinRuntime())


def create_agent(store: Store, data: AgentCreate, now: datetime) -> dict[str, Any]:
    runtime = runtime_for(data.runtime)
    agent = {
        "id": new_id("agent"),
        "workspace_id": data.workspace_id,
        "name": data.name,
        "runtime": runtime.name,
        "description": data.description,
        "config": runtime.validate_config(data.config),
        "created_at": iso(now),
        "updated_at": iso(now),
    }
    store.put_agent(agent)
    return agent


def get_agent(store: Store, agent_id: str, workspaces: frozenset[str]) -> dict[str, Any]:
    return store.owned("agent", agent_id, workspaces)


def require_agent_in(
    store: Store, agent_id: str, workspace_id: str, *, field: str = "agent_id"
) -> dict[str, Any]:
    """The agent a schedule, trigger, monitor or run names; 422 naming `field` otherwise."""
    return store.referenced("agent", agent_id, workspace_id, field=field)


def update_agent(
    store: Store, agent_id: str, data: AgentUpdate, workspaces: frozenset[str], now: datetime
) -> dict[str, Any]:
    agent = get_agent(store, agent_id, workspaces)
    changes = data.model_dump(exclude_unset=True)
    runtime = runtime_for(changes.get("runtime") or agent["runtime"])
    if "runtime" in changes or "config" in changes:
        changes["config"] = runtime.validate_config(changes.get("config", agent.get("config", {})))
    changes["updated_at"] = iso(now)
    return store.update_agent(agent_id, changes)


def delete_agent(store: Store, agent_id: str, workspaces: frozenset[str]) -> None:
    get_agent(store, agent_id, workspaces)
    store.delete_agent(agent_id)
