"""Suggestions and the patterns they come from: what the API accepts and shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from proactive.models.common import Input, Record, Shown, hidden

SuggestionKind = Literal["schedule", "trigger", "monitor", "fix"]
SuggestionStatus = Literal["open", "accepted", "dismissed", "snoozed", "expired", "superseded"]
PatternKind = Literal["recurring_time", "followed_by_run", "metric_anomalies", "repeated_failure"]


class Evidence(BaseModel):
    """The ids of what a pattern was found in (newest first, at most 50 of each)."""

    runs: list[str] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)
    deliveries: list[str] = Field(default_factory=list)
    metric: str | None = Field(default=None, description="The goal-loop metric whose points were read.")
    count: int = Field(default=0, description="How many occurrences the pattern rests on.")


class SuggestedRequest(BaseModel):
    """The request accepting makes, in the suggestion's workspace, with the caller's token."""

    method: Literal["POST", "PUT", "PATCH"]
    path: str
    body: dict[str, Any]
    needs: list[str] = Field(
        default_factory=list,
        description="Fields accepting must be given (a secret's value is never suggested).",
    )


class SuggestionRecord(Record):
    workspace_id: str
    kind: SuggestionKind
    fingerprint: str
    status: SuggestionStatus = "open"
    title: str
    why: str
    subject: str = Field(description="What it is about: an agent, a schedule, a metric.")
    evidence: Evidence
    backtest: dict[str, Any] = Field(default_factory=dict)
    confidence: float = Field(ge=0, le=1)
    impact: float = Field(default=1.0, ge=0, description="Occurrences a month the suggestion would handle.")
    score: float = 0.0
    request: SuggestedRequest
    pattern_id: str | None = None
    resource: dict[str, Any] | None = Field(
        default=None, description="What accepting created or changed, as the API answered it."
    )
    resource_path: str | None = None
    accepted_at: datetime | None = None
    accepting_until: datetime | None = None
    dismissed_at: datetime | None = None
    dismissed_reason: str | None = None
    dismissed_count: int | None = None
    snoozed_until: datetime | None = None
    expired_at: datetime | None = None
    superseded_by: str | None = None
    last_seen_at: datetime
    created_at: datetime
    updated_at: datetime


class Suggestion(SuggestionRecord, Shown):
    fingerprint: SkipJsonSchema[str] = hidden()
    accepting_until: SkipJsonSchema[datetime | None] = hidden()
    dismissed_count: SkipJsonSchema[int | None] = hidden()


class Pattern(BaseModel):
    id: str
    kind: PatternKind
    subject: str
    description: str
    statistics: dict[str, Any]
    evidence: Evidence
    suggestion_id: str | None = Field(default=None, description="The suggestion made of it, if any.")


class Patterns(BaseModel):
    workspace_id: str
    mined_at: datetime | None = Field(default=None, description="When the history was last mined.")
    window_days: int
    history: dict[str, int] = Field(default_factory=dict, description="What was read: runs, events, ...")
    took_ms: int | None = None
    patterns: list[Pattern]


class AcceptBody(Input):
    """Fields that replace the suggested request's, at its top level (e.g. another agent_id, or a
    cron_expression at another time)."""

    overrides: dict[str, Any] = Field(default_factory=dict)


class DismissBody(Input):
    reason: str | None = Field(default=None, max_length=500)


class SnoozeBody(Input):
    until: datetime = Field(description="When it may be suggested again.")


class Accepted(BaseModel):
    suggestion: Suggestion
    created: bool = Field(description="False when it had been accepted before: nothing new was made.")
    resource: dict[str, Any] | None


class Refreshed(BaseModel):
    status: Literal["mined", "queued"]
    patterns: int | None = None
    open: int | None = None
    took_ms: int | None = None
