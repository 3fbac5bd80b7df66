"""Runs: what the API accepts and shows."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from proactive.models.common import Input, ResourceId, TaskText, WorkspaceId


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    MISSED = "missed"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.MISSED, RunStatus.CANCELLED})


class SourceType(StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    WEBHOOK = "webhook"
    TRIGGER = "trigger"
    MONITOR = "monitor"
    AUTONOMOUS = "autonomous"
    GOAL = "goal"


class RunCreate(Input):
    workspace_id: WorkspaceId
    agent_id: ResourceId
    task: TaskText


class Run(BaseModel):
    id: str
    workspace_id: str
    agent_id: str
    source_type: SourceType
    source_id: str | None = None
    scheduled_for: datetime | None = None
    status: RunStatus
    attempts: int = 0
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    task: str
    output: str | None = None
    error: str | None = None
    reason: str | None = Field(default=None, description="Why a run was missed or cancelled.")
    trigger_id: str | None = None
    delivery_id: str | None = Field(default=None, description="The webhook delivery that started this run.")
    check_id: str | None = Field(default=None, description="The monitor check that started this run.")
