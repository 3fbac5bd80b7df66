"""Tasks: what the API accepts and shows (`proactive.tasks` makes and edits them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from proactive.models.common import Input, Name, Patch, ResourceId, TaskText, WorkspaceId
from proactive.models.conversations import NotificationConfig
from proactive.models.notifications import CHANNEL_REMOVED

TaskType = Literal["delegation", "scheduled", "triggered"]


class TriggerConfig(Input):
    filter: str | None = Field(
        default=None, max_length=2000, description="JMESPath over the payload; the event runs only if truthy."
    )
    signature_scheme: Literal["standard", "github", "hmac-sha256"] = "standard"
    rate_limit_per_minute: int = Field(default=60, ge=1, le=10_000)


class TaskCreate(Input):
    task_type: TaskType
    prompt: TaskText
    agent_id: ResourceId | None = None
    workspace_id: WorkspaceId | None = None
    name: Name | None = None
    schedule_expression: str | None = Field(default=None, examples=["0 9 * * *"])
    timezone: str | None = Field(default=None, examples=["Europe/Paris"])
    trigger_config: TriggerConfig | None = None
    notification_config: NotificationConfig | None = None

    @model_validator(mode="after")
    def _fits_type(self) -> TaskCreate:
        if self.task_type == "scheduled" and not self.schedule_expression:
            raise ValueError("a scheduled task needs schedule_expression (a cron expression)")
        if self.task_type != "scheduled" and (self.schedule_expression or self.timezone):
            raise ValueError("schedule_expression and timezone are for scheduled tasks")
        if self.task_type != "triggered" and self.trigger_config is not None:
            raise ValueError("trigger_config is for triggered tasks")
        return self


class TaskUpdate(Patch):
    _nullable = frozenset({"notification_config"})

    name: Name | None = None
    prompt: TaskText | None = None
    agent_id: ResourceId | None = None
    schedule_expression: str | None = None
    timezone: str | None = None
    trigger_config: TriggerConfig | None = None
    notification_config: NotificationConfig | None = None


class TaskWebhook(BaseModel):
    url: str
    signature_scheme: str
    headers: dict[str, str] = Field(description="What each delivery must carry, and how to compute it.")
    secret: str | None = Field(default=None, description="Shown only when the task is created.")


class Task(BaseModel):
    id: str
    workspace_id: str
    task_type: TaskType
    name: str
    prompt: str
    agent_id: str
    status: str = Field(
        description="scheduled and triggered: active or disabled; delegation: its run's status."
    )
    schedule_id: str | None = None
    schedule_expression: str | None = None
    timezone: str | None = None
    next_run: str | None = None
    trigger_id: str | None = None
    webhook_id: str | None = None
    webhook_url: str | None = None
    webhook: TaskWebhook | None = None
    run_id: str | None = Field(default=None, description="A delegation's run.")
    notification_config: dict[str, Any] | None = None
    channel_removed_reason: str | None = Field(default=None, description=CHANNEL_REMOVED)
    runs: list[dict[str, Any]] = Field(default_factory=list, description="Recent runs, newest first.")
    created_at: datetime
    updated_at: datetime
