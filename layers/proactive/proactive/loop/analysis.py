"""One analysis of a workspace: load its rules and metrics, forecast, read the anomaly scores,
find the recurring patterns, set goals, and store them.

Each step is the pure module that does it (`lib.forecast`, `lib.patterns`, `loop.goals`); this
module reads what they need from the store and writes what they decide. A goal is stored whole,
so the next analysis refreshes it with new evidence rather than adding another, and the API
shows why it was set with the numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr

from proactive.clock import iso, parse_iso
from proactive.ids import derived_id
from proactive.lib.forecast import forecast
from proactive.lib.patterns import Pattern, metric_peaks, recurring_events
from proactive.loop import settings as loop_settings
from proactive.loop.goals import AnomalyScore, Evidence, Goal, MetricView, set_goals
from proactive.loop.predictions import HISTORY, LEVEL, MAX_POINTS
from proactive.loop.rules import GoalType, Target, forecast_horizons, parse_rule
from proactive.store import Store

MAX_EVENTS = 10_000


def analyse(store: Store, workspace_id: str, now: datetime) -> dict[str, Any]:
    """Analyse the workspace now; what it decided: goals created, refreshed and not set (why)."""
    settings = loop_settings.current(store, workspace_id)
    rules = [parse_rule(text) for text in settings["rules"]]
    horizons = forecast_horizons(rules)
    method = str(settings["forecasting"]["forecaster"]["default_method"])
    zone = str(settings["timezone"])
    recognizer = settings["forecasting"]["pattern_recognizer"]
    at = now.timestamp()
    since = iso(now - HISTORY)
    views: dict[str, MetricView] = {}
    patterns: list[Pattern] = []
    for metric in sorted({rule.metric for rule in rules}):
        points = store.metrics.newest(workspace_id, metric, since, None, limit=MAX_POINTS)
        times = [parse_iso(p["timestamp"]).timestamp() for p in points]
        values = [float(p["value"]) for p in points]
        predicted = None
        if metric in horizons and points:
            predicted = forecast(times, values, horizon_seconds=horizons[metric], level=LEVEL, method=method)
        views[metric] = MetricView(
            points=list(zip(times, values, strict=True)),
            forecast=predicted,
            anomalies=[
                AnomalyScore(t, v, float(p["anomaly_score"]))
                for t, v, p in zip(times, values, points, strict=True)
            ],
        )
        if points:
            patterns += metric_peaks(
                times,
                values,
                now=at,
                subject=metric,
                min_occurrences=int(recognizer["min_occurrences"]),
                time_window_hours=float(recognizer["time_window_hours"]),
                timezone=zone,
            )
    window = timedelta(hours=float(recognizer["time_window_hours"]))
    events, _ = store.events_log.page(
        workspace_id, event_type=None, since=now - window, until=now, limit=MAX_EVENTS, cursor=None
    )
    patterns += recurring_events(
        [(parse_iso(e["timestamp"]).timestamp(), str(e["event_type"])) for e in events],
        now=at,
        min_occurrences=int(recognizer["min_occurrences"]),
        time_window_hours=float(recognizer["time_window_hours"]),
        timezone=zone,
    )
    stored = store.goals.all_in(workspace_id, filters=Attr("status").eq("active"))
    last = settings.get("last_analysis_at")
    decisions = set_goals(
        rules,
        views,
        patterns,
        [from_stored(g) for g in stored],
        at,
        max_active_goals=int(settings["forecasting"]["goal_setter"]["max_active_goals"]),
        timezone=zone,
        anomaly_lookback_seconds=(at - parse_iso(last).timestamp()) if last else 3600.0,
    )
    for goal in decisions.created:
        goal = dataclasses.replace(goal, id=derived_id("goal", f"{workspace_id}|{goal.id}"))
        store.goals.save(to_stored(workspace_id, goal))
    for goal in decisions.updated:
        store.goals.save(to_stored(workspace_id, goal))
    loop_settings.record_analysis(store, workspace_id, now)
    return {
        "workspace_id": workspace_id,
        "analysed_at": iso(now),
        "metrics": sorted(views),
        "patterns": len(patterns),
        "created": [derived_id("goal", f"{workspace_id}|{g.id}") for g in decisions.created],
        "updated": [g.id for g in decisions.updated],
        "dropped": [{"title": d.goal.title, "reason": d.reason} for d in decisions.dropped],
    }


def _instant(seconds: float | None) -> str | None:
    return None if seconds is None else iso(datetime.fromtimestamp(seconds, UTC))


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
        "due_by": _instant(goal.due_at),
        "created_at": _instant(goal.created_at),
        "updated_at": _instant(goal.updated_at),
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
        evidence[name] = _instant(evidence.get(name))
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
        "expires_at": _instant(goal.get("expires_at")),
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
