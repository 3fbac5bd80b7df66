"""The goal setter: which goals one analysis of a workspace's metrics sets, and why.

Each rule is checked against its metric's recent points, forecast and anomaly scores, and the
recurring patterns found (`proactive.loop.rules` says which finding sets which goal type). A goal
records the evidence that set it, with its numbers, and a description a person can read.

Priority is a number up to 100: the severity gives 20 (low), 40, 60 or 80 (critical), and
urgency adds up to 25: all of it for a breach happening now, half for one a horizon away, less
the further it lies (an anomaly adds 25 times its score, an idle resource or a rising cost
nothing). The label is the severity band the number falls in, so a breach an hour away lifts a
medium rule's goal to high.

A goal's id comes from its type, metric and rule condition, so the same finding in the next
analysis refreshes the goal rather than adding one. Goals already active keep their place, since
work on them may be under way; new goals fill what `max_active_goals` leaves, highest priority
first, and the rest are dropped with the reason.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from proactive.analytics.forecast import Forecast, ForecastPoint
from proactive.analytics.patterns import Pattern
from proactive.errors import InvalidInput
from proactive.ids import derived_id
from proactive.loop.rules import Rule, Severity, Target
from proactive.loop.timing import HOUR, Point, from_now, local_time, next_local_hour, recent_level, zone_info
from proactive.models.common import GoalType

GoalStatus = Literal["active", "achieved", "failed", "expired"]
Trigger = Literal[
    "current_breach", "predicted_breach", "slow_growth", "underused", "anomaly", "rising_forecast", "pattern"
]

_SEVERITY_BASE: dict[Severity, float] = {"low": 20.0, "medium": 40.0, "high": 60.0, "critical": 80.0}
_URGENCY_WEIGHT = 25.0
# An idle stretch counts when the points cover this share of the window (a gap or two is fine).
_MIN_COVERAGE = 0.9
# The share of points that must sit past `underused_at`: a few bursts do not make a resource busy.
_IDLE_QUANTILE = 0.95
_TITLES = {
    GoalType.BOTTLENECK_PREVENTION: "Prevent {} bottleneck",
    GoalType.CAPACITY_PLANNING: "Plan capacity for {}",
    GoalType.RESOURCE_OPTIMIZATION: "Right-size under-used {}",
    GoalType.PERFORMANCE_TARGET: "Meet the {} target",
    GoalType.SLA_MAINTENANCE: "Maintain the {} service level",
    GoalType.COST_REDUCTION: "Reduce {}",
    GoalType.PATTERN_ADAPTATION: "Adapt to the recurring {} pattern",
}


@dataclass(frozen=True)
class AnomalyScore:
    """A point's anomaly score (0..1) from `proactive.analytics.anomaly`, with the point it scored."""

    timestamp: float
    value: float
    score: float


@dataclass(frozen=True)
class MetricView:
    """What an analysis knows of one metric: recent points (oldest first), forecast, anomaly scores."""

    points: Sequence[Point]
    forecast: Forecast | None = None
    anomalies: Sequence[AnomalyScore] = ()


@dataclass(frozen=True)
class Evidence:
    """Why a goal was set, with the numbers. `summary` says it in a sentence; unused fields are None.

    `observed` is the metric's current level (for an idle resource, the 95th percentile of the
    idle window, the 5th for a floor). `breach_*` is the first forecast point past the target,
    `worst_*` the forecast point furthest past it within the window looked at (for a rising cost,
    the forecast at the horizon).
    """

    trigger: Trigger
    summary: str
    observed: float | None = None
    forecast_method: str | None = None
    backtest_mase: float | None = None
    breach_at: float | None = None
    breach_value: float | None = None
    worst_at: float | None = None
    worst_value: float | None = None
    rise_pct: float | None = None
    anomaly_at: float | None = None
    anomaly_value: float | None = None
    anomaly_score: float | None = None
    pattern: Pattern | None = None


@dataclass(frozen=True)
class Goal:
    """A goal: what should hold (`target`), why (`evidence`), by when it matters (`due_at`)."""

    id: str
    type: GoalType
    metric: str
    rule: str  # the rule's condition, e.g. "threshold cpu_usage <= 80"
    resource: str
    target: Target
    severity: Severity
    priority: float
    priority_label: Severity
    title: str
    description: str
    evidence: Evidence
    due_at: float | None
    created_at: float
    updated_at: float
    expires_at: float
    status: GoalStatus = "active"


@dataclass(frozen=True)
class Dropped:
    goal: Goal
    reason: str


@dataclass(frozen=True)
class GoalDecisions:
    """New goals, active goals refreshed with new evidence, and goals not set, with the reason."""

    created: tuple[Goal, ...]
    updated: tuple[Goal, ...]
    dropped: tuple[Dropped, ...]


