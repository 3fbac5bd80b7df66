from __future__ import annotations

from fastapi import APIRouter, Response, status

from proactive import agents, references, suggestions
from proactive.api import listing
from proactive.api.deps import (
    BusDep,
    CurrentPrincipal,
    Cursor,
    Force,
    Limit,
    QueueDep,
    StoreDep,
    WorkspaceScope,
)
from proactive.clock import utcnow
from proactive.models.agents import Agent, AgentCreate, AgentUpdate, AgentUsers, AgentWithSecret
from proactive.models.common import Page
from proactive.models.webhooks import RegenerateSecret
from proactive.settings import get_settings
from proactive.store.entities import field_of

router = APIRouter(prefix="/api/agents", tags=["agents"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AgentWithSecret)
def create_agent(body: AgentCreate, principal: CurrentPrincipal, store: StoreDep) -> dict[str, object]:
    """Create an agent. An `http` agent's `secret` is shown in this answer only."""
    principal.require(body.workspace_id)
    now = utcnow()
    created = agents.create_agent(store, body, now)
    # The workspace's history is mined daily for what it could automate (once it has an agent).
    suggestions.enroll(store, body.workspace_id, now)
    return created


@router.post("/{agent_id}/regenerate-secret", response_model=AgentWithSecret)
def regenerate_secret(
    agent_id: str, principal: CurrentPrincipal, store: StoreDep, body: RegenerateSecret | None = None
) -> dict[str, object]:
    """A new secret for an `http` agent, shown only now. The old one is still accepted for the
    agent's callbacks for the grace period (24 h unless `grace_period_seconds` says otherwise)."""
    grace = (body or RegenerateSecret()).grace_period_seconds
    if grace is None:
        grace = get_settings().webhook_secret_grace_seconds
    return agents.regenerate_secret(store, agent_id, grace, principal.workspaces, utcnow())


@router.get("", response_model=Page[Agent])
def list_agents(
    workspace: WorkspaceScope, store: StoreDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, object]:
    items, next_cursor = store.agents.page(workspace, limit=limit, cursor=cursor)
    return listing.page(items, next_cursor, Agent)


@router.get("/{agent_id}", response_model=Agent)
def get_agent(agent_id: str, principal: CurrentPrincipal, store: StoreDep) -> dict[str, object]:
    return agents.get_agent(store, agent_id, principal.workspaces)


@router.get("/{agent_id}/users", response_model=AgentUsers)
def agent_users(agent_id: str, principal: CurrentPrincipal, store: StoreDep) -> dict[str, object]:
    """What starts the agent (schedules, triggers, monitors, the goal loop's actions, autonomous
    mode) and whether it is the workspace's default agent: what deleting it would refuse over."""
    users = references.agent_users(store, agents.get_agent(store, agent_id, principal.workspaces))
    named = {
        kind: [{"id": field_of(i, "id"), "name": field_of(i, "name")} for i in users[kind]]
        for kind in ("schedules", "triggers", "monitors", "actions")
    }
    return {**named, "autonomy": bool(users["autonomy"]), "default_agent": bool(users["workspace_settings"])}


@router.patch("/{agent_id}", response_model=Agent)
def update_agent(
    agent_id: str, body: AgentUpdate, principal: CurrentPrincipal, store: StoreDep
) -> dict[str, object]:
    return agents.update_agent(store, agent_id, body, principal.workspaces, utcnow())


@router.delete("/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_agent(
    agent_id: str,
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    bus: BusDep,
    force: Force = False,
) -> Response:
    """Delete an agent. While schedules, triggers or monitors start it, this answers 409 naming
    them; with `force=true` each of them is paused (its `paused_reason` says why) first."""
    references.delete_agent(store, queue, bus, agent_id, principal.workspaces, utcnow(), force=force)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
