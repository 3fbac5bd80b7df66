"""A goal-loop metric as the console draws and describes it.

From the API's answers (the metric's points with their anomaly scores, its prediction, the
rules' text) a chart gets aligned columns, as uPlot takes them: one list of instants (epoch
seconds) and, for each series, one value per instant or None where it has none. The series are
the recorded values, the anomalies among them (a point scored `ANOMALY_SCORE` or more), the
forecast with its interval's lower and upper bounds (drawn as a band), marked instants (a goal's
predicted breach) and each threshold (a horizontal line). `described` says the same in words: the
chart's text alternative.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from proactive.clock import parse_iso
from proactive.errors import InvalidInput
from proactive.loop.rules import Target, parse_rule

# A point scored this or more is an anomaly (the API's own cut-off).
ANOMALY_SCORE = 0.9
# Anomalies listed in words, newest first.
LISTED_ANOMALIES = 10
# A forecast is drawn with at most this many of its points (evenly spread, its last one kept): a
# week ahead at one-minute steps is 10,080 points, more than a chart has pixels.
DRAWN_FORECAST = 1000


@dataclass(frozen=True)
class Threshold:
    """A level a rule (or a goal) keeps the metric on one side of."""

    label: str
    target: Target

    @property
    def value(self) -> float:
        return self.target.value


@dataclass(frozen=True)
class Mark:
    """An instant worth pointing at on the chart, such as a goal's predicted breach."""

    label: str
    at: str
    value: float


def _threshold(spec: Any) -> Threshold | None:
    """The rule's threshold, or None for a rule without one (a cost rule without a budget) or a
    rule that does not read (a stored rule is shown, never a reason for a page to fail)."""
    try:
        rule = parse_rule(spec)
    except (InvalidInput, TypeError, ValueError):
        return None
    target = rule.target
    return None if target is None else Threshold(f"{rule.kind} {target}", target)


def thresholds_of(rules: Iterable[Any], metric: str) -> list[Threshold]:
    """The thresholds of the rules (as the settings show them) that watch `metric`."""
    found = [t for t in (_threshold(rule) for rule in rules) if t is not None]
    unique = {t.label: t for t in found if t.target.metric == metric}
    return list(unique.values())


def goal_threshold(goal: Mapping[str, Any]) -> list[Threshold]:
    """The threshold of the rule that set a goal (its `rule`, else its `target`)."""
    for spec in (goal.get("rule"), goal.get("target")):
        if isinstance(spec, str) and (found := _threshold(spec)) is not None:
            return [found]
    return []


def _epoch(at: Any) -> float | None:
    try:
        return parse_iso(str(at)).timestamp()
    except (TypeError, ValueError):
        return None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, 6) if math.isfinite(number) else None


def _forecast(prediction: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return list((prediction or {}).get("points") or [])


def _drawn(points: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if len(points) <= DRAWN_FORECAST:
        return points
    step = math.ceil(len(points) / DRAWN_FORECAST)
    kept = points[::step]
    return kept if kept[-1] is points[-1] else [*kept, points[-1]]


def chart(
    metric: str,
    points: Sequence[Mapping[str, Any]],
    prediction: Mapping[str, Any] | None,
    thresholds: Sequence[Threshold],
    marks: Sequence[Mark] = (),
) -> dict[str, Any]:
    """The chart's data: `x` (epoch seconds, ascending) and one column per series, aligned to it.
    `points` are the recorded points in any order; `prediction` is the API's prediction of the
    metric (its `points` with `lower` and `upper`)."""
    columns: dict[float, dict[str, float | None]] = {}

    def put(at: Any, **values: float | None) -> None:
        instant = _epoch(at)
        if instant is not None:
            columns.setdefault(instant, {}).update(values)

    for point in points:
        value = _number(point.get("value"))
        score = _number(point.get("anomaly_score")) or 0.0
        put(point.get("timestamp"), recorded=value, anomalies=value if score >= ANOMALY_SCORE else None)
    for point in _drawn(_forecast(prediction)):
        put(
            point.get("timestamp"),
            forecast=_number(point.get("value")),
            lower=_number(point.get("lower")),
            upper=_number(point.get("upper")),
        )
    for mark in marks:
        put(mark.at, marks=_number(mark.value))
    x = sorted(columns)
    names = ("recorded", "anomalies", "forecast", "lower", "upper", "marks")
    return {
        "metric": metric,
        "level": (prediction or {}).get("level", 0.9),
        "x": x,
        **{name: [columns[at].get(name) for at in x] for name in names},
        "mark_label": marks[0].label if marks else None,
        "thresholds": [{"label": t.label, "value": t.value} for t in thresholds],
    }


def _first_breach(forecast: Sequence[Mapping[str, Any]], target: Target) -> Mapping[str, Any] | None:
    for point in forecast:
        value = _number(point.get("value"))
        if value is not None and not target.holds(value):
            return point
    return None


def described(
    points: Sequence[Mapping[str, Any]],
    prediction: Mapping[str, Any] | None,
    thresholds: Sequence[Threshold],
) -> dict[str, Any]:
    """The chart in words: what was recorded (how many points, when, the last value, the range),
    the forecast (its method, where it ends and its interval there, or why there is none), where
    the forecast first crosses each threshold, and the anomalies (newest first)."""
    recorded = sorted(
        (p for p in points if _number(p.get("value")) is not None and _epoch(p.get("timestamp")) is not None),
        key=lambda p: _epoch(p["timestamp"]) or 0.0,
    )
    values = [float(p["value"]) for p in recorded]
    forecast = _forecast(prediction)
    anomalies = [p for p in recorded if (_number(p.get("anomaly_score")) or 0.0) >= ANOMALY_SCORE]
    return {
        "count": len(recorded),
        "first": recorded[0] if recorded else None,
        "last": recorded[-1] if recorded else None,
        "low": min(values) if values else None,
        "high": max(values) if values else None,
        "method": (prediction or {}).get("method"),
        "reason": (prediction or {}).get("reason"),
        "forecast_end": forecast[-1] if forecast else None,
        "level": (prediction or {}).get("level", 0.9),
        "crossings": [
            {
                "label": t.label,
                "now": bool(values) and not t.target.holds(values[-1]),
                "at": _first_breach(forecast, t.target),
            }
            for t in thresholds
        ],
        "anomaly_count": len(anomalies),
        "anomalies": anomalies[::-1][:LISTED_ANOMALIES],
    }
