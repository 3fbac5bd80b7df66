"""One analysis of a workspace: load its rules and metrics, forecast, read the anomaly scores,
find the recurring patterns, set goals, and store them.

Each of the state machine's analysis steps (forecast, detect, patterns, set goals) is a function
here; the pure module that does the work is `lib.forecast`, `lib.patterns` or `loop.goals`, and
this module reads what it needs from the store and writes what it decides. A goal is stored whole,
so the next analysis refreshes it with new evidence rather than adding another, and the API
shows why it was set with the numbers.
"""

from __future__ import annotations

import base64
import dataclasses
import zlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from boto3.dynamodb.conditions import Attr

from proactive.analytics.forecast import Forecast, ForecastPoint, forecast
from proactive.analytics.patterns import Pattern, metric_peaks, recurring_events
from proactive.clock import epoch_iso, iso, parse_iso
from proactive.ids import derived_id
from proactive.loop import runs_view
from proactive.loop import settings as loop_settings
from proactive.loop.goals import AnomalyScore, Evidence, Goal, MetricView, set_goals
from proactive.loop.predictions import HISTORY, LEVEL, MAX_POINTS
from proactive.loop.rules import Rule, Target, forecast_horizons, parse_rule
from proactive.loop.timing import HOUR
from proactive.models.common import GoalType
from proactive.store import Store, keys

MAX_EVENTS = 10_000


@dataclasses.dataclass(frozen=True)
class Context:
    """What every step of one analysis shares: whose, which, and the instant it analyses."""

    workspace_id: str
    analysis_id: str
    now: datetime

    @property
    def at(self) -> float:
        return self.now.timestamp()


def begin(store: Store, workspace_id: str, analysis_id: str, now: datetime, *, trigger: str) -> Context:
    """Record the analysis as started (once: a retried step finds it there)."""
    runs_view.begin(store, workspace_id, analysis_id, now, trigger=trigger)
    return Context(workspace_id, analysis_id, now)


def _rules(store: Store, workspace_id: str) -> tuple[dict[str, Any], list[Rule]]:
    settings = loop_settings.current(store, workspace_id)
    return settings, [parse_rule(text) for text in settings["rules"]]


def _points(
    store: Store, context: Context, metric: str, since: datetime | None = None
) -> list[dict[str, Any]]:
    """The metric's points up to the analysed instant: its history, or those `since`."""
    start = iso(max(since, context.now - HISTORY) if since else context.now - HISTORY)
    return store.metrics.newest(context.workspace_id, metric, start, iso(context.now), limit=MAX_POINTS)


