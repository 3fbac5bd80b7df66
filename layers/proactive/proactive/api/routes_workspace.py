"""A workspace's own settings (its default agent and default notification channels), and the
one-time links that sign a person in to the console."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from proactive.api.deps import CurrentPrincipal, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.models.notifications import WorkspaceSettings, WorkspaceSettingsUpdate
from proactive.models.workspace import LoginLink

router = APIRouter(prefix="/api/workspace", tags=["workspace"])


@router.get("/settings", response_model=WorkspaceSettings)
def get_settings(workspace: WorkspaceScope, store: StoreDep) -> Any:
    return store.workspaces.get(workspace)


@router.put("/settings", response_model=WorkspaceSettings)
def put_settings(body: WorkspaceSettingsUpdate, principal: CurrentPrincipal, store: StoreDep) -> Any:
    """Set the default agent (conversations and tasks use it when they name none) and the default
    channels (told of final failures, failing monitors, missed occurrences). Fields left out keep
    their value."""
    workspace = body.workspace_id or principal.only_workspace()
    principal.require(workspace)
    changes = body.model_dump(exclude_unset=True, exclude={"workspace_id", "channel_removed_reason"})
    if "default_channels" in changes and changes["default_channels"] is None:
        # null says "none", as an empty list does: what is stored always reads back as a list.
        changes["default_channels"] = []
    if changes.get("default_agent_id"):
        store.agents.referenced(changes["default_agent_id"], workspace, field="default_agent_id")
    for channel_id in changes.get("default_channels") or []:
        store.channels.referenced(channel_id, workspace, field="default_channels")
    return store.workspaces.set(workspace, changes)


@router.post("/login-links", response_model=LoginLink, status_code=201)
def create_login_link(request: Request, principal: CurrentPrincipal, store: StoreDep) -> LoginLink:
    """A one-time link that signs its opener in to the console as the caller, with the caller's
    workspaces. It works once, within 15 minutes; treat it as the token it stands for."""
    code, expires = store.login_links.create(principal.subject, principal.workspaces, utcnow())
    base = str(request.base_url).rstrip("/")
    return LoginLink(url=f"{base}/console/login?code={code}", expires_at=expires)
