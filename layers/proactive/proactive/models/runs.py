"""Runs: what the API accepts and shows."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from proactive.models.common import Input, ResourceId, TaskText, WorkspaceId

# How an item stored with text that is not valid Unicode is shown (`proactive.api.listing`).
UNREADABLE = (
    "Set when the stored item holds text that is not valid Unicode (kept from before such text was "
    "refused): the fields holding it, each bad character shown as U+FFFD."
)


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
    REPLAY = "replay"
    CONVERSATION = "conversation"
    TASK = "task"


class Step(BaseModel):
    """One thing that happened in a run: `type` (attempt_started, model_request, tool_call,
    http_request, waiting_for_callback, callback_received, attempt_failed, cancelled, truncated)
    with its details."""

    model_config = ConfigDict(extra="allow")

    at: datetime
    type: str


class Usage(BaseModel):
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0
    cost_usd: float | None = Field(default=None, description="None where the model has no known price.")


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
    payload: Any = Field(
        default=None, description="The data that started the run (webhook, trigger, monitor)."
    )
    steps: list[Step] = Field(default_factory=list, description="What happened inside the run, in order.")
    usage: Usage | None = Field(default=None, description="What the run's agent consumed, over all attempts.")
    waiting_for: Literal["callback"] | None = Field(
        default=None, description="The agent answered 202 and will call back by `callback_deadline`."
    )
    callback_deadline: datetime | None = None
    retry_at: datetime | None = Field(
        default=None, description="When the next attempt starts, while one is due."
    )
    cancel_requested: bool = Field(
        default=False,
        description="A cancel was asked for while an attempt ran; it takes effect when it returns.",
    )
    replay_of: str | None = Field(default=None, description="The run this one replays.")
    replays: list[str] = Field(default_factory=list, description="Runs that replayed this one.")
    unreadable: list[str] | None = Field(default=None, description=UNREADABLE)
