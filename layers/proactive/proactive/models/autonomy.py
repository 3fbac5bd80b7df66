"""Autonomous mode: what the API accepts and shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from proactive.models.common import Input, ResourceId, TaskText, WorkspaceId
from proactive.models.notifications import CHANNEL_REMOVED
from proactive.models.runs import Run

Frequency = Literal["15min", "30min", "1hour", "3hours", "6hours", "12hours", "24hours"]


class AutonomousConfigPayload(Input):
    workspace_id: WorkspaceId | None = Field(default=None, description="Default: the token's only workspace.")
    enabled: bool
    frequency: Frequency = "1hour"
    discord_webhook: str | None = Field(
        default=None,
        max_length=500,
        description="Shorthand: the workspace's Discord channel for autonomous mode.",
    )
    ntfy_topic: str | None = Field(
        default=None,
        max_length=64,
        description="Shorthand: the workspace's ntfy channel for autonomous mode.",
    )
    agent_id: ResourceId | None = Field(
        default=None, description="The agent that runs (default: the workspace's default agent)."
    )
    task: TaskText | None = Field(default=None, description="What it is asked to do, before the digest.")
    channels: list[ResourceId] = Field(default_factory=list, max_length=10)


class AutonomousConfigResponse(BaseModel):
    workspace_id: str
    enabled: bool
    frequency: Frequency
    discord_webhook: str | None = Field(default=None, description="Masked: the token is never shown.")
    ntfy_topic: str | None = None
    agent_id: str | None = None
    task: str | None = None
    channels: list[str] = Field(default_factory=list)
    channel_removed_reason: str | None = Field(default=None, description=CHANNEL_REMOVED)
    last_execution: datetime | None = None
    next_execution: datetime | None = None
    active_run_id: str | None = Field(default=None, description="The execution running now, if any.")


class SavedAutonomousConfig(AutonomousConfigResponse):
    status: Literal["ok"] = "ok"
    message: str = "Configuration updated"


class ExecutionStarted(BaseModel):
    status: Literal["ok"] = "ok"
    message: str = "Execution started"
    run: Run


class TestWebhookPayload(Input):
    webhook_url: str = Field(max_length=500)


class SimpleStatus(BaseModel):
    status: str
    message: str
    receiver: dict[str, Any] | None = Field(default=None, description="What the receiver answered.")