@dataclass(frozen=True)
class _Finding:
    type: GoalType
    evidence: Evidence
    due_at: float | None
    urgency: float
    target: Target


def goal_id(goal_type: GoalType, rule: Rule) -> str:
    """The same id for the same goal type, metric and rule condition, in any workspace."""
    return derived_id("goal", f"{goal_type.value}|{rule.metric}|{rule.condition}")


def set_goals(
    rules: Sequence[Rule],
    metrics: Mapping[str, MetricView],
    patterns: Sequence[Pattern],
    active: Sequence[Goal],
    now: float,
    *,
    max_active_goals: int = 10,
    timezone: str = "UTC",
    anomaly_lookback_seconds: float = HOUR,
) -> GoalDecisions:
    """The goals this analysis sets. `active` are the workspace's goals (only status "active" count).

    `timezone` is the one the patterns were found in; descriptions show times in it. Anomaly
    scores older than `anomaly_lookback_seconds` (normally the time since the last analysis) are
    left to that analysis.
    """
    if isinstance(max_active_goals, bool) or not isinstance(max_active_goals, int) or max_active_goals < 0:
        raise InvalidInput("max_active_goals must be a whole number, 0 or more", field="max_active_goals")
    zone = zone_info(timezone)
    best: dict[tuple[GoalType, str], Goal] = {}
    dropped: list[Dropped] = []
    for rule in rules:
        view = metrics.get(rule.metric, MetricView(points=()))
        for finding in _findings(rule, view, patterns, now, zone, anomaly_lookback_seconds):
            goal = _goal(rule, finding, now)
            key = (goal.type, goal.metric)
            if key in best:
                # Two rules on one metric setting one goal type: the more pressing one speaks for both.
                kept, lost = sorted((best[key], goal), key=_rank)
                dropped.append(Dropped(lost, f"the rule '{kept.rule}' sets this goal with a higher priority"))
                goal = kept
            best[key] = goal
    current = {(g.type, g.metric): g for g in active if g.status == "active"}
    updated = [_refresh(current[key], goal, now) for key, goal in best.items() if key in current]
    fresh = sorted((g for key, g in best.items() if key not in current), key=_rank)
    room = max(0, max_active_goals - len(current))
    for goal in fresh[room:]:
        dropped.append(
            Dropped(
                goal,
                f"max_active_goals={max_active_goals} reached: {len(current)} goals active and "
                f"{room} new goals of higher priority kept; this one has priority {goal.priority:g}",
            )
        )
    return GoalDecisions(created=tuple(fresh[:room]), updated=tuple(updated), dropped=tuple(dropped))


def _rank(goal: Goal) -> tuple[float, float, str]:
    return (-goal.priority, math.inf if goal.due_at is None else goal.due_at, goal.id)


def _refresh(existing: Goal, finding: Goal, now: float) -> Goal:
    """The active goal with this analysis's evidence; its id, rule, target and start are kept."""
    return replace(
        existing,
        severity=finding.severity,
        priority=finding.priority,
        priority_label=finding.priority_label,
        description=_describe(existing.title, existing.target, finding.evidence),
        evidence=finding.evidence,
        due_at=finding.due_at,
        updated_at=now,
        expires_at=max(existing.expires_at, finding.expires_at),
    )


def _goal(rule: Rule, finding: _Finding, now: float) -> Goal:
    priority = round(min(100.0, _SEVERITY_BASE[rule.severity] + _URGENCY_WEIGHT * finding.urgency), 1)
    title = _TITLES[finding.type].format(rule.metric)
    horizon = rule.horizon_hours * HOUR
    return Goal(
        id=goal_id(finding.type, rule),
        type=finding.type,
        metric=rule.metric,
        rule=rule.condition,
        resource=rule.resource_name,
        target=finding.target,
        severity=rule.severity,
        priority=priority,
        priority_label=_label(priority),
        title=title,
        description=_describe(title, finding.target, finding.evidence),
        evidence=finding.evidence,
        due_at=finding.due_at,
        created_at=now,
        updated_at=now,
        # A goal lives a horizon past the moment it is about, to see whether the target held.
        expires_at=max(now, finding.due_at or now) + horizon,
    )


def _label(priority: float) -> Severity:
    for label in ("critical", "high", "medium"):
        if priority >= _SEVERITY_BASE[label]:
            return label
    return "low"


def _describe(title: str, target: Target, evidence: Evidence) -> str:
    return f"{title}: keep {target}. {evidence.summary}"


