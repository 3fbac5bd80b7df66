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


AnalysisStatus = Literal["running", "succeeded", "failed"]


class AnalysisRun(BaseModel):
    """One analysis: an execution of the goal loop's state machine, and what each step did."""

    id: str
    workspace_id: str
    trigger: str = Field(description="schedule (the loop on its own) or manual (POST /analysis/trigger).")
    status: AnalysisStatus = Field(
        description="running until the execution ends: after its goals are set, while it acts on them."
    )
    analysed_at: datetime = Field(description="The instant analysed: metrics up to it are read.")
    finished_at: datetime | None = None
    steps: dict[str, dict[str, Any]] = Field(
        description="Each finished step's summary: forecast, detect, patterns, set_goals (goals created, "
        "refreshed, dropped with the reason) and plan."
    )
    result: dict[str, Any] | None = None
    error: str | None = None


class TimelineEntry(BaseModel):
    at: datetime
    event: str
    detail: str


class GoalAction(BaseModel):
    """What the loop did for a goal in one analysis: the plan, the approval (who decided, when, how),
    the execution (its run or response), the impact measured and the outcome learnt."""

    id: str
    workspace_id: str
    goal_id: str
    analysis_id: str
    action_id: str | None
    action_name: str | None
    action_kind: str | None
    status: str = Field(
        description="planned, waiting, awaiting_approval, approved, rejected, expired, executing, executed, "
        "measured, done, failed, cancelled, no_action or error."
    )
    plan: dict[str, Any] = Field(description="Strategy, when, why (the draw among the candidates).")
    approval: dict[str, Any] | None = None
    run_id: str | None = None
    acted_at: datetime | None = None
    result: dict[str, Any] | None = None
    impact: dict[str, Any] | None = None
    outcome: dict[str, Any] | None = None
    error: str | None = None
    timeline: list[TimelineEntry]
    created_at: datetime


class GoalDetail(Goal):
    actions: list[GoalAction] = Field(description="What the loop did for this goal, oldest first.")
