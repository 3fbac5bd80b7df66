"""Goals the goal loop sets, and what an analysis decided: what the API shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from proactive.models.actions import ExecutorStatistics
from proactive.models.common import Input, WorkspaceId

GoalStatus = Literal["active", "achieved", "failed", "expired"]


class Goal(BaseModel):
    id: str
    workspace_id: str
    goal_type: str = Field(description="One of the seven goal types, e.g. BOTTLENECK_PREVENTION.")
    status: GoalStatus
    metric: str
    resource: str
    rule: str = Field(description="The rule that set it, e.g. 'threshold cpu_usage <= 80'.")
    target: str = Field(description="What should hold, e.g. 'cpu_usage <= 80'.")
    title: str
    description: str
    severity: str
    priority: float = Field(description="Up to 100: the severity, plus urgency (a breach soon).")
    priority_label: str
    due_at: datetime | None = Field(default=None, description="When it matters: e.g. the predicted breach.")
    expires_at: datetime | None = None
    evidence: dict[str, Any] = Field(
        description="Why it was set, with the numbers: the trigger (predicted_breach, anomaly, pattern, "
        "...), a summary, and the forecast, anomaly or pattern behind it."
    )
    created_at: datetime
    updated_at: datetime


class AnalysisRequest(Input):
    workspace_id: WorkspaceId | None = None


class Dropped(BaseModel):
    title: str
    reason: str


class Analysis(BaseModel):
    workspace_id: str
    analysed_at: datetime
    metrics: list[str] = Field(description="The metrics the rules read.")
    patterns: int = Field(description="Recurring patterns found in the metrics and events.")
    created: list[str] = Field(description="Goals set by this analysis.")
    updated: list[str] = Field(description="Active goals refreshed with this analysis's evidence.")
    dropped: list[Dropped] = Field(description="Goals not set, and why (max_active_goals, a duplicate).")


class Report(BaseModel):
    """Everything the goal loop has done in a workspace, in one answer."""

    workspace_id: str
    generated_at: datetime
    autonomous_mode: bool
    last_analysis_at: datetime | None = None
    next_analysis_at: datetime | None = None
    rules: list[str] = Field(description="What the loop watches.")
    metrics_tracked: int
    goals_by_status: dict[str, int] = Field(
        description="How many goals are active, achieved, failed, expired."
    )
    goals_by_type: dict[str, int] = Field(description="Goals of each type, whatever their status.")
    active_goals: list[Goal] = Field(description="The goals being pursued, most pressing first.")
    executor: ExecutorStatistics
