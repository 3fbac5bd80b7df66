"""Triggers: what the API accepts and shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from proactive.models.common import Input, Name, Patch, ResourceId, TaskText, WorkspaceId
from proactive.models.notifications import CHANNEL_REMOVED, NotifyConfig
from proactive.models.runs import Run

TriggerType = Literal["webhook", "github", "manual", "event"]


class TriggerCreate(Input):
    name: Name
    workspace_id: WorkspaceId
    trigger_type: TriggerType
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="github: {repository, event (or a list), actions?}; event: {event, source_id?} for "
        "the product's events (run.failed, run.succeeded, run.finished), or {recorded_event} for events "
        "recorded with POST /api/autonomous/events (their metadata is the payload).",
    )
    agent_id: ResourceId
    task_template: TaskText = Field(examples=["Review PR #{pr_number}: {pr_title}"])
    filter: str | None = Field(
        default=None, max_length=2000, description="JMESPath over the payload; the event runs only if truthy."
    )
    is_active: bool = True
    notify: NotifyConfig | None = Field(
        default=None, description="Who is told about the runs it starts, and when."
    )


class TriggerUpdate(Patch):
    _nullable = frozenset({"filter", "notify"})

    name: Name | None = None
    config: dict[str, Any] | None = None
    agent_id: ResourceId | None = None
    task_template: TaskText | None = None
    filter: str | None = Field(default=None, max_length=2000)
    is_active: bool | None = None
    notify: NotifyConfig | None = None


class Trigger(BaseModel):
    id: str
    name: str
    workspace_id: str
    trigger_type: TriggerType
    config: dict[str, Any]
    agent_id: str
    task_template: str
    filter: str | None = None
    is_active: bool
    fire_count: int = 0
    last_fired_at: datetime | None = None
    paused_reason: str | None = Field(
        default=None,
        description="Why the platform paused it (e.g. its agent was deleted); none when a person did.",
    )
    created_at: datetime
    updated_at: datetime
    notify: dict[str, Any] | None = None
    channel_removed_reason: str | None = Field(default=None, description=CHANNEL_REMOVED)


class FireRequest(Input):
    payload: dict[str, Any] = Field(default_factory=dict)
    event: str | None = Field(default=None, max_length=200, description="Event name (e.g. a GitHub event).")


DeliveryStatus = Literal["accepted", "duplicate", "filtered", "rejected", "unauthorized", "rate_limited"]


class FireResult(BaseModel):
    status: DeliveryStatus
    reason: str | None = None
    run: Run | None = None
