"""Schedules: what the API accepts and shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from proactive.models.common import Input, Name, Patch, ResourceId, TaskText, WorkspaceId
from proactive.models.notifications import CHANNEL_REMOVED, NotifyConfig

CatchUp = Literal["skip", "latest", "all"]
Overlap = Literal["allow", "skip"]


class ScheduleCreate(Input):
    name: Name
    workspace_id: WorkspaceId
    agent_id: ResourceId
    task_description: TaskText
    cron_expression: str = Field(examples=["0 9 * * *"])
    timezone: str = Field(default="UTC", examples=["America/New_York"])
    is_active: bool = True
    catch_up: CatchUp = Field(
        default="latest",
        description="After downtime: run no missed occurrence, only the latest, or all of them.",
    )
    overlap: Overlap = Field(
        default="skip", description="Whether an occurrence may start while the previous run is still going."
    )
    notify: NotifyConfig | None = Field(
        default=None, description="Who is told about the runs it starts, and when."
    )


class ScheduleUpdate(Patch):
    _nullable = frozenset({"notify"})

    name: Name | None = None
    agent_id: ResourceId | None = None
    task_description: TaskText | None = None
    cron_expression: str | None = None
    timezone: str | None = None
    is_active: bool | None = None
    catch_up: CatchUp | None = None
    overlap: Overlap | None = None
    notify: NotifyConfig | None = None


class Schedule(BaseModel):
    id: str
    name: str
    workspace_id: str
    agent_id: str
    task_description: str
    cron_expression: str
    timezone: str
    is_active: bool
    catch_up: CatchUp
    overlap: Overlap
    next_run: str | None = Field(description="Next fire time (ISO-8601 with the schedule's zone offset).")
    last_run: str | None = Field(
        default=None, description="When the last run started, in the schedule's zone."
    )
    last_run_id: str | None = None
    paused_reason: str | None = Field(
        default=None,
        description="Why the platform paused it (e.g. its agent was deleted); none when a person did.",
    )
    created_at: datetime
    updated_at: datetime
    notify: dict[str, Any] | None = None
    channel_removed_reason: str | None = Field(default=None, description=CHANNEL_REMOVED)


class NextRuns(BaseModel):
    next_runs: list[str] = Field(
        description="ISO-8601 times with the schedule's zone offset, e.g. 2026-03-09T09:00:00-04:00"
    )
