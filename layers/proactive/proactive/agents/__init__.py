"""Agents: what can be asked to do a task. Their runtimes live in `agents.runtimes`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from proactive.agents.runtimes import RunContext, register_runtime, runtime_for
from proactive.clock import iso
from proactive.ids import new_id
from proactive.models.agents import AgentCreate, AgentUpdate
from proactive.store import Store
from proactive.store.entities import modify

__all__ = [
    "RunContext",
    "create_agent",
    "get_agent",
    "register_runtime",
    "require_agent_in",
    "runtime_for",
    "update_agent",
]


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
    store.agents.put(agent)
    return agent


def get_agent(store: Store, agent_id: str, workspaces: frozenset[str]) -> dict[str, Any]:
    return store.agents.owned(agent_id, workspaces)


def require_agent_in(
    store: Store, agent_id: str, workspace_id: str, *, field: str = "agent_id"
) -> dict[str, Any]:
    """The agent a schedule, trigger, monitor or run names; 422 naming `field` otherwise."""
    return store.agents.referenced(agent_id, workspace_id, field=field)


def update_agent(
    store: Store, agent_id: str, data: AgentUpdate, workspaces: frozenset[str], now: datetime
) -> dict[str, Any]:
    requested = data.model_dump(exclude_unset=True)

    def write(agent: dict[str, Any]) -> dict[str, Any]:
        # Runtime and config are checked together, against the agent as it is now.
        changes = dict(requested)
        runtime = runtime_for(changes.get("runtime") or agent["runtime"])
        if "runtime" in changes or "config" in changes:
            changes["config"] = runtime.validate_config(changes.get("config", agent.get("config", {})))
        changes["updated_at"] = iso(now)
        return store.agents.update(agent_id, changes, expect_version=int(agent.get("version") or 0))

    return modify(lambda: get_agent(store, agent_id, workspaces), write, what=f"agent {agent_id!r}")