def _findings(
    rule: Rule, view: MetricView, patterns: Sequence[Pattern], now: float, zone: ZoneInfo, lookback: float
) -> list[_Finding]:
    if rule.kind == "cost":
        return _cost(rule, view, now, zone)
    target = rule.target
    if target is None:  # only a cost rule may go without a condition
        return []
    if rule.kind == "pattern":
        return _pattern(rule, target, patterns, now, zone)
    if rule.kind == "threshold":
        return _threshold(rule, target, view, now, zone)
    found = _objective(rule, target, view, now, zone, lookback)
    return [found] if found else []


def _threshold(rule: Rule, target: Target, view: MetricView, now: float, zone: ZoneInfo) -> list[_Finding]:
    """A breach within the horizon, else one within capacity_hours (slow growth); an idle resource."""
    types = rule.goal_types
    breach = None
    if GoalType.BOTTLENECK_PREVENTION in types:
        breach = _forecast_breach(GoalType.BOTTLENECK_PREVENTION, rule, target, view, now, zone)
    if breach is None and GoalType.CAPACITY_PLANNING in types:
        breach = _forecast_breach(GoalType.CAPACITY_PLANNING, rule, target, view, now, zone)
    found = [breach] if breach else []
    if GoalType.RESOURCE_OPTIMIZATION in types and rule.underused_at is not None:
        idle = _underused(rule, target, rule.underused_at, view, now)
        if idle is not None:
            found.append(idle)
    return found


def _objective(
    rule: Rule, target: Target, view: MetricView, now: float, zone: ZoneInfo, lookback: float
) -> _Finding | None:
    """Missing the target now, else a forecast miss within the horizon, else an anomaly towards the limit."""
    kind = rule.goal_types[0]
    level = recent_level(view.points, now)
    if level is not None and not target.holds(level):
        summary = f"Now: {target.metric} is at {level:.4g} over the last hour, missing {target}."
        return _Finding(kind, Evidence("current_breach", summary, observed=level), now, 1.0, target)
    breach = _forecast_breach(kind, rule, target, view, now, zone)
    if breach is not None:
        return breach
    values = [v for _, v in view.points]
    middle = statistics.median(values) if values else None
    for anomaly in sorted(view.anomalies, key=lambda a: -a.timestamp):
        if anomaly.timestamp < now - lookback or anomaly.score < rule.anomaly_score:
            continue
        # An anomaly away from the limit (latency suddenly low) threatens nothing this rule guards.
        if middle is not None and (anomaly.value > middle) != target.upper:
            continue
        summary = (
            f"Anomaly: {target.metric} was {anomaly.value:.4g} at {local_time(anomaly.timestamp, zone)}, "
            f"score {anomaly.score:.2f} (at least {rule.anomaly_score:g} sets a goal), "
            f"towards the limit {target}."
        )
        evidence = Evidence(
            "anomaly",
            summary,
            observed=level,
            anomaly_at=anomaly.timestamp,
            anomaly_value=anomaly.value,
            anomaly_score=anomaly.score,
        )
        return _Finding(kind, evidence, now, anomaly.score, target)
    return None


def _cost(rule: Rule, view: MetricView, now: float, zone: ZoneInfo) -> list[_Finding]:
    """A budget the forecast crosses within the horizon, else a forecast rising by min_rise_pct."""
    horizon = rule.horizon_hours * HOUR
    budget = rule.target
    breach = _forecast_breach(GoalType.COST_REDUCTION, rule, budget, view, now, zone) if budget else None
    if breach is not None:
        return [breach]
    level = recent_level(view.points, now)
    forecast = view.forecast
    ahead = [p for p in forecast.points if p.timestamp <= now + horizon] if forecast else []
    if level is None or level == 0 or forecast is None or not ahead:
        return []
    end = ahead[-1]
    rise = (end.value - level) / abs(level) * 100.0
    if rise < rule.min_rise_pct:
        return []
    summary = (
        f"Forecast: {rule.metric} rises {rise:.1f}% (at least {rule.min_rise_pct:g}% sets a goal), "
        f"from {level:.4g} now to {end.value:.4g} at {local_time(end.timestamp, zone)}{_method(forecast)}."
    )
    evidence = Evidence(
        "rising_forecast",
        summary,
        observed=level,
        forecast_method=forecast.method,
        backtest_mase=_mase(forecast),
        worst_at=end.timestamp,
        worst_value=end.value,
        rise_pct=rise,
    )
    # Without a budget, the goal is to hold the cost where it is now.
    target = budget or Target(rule.metric, "<=", level)
    return [_Finding(GoalType.COST_REDUCTION, evidence, None, 0.0, target)]


