"""Monitors and their checks: what the API accepts and shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from proactive.models.common import (
    Input,
    Measure,
    MeasuredAt,
    Name,
    Patch,
    Record,
    ResourceId,
    Shown,
    TaskText,
    WorkspaceId,
    hidden,
    without_credentials,
)
from proactive.models.notifications import CHANNEL_REMOVED, NotifyConfig
from proactive.models.series import SeriesName


class SecretRef(Input):
    secret: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,128}$")]
    prefix: str = Field(default="", max_length=100, description="Text before the secret, e.g. 'Bearer '.")


class HttpSource(Input):
    type: Literal["http"]
    url: Annotated[
        str, StringConstraints(max_length=2000, pattern=r"^https?://"), AfterValidator(without_credentials)
    ]
    method: Literal["GET", "POST"] = "GET"
    headers: dict[str, str | SecretRef] = Field(default_factory=dict)
    select: str = Field(
        max_length=1000,
        description="JMESPath picking the value (or an object of named values) from the JSON response.",
    )


Aggregation = Literal["last", "avg", "max", "min", "sum", "count"]


class MetricSource(Input):
    type: Literal["metric"]
    aggregation: Aggregation = "last"
    window: int = Field(default=300, ge=60, le=30 * 24 * 3600, description="Seconds of values to aggregate.")


class SeriesSource(Input):
    """A goal-loop metric (`POST /api/autonomous/metrics`): its points in the window, aggregated,
    and `anomaly_score`, the highest score among them, for conditions like `anomaly_score > 0.9`."""

    type: Literal["series"]
    metric_name: SeriesName = Field(examples=["cpu_usage"])
    aggregation: Aggregation = "last"
    window: int = Field(default=300, ge=60, le=30 * 24 * 3600, description="Seconds of points to read.")


MonitorSource = Annotated[HttpSource | MetricSource | SeriesSource, Field(discriminator="type")]


class MonitorCreate(Input):
    name: Name
    agent_id: ResourceId
    workspace_id: WorkspaceId
    source: MonitorSource | None = Field(
        default=None,
        description="Where the value comes from (required): an HTTP JSON endpoint, values posted "
        "to the monitor, or a goal-loop metric (with its anomaly scores).",
    )
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
    notify: NotifyConfig | None = Field(
        default=None, description="Who is told about the runs it starts, and when."
    )


class MonitorUpdate(Patch):
    _nullable = frozenset({"cooldown", "notify"})

    name: Name | None = None
    agent_id: ResourceId | None = None
    source: MonitorSource | None = None
    condition: str | None = Field(default=None, max_length=500)
    action: TaskText | None = None
    check_interval: int | None = Field(default=None, ge=60, le=7 * 24 * 3600)
    cooldown: int | None = Field(default=None, ge=0, le=30 * 24 * 3600)
    is_active: bool | None = None
    notify: NotifyConfig | None = None


class MonitorRecord(Record):
    """A monitor as stored: what it reads and when, and what its checks found. `source` and
    `notify` are kept as they were given (a source stored before a rule of its model was added
    still reads back), `next_fire_at` is its next check while active, and `checking_id` /
    `checking_until` hold it for the one check under way."""

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
    next_fire_at: datetime | None = None
    paused_reason: str | None = Field(
        default=None,
        description="Why the platform paused it (e.g. its agent was deleted); none when a person did.",
    )
    created_at: datetime
    updated_at: datetime
    notify: dict[str, Any] | None = None
    channel_removed_reason: str | None = Field(default=None, description=CHANNEL_REMOVED)
    checking_id: str | None = None
    checking_until: datetime | None = None


class Monitor(MonitorRecord, Shown):
    next_check: datetime | None = None
    next_fire_at: SkipJsonSchema[datetime | None] = hidden()
    checking_id: SkipJsonSchema[str | None] = hidden()
    checking_until: SkipJsonSchema[datetime | None] = hidden()


class MetricValue(Input):
    value: Measure
    timestamp: MeasuredAt | None = Field(default=None, description="When it was measured; default now.")


class CheckRecord(Record):
    """One check of a monitor as stored: queued for its slot, then what it found."""

    monitor_id: str
    workspace_id: str
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


class Check(CheckRecord, Shown):
    workspace_id: SkipJsonSchema[str] = hidden()
