"""Runs: what the API accepts and shows."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from proactive.models.common import Input, Record, ResourceId, Shown, TaskText, WorkspaceId, hidden
from proactive.models.schedules import Overlap

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


# A run's status, as a run record holds it (the values of `RunStatus`).
RunStatusName = Literal["queued", "running", "succeeded", "failed", "missed", "cancelled"]


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


# What started a run, as a run record holds it (the values of `SourceType`).
SourceTypeName = Literal[
    "schedule",
    "manual",
    "webhook",
    "trigger",
    "monitor",
    "autonomous",
    "goal",
    "replay",
    "conversation",
    "task",
]


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


class RunRecord(Record):
    """A run as the table holds it (its payload read back with it: `proactive.store.runs`).

    Fields a run was not made with (those added since, and those only some runs have) have
    defaults, so runs stored by earlier versions read back."""

    workspace_id: str
    agent_id: str
    source_type: SourceTypeName
    source_id: str | None = None
    # The name of what started the run when it was made, for what is said about the run.
    source_name: str | None = None
    # The `notify` of what started the run, carried when it was made (see `notifications.targets`).
    source_notify: dict[str, Any] | None = None
    scheduled_for: datetime | None = None
    status: RunStatusName
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
    # A scheduled occurrence's key, and its schedule's overlap rule (`proactive.runs.slots`).
    occurrence_key: str | None = None
    overlap: Overlap = "skip"
    # The run holds its schedule's slot (an occurrence of a schedule whose runs do not overlap).
    holds_slot: bool = False
    # How many event triggers' runs led to this one.
    chain_depth: int = 0
    goal_action_id: str | None = None
    payload: Any = Field(
        default=None, description="The data that started the run (webhook, trigger, monitor)."
    )
    # Each step as stored: `at`, `type` and its details (`agents.runtimes.StepLog`).
    steps: list[dict[str, Any]] = Field(
        default_factory=list, description="What happened inside the run, in order."
    )
    # As stored: the fields of `Usage`.
    usage: dict[str, Any] | None = Field(
        default=None, description="What the run's agent consumed, over all attempts."
    )
    # Who is told about the run, settled when it first starts: [{channel_id, on: [...]}].
    notify: list[dict[str, Any]] | None = None
    # Until when the attempt going on holds the run.
    lease_until: datetime | None = None
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
    cancel_requested_by: str | None = None
    replay_of: str | None = Field(default=None, description="The run this one replays.")
    replays: list[str] = Field(default_factory=list, description="Runs that replayed this one.")
    # Events about the run not yet delivered (`proactive.events`).
    pending_events: list[str] = Field(default_factory=list)

    def as_stored(self) -> dict[str, Any]:
        """The fields the run holds, as the table holds them: a field it was read or made
        without is left out rather than given its default (what reads it, an event's
        subscriber, tells a field never set from one set to its default)."""
        held = self.model_fields_set
        return {k: v for k, v in super().as_stored().items() if k in held}


# A run as the API shows it (no docstring: the document describes it as it always has).
class Run(RunRecord, Shown):
    source_name: SkipJsonSchema[str | None] = hidden()
    source_notify: SkipJsonSchema[dict[str, Any] | None] = hidden()
    occurrence_key: SkipJsonSchema[str | None] = hidden()
    overlap: SkipJsonSchema[Overlap] = hidden()
    holds_slot: SkipJsonSchema[bool] = hidden()
    chain_depth: SkipJsonSchema[int] = hidden()
    goal_action_id: SkipJsonSchema[str | None] = hidden()
    notify: SkipJsonSchema[list[dict[str, Any]] | None] = hidden()
    lease_until: SkipJsonSchema[datetime | None] = hidden()
    cancel_requested_by: SkipJsonSchema[str | None] = hidden()
    pending_events: SkipJsonSchema[list[str]] = hidden()
    # Shown as the API documents them: the status and source as their enums, the stored steps
    # and usage as their models.
    source_type: SourceType  # type: ignore[assignment]
    status: RunStatus  # type: ignore[assignment]
    steps: list[Step] = Field(  # type: ignore[assignment]
        default_factory=list, description="What happened inside the run, in order."
    )
    usage: Usage | None = Field(  # type: ignore[assignment]
        default=None, description="What the run's agent consumed, over all attempts."
    )
    unreadable: list[str] | None = Field(default=None, description=UNREADABLE)


# Run statistics (`GET /api/runs/stats`): what the runs that finished in a window add up to.
StatsWindow = Literal["24h", "7d"]


class StatusCounts(BaseModel):
    """Runs that reached each final status."""

    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    missed: int = 0
    total: int = Field(default=0, description="All of them.")


class StatsBucket(StatusCounts):
    """The runs that finished in one interval of the window, by status."""

    start: datetime = Field(description="The interval's start (UTC); it lasts `bucket_seconds`.")


class AgentUsage(BaseModel):
    """One agent's finished runs in the window and what they consumed."""

    agent_id: str
    runs: int = Field(description="Runs of the agent that finished in the window, whatever their status.")
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = Field(
        default=0.0, description="The runs' known cost (runs without a price add nothing)."
    )


class RunStatistics(BaseModel):
    """The workspace's runs that reached a final status in the window, counted as each finished
    (the hour it finished in), so the answer reads at most 168 hourly counters however many runs
    there are."""

    workspace_id: str
    window: StatsWindow
    since: datetime = Field(description="The window's start: the start of its first hour (UTC).")
    until: datetime = Field(description="The window's end: the end of the current hour (UTC).")
    bucket_seconds: int = Field(description="Each bucket's length: an hour over 24h, six hours over 7d.")
    buckets: list[StatsBucket] = Field(
        description="Every interval of the window, oldest first, empty ones too."
    )
    totals: StatusCounts
    failure_rate: float | None = Field(
        description="Failed runs among those that ran to an end (succeeded + failed), 0 to 1; "
        "null when none did. Cancelled and missed runs do not count."
    )
    duration_p50_seconds: float | None = Field(
        description="The median duration (first start to end) of the runs that started, estimated "
        "from a histogram of fixed log-scale buckets (eight a decade): within about 33% of the exact "
        "value. Null when no run that started finished in the window."
    )
    duration_p95_seconds: float | None = Field(
        description="The 95th percentile of the same durations, estimated the same way."
    )
    durations_counted: int = Field(description="How many runs the duration estimates are made from.")
    agents: list[AgentUsage] = Field(description="Each agent with runs in the window, most runs first.")
