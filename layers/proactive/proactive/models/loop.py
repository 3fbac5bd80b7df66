"""The goal loop's settings, mode, status and predictions, as the API accepts and shows them.

The settings hold the loop's three configuration blocks (forecasting, executor, agent) with their
documented keys and defaults, and what the loop's decisions read besides: the rules, the
forecast horizon, the time zone of quiet hours and patterns, how long an approval waits and how
long an action's impact is measured. Every number is bounded, so a value the loop could not
honour is refused by name (`executor.max_concurrent_goals`) when it is set, not found out when
the loop runs.

An update mirrors the shown shape with every field optional: a field left out keeps its value,
at any depth, and null is refused (there is no "unset": send the default to restore it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    PlainValidator,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from proactive.models.common import Input, WorkspaceId

MAX_RULES = 50
MAX_RULE_CHARS = 1000
# Predictions and the default forecast horizon reach at most a week ahead.
MAX_HORIZON_HOURS = 168

# "ensemble" or one of `proactive.analytics.forecast.METHODS`.
ForecastMethod = Literal["ensemble", "seasonal_naive", "holt", "holt_winters", "theta"]


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Paris'") from None
    return name


# Whole numbers only (`"3"` or `3.5` is a mistake worth naming), each within what the loop honours.
AnalysisMinutes = Annotated[
    int,
    Field(
        strict=True,
        ge=5,
        le=1440,
        description="Minutes between two analyses (forecasts, patterns, goals); one value for both "
        "blocks that name it.",
    ),
]
MinOccurrences = Annotated[
    int, Field(strict=True, ge=2, le=100, description="Days a pattern must recur on to count.")
]
PatternWindowHours = Annotated[
    int, Field(strict=True, ge=24, le=720, description="How far back patterns are looked for.")
]
MaxActiveGoals = Annotated[
    int, Field(strict=True, ge=1, le=100, description="Goals the loop pursues at most at once.")
]
# The dispatcher ticks once a minute: nothing it starts can run more often.
ExecutionSeconds = Annotated[
    int, Field(strict=True, ge=60, le=3600, description="Seconds between two passes of the executor.")
]
ConcurrentGoals = Annotated[
    int, Field(strict=True, ge=1, le=20, description="Goals whose actions may run at the same time.")
]
SyncSeconds = Annotated[
    int, Field(strict=True, ge=10, le=3600, description="Seconds between two checks of goals' progress.")
]
HorizonHours = Annotated[
    int,
    Field(
        strict=True,
        ge=1,
        le=MAX_HORIZON_HOURS,
        description="How far ahead metrics are forecast when a rule does not say.",
    ),
]
ApprovalMinutes = Annotated[
    int,
    Field(
        strict=True, ge=1, le=10_080, description="How long an action waits for approval before it lapses."
    ),
]
ImpactMinutes = Annotated[
    int,
    Field(strict=True, ge=1, le=1440, description="How long after an action its impact is measured."),
]
Timezone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_known_zone),
    Field(description="IANA time zone of quiet hours and recurring patterns.", examples=["Europe/Paris"]),
]
RuleText = Annotated[str, StringConstraints(max_length=MAX_RULE_CHARS)]


def _as_is(value: Any) -> Any:
    return value


# Each rule is taken as it comes and parsed by `proactive.loop.settings`, which names a bad one as
# a client would (`rules[1].value`); the OpenAPI document still describes what a rule is.
RuleSpec = Annotated[
    Any,
    PlainValidator(_as_is, json_schema_input_type=RuleText | dict[str, Any]),
    Field(
        description="A rule as text (`cpu_usage <= 80 underused_at=20`, `slo availability >= 99.9`) "
        'or as an object of its fields (`{"metric": "cpu_usage", "operator": "<=", "value": 80}`).'
    ),
]


# Settings as shown (and as stored)


class ForecasterSettings(BaseModel):
    default_method: ForecastMethod = "ensemble"


class PatternRecognizerSettings(BaseModel):
    min_occurrences: MinOccurrences = 3
    time_window_hours: PatternWindowHours = 168


class GoalSetterSettings(BaseModel):
    auto_goal_setting: StrictBool = Field(default=True, description="Whether analyses set goals.")
    max_active_goals: MaxActiveGoals = 10


class ForecastingSettings(BaseModel):
    auto_analysis_enabled: StrictBool = Field(
        default=True, description="Whether analyses run every interval while autonomous mode is on."
    )
    analysis_interval_minutes: AnalysisMinutes = 60
    forecaster: ForecasterSettings = Field(default_factory=ForecasterSettings)
    pattern_recognizer: PatternRecognizerSettings = Field(default_factory=PatternRecognizerSettings)
    goal_setter: GoalSetterSettings = Field(default_factory=GoalSetterSettings)


class ExecutorSettings(BaseModel):
    execution_interval_seconds: ExecutionSeconds = 60
    max_concurrent_goals: ConcurrentGoals = 3
    enable_learning: StrictBool = Field(
        default=True, description="Whether measured impacts update each action's record."
    )


class AgentSettings(BaseModel):
    autonomous_mode: StrictBool = Field(default=False, description="Whether the goal loop runs on its own.")
    goal_sync_interval_seconds: SyncSeconds = 30
    analysis_interval_minutes: AnalysisMinutes = 60


class LoopConfig(BaseModel):
    """What a workspace sets for its goal loop."""

    forecasting: ForecastingSettings = Field(default_factory=ForecastingSettings)
    executor: ExecutorSettings = Field(default_factory=ExecutorSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    rules: list[str] = Field(
        default_factory=list,
        max_length=MAX_RULES,
        description="The rules, each in its normalised text form (which reads back to the same rule).",
    )
    forecast_horizon_hours: HorizonHours = 24
    timezone: Timezone = "UTC"
    approval_timeout_minutes: ApprovalMinutes = 60
    impact_window_minutes: ImpactMinutes = 60

    @model_validator(mode="after")
    def _one_analysis_interval(self) -> LoopConfig:
        if self.agent.analysis_interval_minutes != self.forecasting.analysis_interval_minutes:
            raise ValueError(
                "agent.analysis_interval_minutes must equal forecasting.analysis_interval_minutes"
            )
        return self


class LoopSettings(LoopConfig):
    workspace_id: str
    next_analysis_at: datetime | None = Field(
        default=None,
        description="When the next analysis is due: null unless autonomous mode and auto analysis are on.",
    )
    last_analysis_at: datetime | None = Field(default=None, description="Null until the loop has run.")
    version: int = Field(
        description="Goes up by one with every change; 0 while the defaults were never changed."
    )
    updated_at: datetime | None = None


# Updates


class _Partial(Input):
    """Fields left out keep their value; null is refused, by name."""

    @field_validator("*", mode="after")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name != "workspace_id":
            raise ValueError("cannot be null; leave the field out to keep its value")
        return value


class ForecasterUpdate(_Partial):
    default_method: ForecastMethod | None = None


class PatternRecognizerUpdate(_Partial):
    min_occurrences: MinOccurrences | None = None
    time_window_hours: PatternWindowHours | None = None


class GoalSetterUpdate(_Partial):
    auto_goal_setting: StrictBool | None = None
    max_active_goals: MaxActiveGoals | None = None


class ForecastingUpdate(_Partial):
    auto_analysis_enabled: StrictBool | None = None
    analysis_interval_minutes: AnalysisMinutes | None = None
    forecaster: ForecasterUpdate | None = None
    pattern_recognizer: PatternRecognizerUpdate | None = None
    goal_setter: GoalSetterUpdate | None = None


class ExecutorUpdate(_Partial):
    execution_interval_seconds: ExecutionSeconds | None = None
    max_concurrent_goals: ConcurrentGoals | None = None
    enable_learning: StrictBool | None = None


class AgentUpdate(_Partial):
    autonomous_mode: StrictBool | None = None
    goal_sync_interval_seconds: SyncSeconds | None = None
    analysis_interval_minutes: AnalysisMinutes | None = None


class LoopSettingsUpdate(_Partial):
    workspace_id: WorkspaceId | None = Field(default=None, description="Default: the token's only workspace.")
    forecasting: ForecastingUpdate | None = None
    executor: ExecutorUpdate | None = None
    agent: AgentUpdate | None = None
    rules: list[RuleSpec] | None = Field(
        default=None, max_length=MAX_RULES, description="Replaces the whole list when given."
    )
    forecast_horizon_hours: HorizonHours | None = None
    timezone: Timezone | None = None
    approval_timeout_minutes: ApprovalMinutes | None = None
    impact_window_minutes: ImpactMinutes | None = None


# Mode and status


class ModeChange(Input):
    workspace_id: WorkspaceId | None = Field(default=None, description="Default: the token's only workspace.")
    autonomous: StrictBool


class LoopStatus(BaseModel):
    workspace_id: str
    autonomous_mode: bool
    metrics_tracked: int = Field(description="Metrics with points still kept.")
    last_analysis_at: datetime | None = Field(description="Null until the loop has run an analysis.")
    next_analysis_at: datetime | None = Field(
        description="When the next analysis is due: null unless autonomous mode and auto analysis are on."
    )
    active_goals: int = Field(description="Goals the loop is pursuing (0 until it sets any).")
    settings_version: int = Field(description="The settings' version (0: never changed).")


# Predictions


class PredictedPoint(BaseModel):
    timestamp: datetime
    value: float
    lower: float = Field(description="The interval's lower bound (see `level`).")
    upper: float


class Season(BaseModel):
    steps: int
    seconds: float


class MetricPrediction(BaseModel):
    metric_name: str
    method: str | None = Field(
        description="'ensemble' or the one method used; null when there was too little to forecast."
    )
    weights: dict[str, float] = Field(description="Each method's share of the ensemble.")
    backtest_mase: dict[str, float] = Field(
        description="Each method's (and the ensemble's) error on the recent history; below 1 beats "
        "repeating the last season."
    )
    step_seconds: float | None
    season: Season | None = Field(description="The recurring cycle found (an hour, a day or a week).")
    history_points: int = Field(description="The points the forecast was made from.")
    last_observed_at: datetime | None = Field(
        description="The last point's time: the forecast starts after it."
    )
    points: list[PredictedPoint]
    reason: str | None = Field(default=None, description="Why `points` is empty, when it is.")


class Predictions(BaseModel):
    workspace_id: str
    horizon_hours: int
    level: float = Field(description="The share of outcomes each point's interval is meant to hold.")
    generated_at: datetime
    predictions: list[MetricPrediction]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next metrics.")
