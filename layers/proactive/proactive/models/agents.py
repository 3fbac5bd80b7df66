"""Agents: what the API accepts and shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from proactive.models.common import Input, Name, Patch, WorkspaceId


class AgentCreate(Input):
    workspace_id: WorkspaceId
    name: Name
    runtime: str = Field(default="builtin", description="How the agent executes; 'builtin' runs locally.")
    description: str | None = Field(default=None, max_length=2000)
    config: dict[str, Any] = Field(default_factory=dict, description="Runtime-specific settings.")


class AgentUpdate(Patch):
    _nullable = frozenset({"description"})

    name: Name | None = None
    runtime: str | None = None
    description: str | None = Field(default=None, max_length=2000)
    config: dict[str, Any] | None = None


class Agent(BaseModel):
    id: str
    workspace_id: str
    name: str
    runtime: str
    description: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
