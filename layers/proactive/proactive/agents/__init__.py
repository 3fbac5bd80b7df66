"""Agents: what can be asked to do a task. Their runtimes live in `agents.runtimes`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from proactive.agents.runtimes import RunContext, register_runtime, runtime_for
from proactive.clock import iso
from proactive.errors import InvalidInput
from proactive.ids import new_id
from proactive.lib.signatures import new_secret, rotated
from proactive.models.agents import AgentCreate, AgentUpdate
from proactive.notifications import targets
from proactive.store import Store
from proactive.store.entities import field_of, modify

__all__ = [
    "RunContext",
    "create_agent",
    "get_agent",
    "regenerate_secret",
    "register_runtime",
    "require_agent_in",
    "runtime_for",
    "update_agent",
]


def _signs(runtime_name: str) -> bool:
    """Whether agents of this runtime have a secret (to sign requests to them, and to check what
    they send back)."""
    return runtime_name in SIGNED_RUNTIMES


SIGNED_RUNTIMES = frozenset({"http"})


def create_agent(store: Store, data: AgentCreate, now: datetime) -> dict[str, Any]:
    """Create an agent; for a runtime that signs, the returned agent has its secret, shown once."""
    runtime = runtime_for(data.runtime)
    agent = {
        "id": new_id("agent"),
        "workspace_id": data.workspace_id,
        "name": data.name,
        "runtime": runtime.name,
        "description": data.description,
        "config": runtime.validate_config(data.config),
        "notify": targets.check(store, data.notify, data.workspace_id),
        "created_at": iso(now),
        "updated_at": iso(now),
    }
    if _signs(runtime.name):
        agent["secret"] = new_secret("standard")
    store.agents.put(agent)
    return agent


def regenerate_secret(
    store: Store, agent_id: str, grace_seconds: int, workspaces: frozenset[str], now: datetime
) -> dict[str, Any]:
    """A new secret, shown only in the answer; the old one is still accepted (for the agent's
    callbacks) for `grace_seconds`, so the agent can switch without losing a callback."""

    def write(agent: dict[str, Any]) -> dict[str, Any]:
        if not _signs(agent["runtime"]):
            raise InvalidInput(f"a {agent['runtime']!r} agent has no secret", field="runtime")
        changes = {
            **rotated(agent.get("secret"), new_secret("standard"), grace_seconds, now),
            "updated_at": iso(now),
        }
        return store.agents.update(agent_id, changes, expect_version=int(agent.get("version") or 0))

    return modify(lambda: get_agent(store, agent_id, workspaces), write, what=f"agent {agent_id!r}")


def get_agent(store: Store, agent_id: str, workspaces: frozenset[str]) -> dict[str, Any]:
    return store.agents.owned(agent_id, workspaces)


def require_agent_in(
    store: Store, agent_id: str, workspace_id: str, *, field: str = "agent_id"
) -> dict[str, Any]:
    """The agent a schedule, trigger, monitor or run names; 422 naming `field` otherwise."""
    return store.agents.referenced(agent_id, workspace_id, field=field)


def require_agent_to_resume(store: Store, item: Any, what: str) -> None:
    """Before `what` (a schedule, trigger or monitor, `item`: a record or a stored item) is
    resumed or enabled: 422 naming `agent_id` while the agent it starts is gone (deleted with
    `?force=true`, which paused it), so it is not turned on only to fail at its next fire. Giving
    it another agent in the same change resumes it."""
    agent_id, workspace_id = field_of(item, "agent_id"), field_of(item, "workspace_id")
    agent = store.agents.get(agent_id)
    if agent is None or agent.get("workspace_id") != workspace_id:
        raise InvalidInput(
            f"{what} {field_of(item, 'id')} cannot be resumed: its agent {agent_id} no longer exists (it "
            "was deleted); give it another agent (agent_id) to resume it",
            field="agent_id",
        )


def update_agent(
    store: Store, agent_id: str, data: AgentUpdate, workspaces: frozenset[str], now: datetime
) -> dict[str, Any]:
    requested = data.model_dump(exclude_unset=True)

    def write(agent: dict[str, Any]) -> dict[str, Any]:
        # Runtime and config are checked together, against the agent as it is now.
        changes = dict(requested)
        if "notify" in changes:
            changes["notify"] = targets.check(store, changes["notify"], agent["workspace_id"])
        runtime = runtime_for(changes.get("runtime") or agent["runtime"])
        if "runtime" in changes or "config" in changes:
            changes["config"] = runtime.validate_config(changes.get("config", agent.get("config", {})))
        if _signs(runtime.name) and not agent.get("secret"):
            changes["secret"] = new_secret("standard")
        changes["updated_at"] = iso(now)
        return store.agents.update(agent_id, changes, expect_version=int(agent.get("version") or 0))

    return modify(lambda: get_agent(store, agent_id, workspaces), write, what=f"agent {agent_id!r}")
