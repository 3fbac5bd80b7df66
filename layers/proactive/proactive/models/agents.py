"""Agents: what the API accepts and shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from proactive.models.common import Input, Name, Patch, WorkspaceId
from proactive.models.notifications import CHANNEL_REMOVED, NotifyConfig


class AgentCreate(Input):
    workspace_id: WorkspaceId
    name: Name
    runtime: str = Field(
        default="builtin",
        description="How the agent executes: 'builtin' (a local summariser), 'http' (your own agent "
        "service, called with a signed request) or 'llm' (a model, with tools).",
    )
    description: str | None = Field(default=None, max_length=2000)
    config: dict[str, Any] = Field(default_factory=dict, description="Runtime-specific settings.")
    notify: NotifyConfig | None = Field(
        default=None, description="Who is told about the runs it starts, and when."
    )


class AgentUpdate(Patch):
    _nullable = frozenset({"description", "notify"})

    name: Name | None = None
    runtime: str | None = None
    description: str | None = Field(default=None, max_length=2000)
    config: dict[str, Any] | None = None
    notify: NotifyConfig | None = None


class Agent(BaseModel):
    id: str
    workspace_id: str
    name: str
    runtime: str
    description: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    previous_secret_expires_at: datetime | None = Field(
        default=None, description="Until when the secret before the last regeneration is still accepted."
    )
    created_at: datetime
    updated_at: datetime
    notify: dict[str, Any] | None = None
    channel_removed_reason: str | None = Field(default=None, description=CHANNEL_REMOVED)


class AgentWithSecret(Agent):
    secret: str | None = Field(
        default=None,
        description="Shown only now: the secret the platform signs requests to an http agent with, and "
        "the agent signs its callbacks with (Standard Webhooks, whsec_...). None for other runtimes.",
    )


class AgentUser(BaseModel):
    id: str
    name: str | None = None


class AgentUsers(BaseModel):
    """What starts the agent or names it. While any of these holds something, deleting the agent
    answers 409 (or, with `force=true`, pauses each of them first)."""

    schedules: list[AgentUser] = Field(default_factory=list, description="Schedules that start it.")
    triggers: list[AgentUser] = Field(default_factory=list, description="Event triggers that start it.")
    monitors: list[AgentUser] = Field(default_factory=list, description="Monitors that start it.")
    actions: list[AgentUser] = Field(
        default_factory=list, description="The goal loop's actions that give it tasks."
    )
    autonomy: bool = Field(default=False, description="Autonomous mode runs it.")
    default_agent: bool = Field(
        default=False, description="It is the workspace's default agent (`default_agent_id`)."
    )
