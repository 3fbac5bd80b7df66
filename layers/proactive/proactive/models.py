"""Pydantic models: what the API accepts and returns, and what the worker passes around."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

WorkspaceId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TaskText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
ResourceId = Annotated[str, StringConstraints(min_length=1, max_length=128)]


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


CatchUp = Literal["skip", "latest", "all"]
Overlap = Literal["allow", "skip"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Patch(_Input):
    """A partial update: a field left out is unchanged; null is refused unless the field allows it."""

    _nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> _Patch:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self._nullable:
                raise ValueError(f"{name} cannot be null")
        return self


# Agents


class AgentCreate(_Input):
    workspace_id: WorkspaceId
    name: Name
    runtime: str = Field(default="builtin", description="How the agent executes; 'builtin' runs locally.")
    description: str | None = Field(default=None, max_length=2000)
    config: dict[str, Any] = Field(default_factory=dict, description="Runtime-specific settings.")


class AgentUpdate(_Patch):
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


# Schedules


class ScheduleCreate(_Input):
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


class ScheduleUpdate(_Patch):
    name: Name | None = None
    agent_id: ResourceId | None = None
    task_description: TaskText | None = None
    cron_expression: str | None = None
    timezone: str | None = None
    is_active: bool | None = None
    catch_up: CatchUp | None = None
    overlap: Overlap | None = None


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
    created_at: datetime
    updated_at: datetime


class NextRuns(BaseModel):
    next_runs: list[str] = Field(
        description="ISO-8601 times with the schedule's zone offset, e.g. 2026-03-09T09:00:00-04:00"
    )


# Runs


class RunCreate(_Input):
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


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` to get the next page.")


class ErrorBody(BaseModel):
    error: str
    message: str
    field: str | None = None


# Triggers

TriggerType = Literal["webhook", "github", "manual", "event"]


class TriggerCreate(_Input):
    name: Name
    workspace_id: WorkspaceId
    trigger_type: TriggerType
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="github: {repository, event (or a list), actions?}; event: {event, source_id?}.",
    )
    agent_id: ResourceId
    task_template: TaskText = Field(examples=["Review PR #{pr_number}: {pr_title}"])
    filter: str | None = Field(
        default=None, max_length=2000, description="JMESPath over the payload; the event runs only if truthy."
    )
    is_active: bool = True


class TriggerUpdate(_Patch):
    _nullable = frozenset({"filter"})

    name: Name | None = None
    config: dict[str, Any] | None = None
    agent_id: ResourceId | None = None
    task_template: TaskText | None = None
    filter: str | None = Field(default=None, max_length=2000)
    is_active: bool | None = None


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
    created_at: datetime
    updated_at: datetime


class FireRequest(_Input):
    payload: dict[str, Any] = Field(default_factory=dict)
    event: str | None = Field(default=None, max_length=200, description="Event name (e.g. a GitHub event).")


DeliveryStatus = Literal["accepted", "duplicate", "filtered", "rejected", "unauthorized", "rate_limited"]


class FireResult(BaseModel):
    status: DeliveryStatus
    reason: str | None = None
    run: Run | None = None


# Webhooks

SignatureScheme = Literal["standard", "github", "hmac-sha256"]


class WebhookCreate(_Input):
    workspace_id: WorkspaceId
    name: Name
    trigger_id: ResourceId
    signature_scheme: SignatureScheme | None = Field(
        default=None, description="Defaults to 'github' for a github trigger, else 'standard'."
    )
    rate_limit_per_minute: int = Field(default=60, ge=1, le=10_000)
    is_active: bool = True


class WebhookUpdate(_Patch):
    name: Name | None = None
    trigger_id: ResourceId | None = None
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=10_000)
    is_active: bool | None = None


class RegenerateSecret(_Input):
    grace_period_seconds: int | None = Field(
        default=None,
        ge=0,
        le=30 * 24 * 3600,
        description="How long the old secret stays valid (default 24 h).",
    )


class Webhook(BaseModel):
    id: str
    workspace_id: str
    name: str
    trigger_id: str
    url_path: str
    webhook_url: str
    signature_scheme: SignatureScheme
    rate_limit_per_minute: int
    is_active: bool
    previous_secret_expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(Webhook):
    secret: str = Field(description="Shown only now: store it with the sender.")


class Delivery(BaseModel):
    id: str
    webhook_id: str
    received_at: datetime
    status: DeliveryStatus
    reason: str | None = None
    run_id: str | None = None
    delivery_key: str | None = Field(default=None, description="The sender's delivery id (or a body hash).")
    event: str | None = None
    payload: Any = None


# Monitors


class SecretRef(_Input):
    secret: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,128}$")]
    prefix: str = Field(default="", max_length=100, description="Text before the secret, e.g. 'Bearer '.")


class HttpSource(_Input):
    type: Literal["http"]
    url: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://")]
    method: Literal["GET", "POST"] = "GET"
    headers: dict[str, str | SecretRef] = Field(default_factory=dict)
    select: str = Field(
        max_length=1000,
        description="JMESPath picking the value (or an object of named values) from the JSON response.",
    )


Aggregation = Literal["last", "avg", "max", "min", "sum", "count"]


class MetricSource(_Input):
    type: Literal["metric"]
    aggregation: Aggregation = "last"
    window: int = Field(default=300, ge=60, le=30 * 24 * 3600, description="Seconds of values to aggregate.")


MonitorSource = Annotated[HttpSource | MetricSource, Field(discriminator="type")]


class MonitorCreate(_Input):
    name: Name
    agent_id: ResourceId
    workspace_id: WorkspaceId
    source: MonitorSource
    condition: str = Field(max_length=500, examples=["value > 150 and change_pct > 5"])
    action: TaskText = Field(examples=["Price is {value}: send alert and analyze"])
    check_interval: int = Field(default=300, ge=60, le=7 * 24 * 3600, description="Seconds between checks.")
    cooldown: int | None = Field(
        default=None,
        ge=0,
        le=30 * 24 * 3600,
        description="While the condition stays true, fire again after this many seconds; null: only after "
        "it has been false again.",
    )
    is_active: bool = True


class MonitorUpdate(_Patch):
    _nullable = frozenset({"cooldown"})

    name: Name | None = None
    agent_id: ResourceId | None = None
    source: MonitorSource | None = None
    condition: str | None = Field(default=None, max_length=500)
    action: TaskText | None = None
    check_interval: int | None = Field(default=None, ge=60, le=7 * 24 * 3600)
    cooldown: int | None = Field(default=None, ge=0, le=30 * 24 * 3600)
    is_active: bool | None = None


class Monitor(BaseModel):
    id: str
    name: str
    agent_id: str
    workspace_id: str
    source: dict[str, Any]
    condition: str
    action: str
    check_interval: int
    cooldown: int | None = None
    is_active: bool
    state: Literal["ok", "failing", "unknown"] = "unknown"
    consecutive_failures: int = 0
    last_error: str | None = None
    last_check: datetime | None = None
    last_value: Any = None
    condition_met: bool | None = None
    last_triggered: datetime | None = None
    trigger_count: int = 0
    next_check: datetime | None = None
    created_at: datetime
    updated_at: datetime


class MetricValue(_Input):
    value: float
    timestamp: datetime | None = Field(default=None, description="When it was measured; default now.")


class Check(BaseModel):
    id: str
    monitor_id: str
    scheduled_for: datetime
    checked_at: datetime | None = None
    status: Literal["queued", "ok", "error", "skipped"]
    value: Any = None
    values: dict[str, Any] | None = None
    previous: Any = None
    change_pct: float | None = None
    condition_met: bool | None = None
    fired: bool = False
    run_id: str | None = None
    error: str | None = None
    reason: str | None = None