def _series(points: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    return [parse_iso(p["timestamp"]).timestamp() for p in points], [float(p["value"]) for p in points]


def forecast_metrics(store: Store, context: Context) -> dict[str, Any]:
    """Forecast each metric a rule looks ahead on, as far as its rules look; each forecast is
    kept for the goal setter (and for measuring impact against it)."""
    settings, rules = _rules(store, context.workspace_id)
    method = str(settings["forecasting"]["forecaster"]["default_method"])
    made: dict[str, Any] = {}
    for metric, horizon in sorted(forecast_horizons(rules).items()):
        times, values = _series(_points(store, context, metric))
        if not times:
            continue
        predicted = forecast(times, values, horizon_seconds=horizon, level=LEVEL, method=method)
        store.analysis_parts.put(
            context.analysis_id, keys.forecast_part(metric), forecast_to(predicted), context.now
        )
        made[metric] = {"method": predicted.method, "points": len(predicted.points)}
    return runs_view.record_step(store, context.analysis_id, "forecast", {"forecasts": made})


def detect_anomalies(store: Store, context: Context) -> dict[str, Any]:
    """The anomaly scores of each rule's metric since the last analysis (the detector scored
    each point as it arrived, from the points before it)."""
    settings, rules = _rules(store, context.workspace_id)
    last = settings.get("last_analysis_at")
    lookback = max((context.at - parse_iso(last).timestamp()) if last else HOUR, 0.0)
    since = context.now - timedelta(seconds=lookback)
    scores: dict[str, list[list[float]]] = {}
    for metric in sorted({rule.metric for rule in rules}):
        # Only the points since the last analysis are read: the earlier ones were its to judge.
        scores[metric] = [
            [parse_iso(p["timestamp"]).timestamp(), float(p["value"]), float(p["anomaly_score"])]
            for p in _points(store, context, metric, since)
        ]
    store.analysis_parts.put(
        context.analysis_id, keys.ANOMALIES_PART, {"lookback": lookback, "scores": scores}, context.now
    )
    highest = {m: max((s for _, _, s in v), default=None) for m, v in scores.items()}
    return runs_view.record_step(
        store, context.analysis_id, "detect", {"lookback_seconds": lookback, "highest_scores": highest}
    )


def find_patterns(store: Store, context: Context) -> dict[str, Any]:
    """Recurring metric peaks and events, by hour of day and day of week."""
    settings, rules = _rules(store, context.workspace_id)
    zone = str(settings["timezone"])
    recognizer = settings["forecasting"]["pattern_recognizer"]
    found: list[Pattern] = []
    for metric in sorted({rule.metric for rule in rules}):
        times, values = _series(_points(store, context, metric))
        if times:
            found += metric_peaks(
                times,
                values,
                now=context.at,
                subject=metric,
                min_occurrences=int(recognizer["min_occurrences"]),
                time_window_hours=float(recognizer["time_window_hours"]),
                timezone=zone,
            )
    window = timedelta(hours=float(recognizer["time_window_hours"]))
    events, _ = store.events_log.page(
        context.workspace_id,
        event_type=None,
        since=context.now - window,
        until=context.now,
        limit=MAX_EVENTS,
        cursor=None,
    )
    found += recurring_events(
        [(parse_iso(e["timestamp"]).timestamp(), str(e["event_type"])) for e in events],
        now=context.at,
        min_occurrences=int(recognizer["min_occurrences"]),
        time_window_hours=float(recognizer["time_window_hours"]),
        timezone=zone,
    )
    store.analysis_parts.put(
        context.analysis_id, keys.PATTERNS_PART, [dataclasses.asdict(p) for p in found], context.now
    )
    return runs_view.record_step(
        store, context.analysis_id, "patterns", {"patterns": [p.description for p in found]}
    )


def decide_goals(store: Store, context: Context) -> dict[str, Any]:
    """Set goals from what the steps before found, and store them."""
    settings, rules = _rules(store, context.workspace_id)
    zone = str(settings["timezone"])
    anomalies = store.analysis_parts.get(context.analysis_id, keys.ANOMALIES_PART) or {
        "lookback": HOUR,
        "scores": {},
    }
    views: dict[str, MetricView] = {}
    for metric in sorted({rule.metric for rule in rules}):
        times, values = _series(_points(store, context, metric))
        stored_forecast = store.analysis_parts.get(context.analysis_id, keys.forecast_part(metric))
        views[metric] = MetricView(
            points=list(zip(times, values, strict=True)),
            forecast=None if stored_forecast is None else forecast_from(stored_forecast),
            anomalies=[AnomalyScore(t, v, s) for t, v, s in anomalies["scores"].get(metric, [])],
        )
    patterns = [Pattern(**p) for p in store.analysis_parts.get(context.analysis_id, keys.PATTERNS_PART) or []]
    active = []
    for item in store.goals.all_in(context.workspace_id, filters=Attr("status").eq("active")):
        goal = from_stored(item)
        if context.at >= goal.expires_at:  # past its expiry with its target never shown to hold
            store.goals.save(to_stored(context.workspace_id, dataclasses.replace(goal, status="expired")))
        else:
            active.append(goal)
    decisions = set_goals(
        rules,
        views,
        patterns,
        active,
        context.at,
        max_active_goals=int(settings["forecasting"]["goal_setter"]["max_active_goals"]),
        timezone=zone,
        anomaly_lookback_seconds=float(anomalies["lookback"]),
    )
    created = []
    for goal in decisions.created:
        goal = dataclasses.replace(goal, id=derived_id("goal", f"{context.workspace_id}|{goal.id}"))
        store.goals.save(to_stored(context.workspace_id, goal))
        created.append(goal.id)
    for goal in decisions.updated:
        store.goals.save(to_stored(context.workspace_id, goal))
    loop_settings.record_analysis(store, context.workspace_id, context.now)
    decided = {
        "workspace_id": context.workspace_id,
        "analysis_id": context.analysis_id,
        "analysed_at": iso(context.now),
        "metrics": sorted(views),
        "patterns": len(patterns),
        "created": created,
        "updated": [g.id for g in decisions.updated],
        "dropped": [{"title": d.goal.title, "reason": d.reason} for d in decisions.dropped],
    }
    runs_view.record_step(
        store, context.analysis_id, "set_goals", {k: decided[k] for k in ("created", "updated", "dropped")}
    )
    return decided


def forecast_to(predicted: Forecast) -> dict[str, Any]:
    """A forecast in a form that fits an item: its points as float32 columns, compressed. A week
    at one-minute steps (10,000 points) is about 160 KB of text, not the 1.2 MB of its JSON."""
    start = predicted.points[0].timestamp if predicted.points else 0.0
    columns = np.array(
        [
            [p.timestamp - start for p in predicted.points],
            [p.value for p in predicted.points],
            [p.lower for p in predicted.points],
            [p.upper for p in predicted.points],
        ],
        dtype="<f4",
    )
    return {
        "method": predicted.method,
        "step_seconds": predicted.step_seconds,
        "season_steps": predicted.season_steps,
        "backtest_mase": predicted.backtest_mase,
        "weights": predicted.weights,
        "start": start,
        "count": len(predicted.points),
        "columns": base64.b64encode(zlib.compress(columns.tobytes(), 6)).decode(),
    }


def forecast_from(data: Mapping[str, Any]) -> Forecast:
    """A forecast as `forecast_to` kept it."""
    count = int(data["count"])
    columns = np.frombuffer(zlib.decompress(base64.b64decode(data["columns"])), dtype="<f4").reshape(4, count)
    start = float(data["start"])
    points = [
        ForecastPoint(start + float(offset), float(value), float(lower), float(upper))
        for offset, value, lower, upper in columns.T
    ]
    return Forecast(
        method=str(data["method"]),
        step_seconds=float(data["step_seconds"]),
        season_steps=data["season_steps"],
        backtest_mase={k: float(v) for k, v in data["backtest_mase"].items()},
        weights={k: float(v) for k, v in data["weights"].items()},
        points=points,
    )


def to_stored(workspace_id: str, goal: Goal) -> dict[str, Any]:
    """A goal as the store keeps it: whole as `goal`, with what lists filter and sort on."""
    return {
        "id": goal.id,
        "workspace_id": workspace_id,
        "goal_type": goal.type.value,
        "status": goal.status,
        "metric": goal.metric,
        "title": goal.title,
        "priority": goal.priority,
        # Not `due_at`: that name is the due index's key, and a goal is not dispatched.
        "due_by": epoch_iso(goal.due_at),
        "created_at": epoch_iso(goal.created_at),
        "updated_at": epoch_iso(goal.updated_at),
        "goal": dataclasses.asdict(goal),
    }


def from_stored(item: Mapping[str, Any]) -> Goal:
    data = dict(item["goal"])
    evidence = dict(data["evidence"])
    if evidence.get("pattern"):
        evidence["pattern"] = Pattern(**evidence["pattern"])
    return Goal(
        **{
            **data,
            "type": GoalType(data["type"]),
            "target": Target(**data["target"]),
            "evidence": Evidence(**evidence),
        }
    )


def present(item: Mapping[str, Any]) -> dict[str, Any]:
    """A goal as the API shows it: its fields, why it was set (with the numbers), times as
    instants."""
    goal = item["goal"]
    evidence = dict(goal["evidence"])
    for name in ("breach_at", "worst_at", "anomaly_at"):
        evidence[name] = epoch_iso(evidence.get(name))
    return {
        "id": item["id"],
        "workspace_id": item["workspace_id"],
        "goal_type": item["goal_type"],
        "status": item["status"],
        "metric": goal["metric"],
        "resource": goal["resource"],
        "rule": goal["rule"],
        "target": str(Target(**goal["target"])),
        "title": goal["title"],
        "description": goal["description"],
        "severity": goal["severity"],
        "priority": goal["priority"],
        "priority_label": goal["priority_label"],
        "due_at": item.get("due_by"),
        "expires_at": epoch_iso(goal.get("expires_at")),
        "evidence": evidence,
        "created_at": item["created_at"],
        "updated_at": item["updated_at"],
    }


def report(store: Store, workspace_id: str, now: datetime) -> dict[str, Any]:
    """The loop's activity in the workspace: its settings' state, its goals by status and type
    (the active ones in full, most pressing first), and how its actions have done."""
    from collections import Counter

    from proactive.loop import insights

    status = loop_settings.status(store, workspace_id)
    settings = loop_settings.current(store, workspace_id)
    goals = store.goals.all_in(workspace_id)
    active = sorted(
        (g for g in goals if g["status"] == "active"), key=lambda g: (-float(g["priority"]), g["id"])
    )
    return {
        "workspace_id": workspace_id,
        "generated_at": iso(now),
        "autonomous_mode": status["autonomous_mode"],
        "last_analysis_at": status["last_analysis_at"],
        "next_analysis_at": status["next_analysis_at"],
        "rules": list(settings["rules"]),
        "metrics_tracked": status["metrics_tracked"],
        "goals_by_status": dict(Counter(str(g["status"]) for g in goals)),
        "goals_by_type": dict(Counter(str(g["goal_type"]) for g in goals)),
        "active_goals": [present(g) for g in active],
        "executor": insights.statistics(workspace_id, store.actions.all_in(workspace_id)),
    }