def _pattern(
    rule: Rule, target: Target, patterns: Sequence[Pattern], now: float, zone: ZoneInfo
) -> list[_Finding]:
    """The soonest confident recurring pattern of the metric due within the horizon."""
    horizon = rule.horizon_hours * HOUR
    due = [
        (next_local_hour(now, p.hour_of_day, zone, p.day_of_week), -p.confidence, p)
        for p in patterns
        if p.subject == rule.metric and p.confidence >= rule.min_confidence
    ]
    due = [d for d in due if d[0] <= now + horizon]
    if not due:
        return []
    at, _, pattern = min(due, key=lambda d: (d[0], d[1]))
    summary = (
        f"Pattern: {pattern.description} (confidence {pattern.confidence:.2f}); next around "
        f"{local_time(at, zone)} ({from_now(at, now)})."
    )
    evidence = Evidence("pattern", summary, pattern=pattern)
    return [_Finding(GoalType.PATTERN_ADAPTATION, evidence, at, _urgency(at, now, horizon), target)]


def _underused(rule: Rule, target: Target, level: float, view: MetricView, now: float) -> _Finding | None:
    """The metric stayed past `level`, on the safe side, over the last underused_hours."""
    window = rule.underused_hours * HOUR
    recent = [(t, v) for t, v in view.points if now - window <= t <= now]
    if len(recent) < 2 or recent[-1][0] - recent[0][0] < _MIN_COVERAGE * window:
        return None
    values = np.array([v for _, v in recent])
    quantile = float(np.quantile(values, _IDLE_QUANTILE if target.upper else 1 - _IDLE_QUANTILE))
    if (quantile > level) if target.upper else (quantile < level):
        return None
    side = "below" if target.upper else "above"
    summary = (
        f"Idle: {rule.metric} stayed {side} {level:g} for the last {rule.underused_hours:g} h "
        f"(95% of its {values.size} points at or {side} {quantile:.4g}), far inside {target}."
    )
    evidence = Evidence("underused", summary, observed=quantile)
    # Right-sizing brings the metric back towards its limit: past the idle level again.
    back = Target(rule.metric, ">=" if target.upper else "<=", level)
    return _Finding(GoalType.RESOURCE_OPTIMIZATION, evidence, None, 0.0, back)


def _forecast_breach(
    kind: GoalType, rule: Rule, target: Target, view: MetricView, now: float, zone: ZoneInfo
) -> _Finding | None:
    """The first forecast point past the target within the horizon (capacity_hours for capacity
    planning); a service level's forecast counts as past it once its interval's bound is."""
    forecast = view.forecast
    if forecast is None:
        return None
    horizon = rule.horizon_hours * HOUR
    reach = rule.capacity_hours * HOUR if kind == GoalType.CAPACITY_PLANNING else horizon
    use_bound = kind == GoalType.SLA_MAINTENANCE
    window = [p for p in forecast.points if p.timestamp <= now + reach]
    breach = next((p for p in window if not target.holds(_side(p, target, use_bound))), None)
    if breach is None:
        return None
    worst = (max if target.upper else min)(window, key=lambda p: _side(p, target, use_bound))
    value, worst_value = _side(breach, target, use_bound), _side(worst, target, use_bound)
    # A stale forecast may place the breach before now: it is then happening now.
    at = max(now, breach.timestamp)
    what = f"{target.metric}'s {'upper' if target.upper else 'lower'} bound" if use_bound else target.metric
    furthest = f"{worst_value:.4g} at {local_time(worst.timestamp, zone)}"
    summary = (
        f"Forecast: {what} reaches {value:.4g} at {local_time(at, zone)} ({from_now(at, now)}), "
        f"past {target}; furthest past it {furthest}{_method(forecast)}."
    )
    evidence = Evidence(
        "slow_growth" if kind == GoalType.CAPACITY_PLANNING else "predicted_breach",
        summary,
        observed=recent_level(view.points, now),
        forecast_method=forecast.method,
        backtest_mase=_mase(forecast),
        breach_at=at,
        breach_value=value,
        worst_at=worst.timestamp,
        worst_value=worst_value,
    )
    return _Finding(kind, evidence, at, _urgency(at, now, horizon), target)


def _side(point: ForecastPoint, target: Target, use_bound: bool) -> float:
    if not use_bound:
        return point.value
    return point.upper if target.upper else point.lower


def _method(forecast: Forecast) -> str:
    mase = _mase(forecast)
    error = "" if mase is None else f", backtest MASE {mase:.2f}"
    return f" ({forecast.method} forecast{error})"


def _mase(forecast: Forecast) -> float | None:
    return forecast.backtest_mase.get(forecast.method)


def _urgency(due: float | None, now: float, horizon: float) -> float:
    """1 for now, a half at one horizon away, falling off beyond."""
    if due is None:
        return 0.0
    return horizon / (horizon + max(0.0, due - now))
