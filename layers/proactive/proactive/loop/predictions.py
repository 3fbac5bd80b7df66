"""Predictions: each metric's forecast (`proactive.analytics.forecast`) from its recent points.

The history is the metric's last 14 days, at most its newest 20,160 points: two weeks at one
point a minute, what the forecaster keeps of a series anyway. Two weeks hold two cycles of a
weekly pattern at five-minute steps; a denser metric keeps its latest points. The forecast
starts one step after the metric's last point, uses the workspace's forecasting method, and
gives 90% intervals. A metric with too few points for a forecast that can be checked against
its own history (a few dozen, and a few days of them before a daily cycle is found) is answered
with no points and the reason, rather than with a flat guess.

Metrics are forecast a page at a time (the workspace's metrics by name, or the one asked for),
so one request's reads stay bounded however many metrics a workspace has.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from proactive.analytics.forecast import Forecast, forecast
from proactive.clock import iso, parse_iso
from proactive.errors import NotFound
from proactive.loop import settings as loop_settings
from proactive.store import Store

HISTORY = timedelta(days=14)
MAX_POINTS = 20_160
LEVEL = 0.9


def predictions(
    store: Store,
    workspace_id: str,
    *,
    horizon_hours: int | None,
    metric_name: str | None,
    limit: int,
    cursor: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Forecasts of one page of the workspace's metrics (or of `metric_name`: NotFound unless the
    workspace has it) for `horizon_hours` (default: the workspace's forecast horizon)."""
    settings = loop_settings.current(store, workspace_id)
    hours = horizon_hours or int(settings["forecast_horizon_hours"])
    method = str(settings["forecasting"]["forecaster"]["default_method"])
    if metric_name is not None:
        if store.metric_states.get(workspace_id, metric_name) is None:
            raise NotFound(f"metric {metric_name!r} not found")
        names, next_cursor = [metric_name], None
    else:
        page, next_cursor = store.metric_states.page(workspace_id, limit=limit, cursor=cursor)
        names = [m["metric_name"] for m in page]
    since = iso(now - HISTORY)
    return {
        "workspace_id": workspace_id,
        "horizon_hours": hours,
        "level": LEVEL,
        "generated_at": iso(now),
        "predictions": [
            predict(
                name,
                [
                    (p["timestamp"], float(p["value"]))
                    for p in store.metrics.newest(workspace_id, name, since, None, limit=MAX_POINTS)
                ],
                horizon_hours=hours,
                method=method,
            )
            for name in names
        ],
        "next_cursor": next_cursor,
    }


def predict(
    metric_name: str, history: Sequence[tuple[str, float]], *, horizon_hours: int, method: str
) -> dict[str, Any]:
    """One metric's prediction from its points (timestamp, value), oldest first."""
    entry: dict[str, Any] = {
        "metric_name": metric_name,
        "method": None,
        "weights": {},
        "backtest_mase": {},
        "step_seconds": None,
        "season": None,
        "history_points": len(history),
        "last_observed_at": history[-1][0] if history else None,
        "points": [],
        "reason": None,
    }
    if not history:
        entry["reason"] = f"no points in the last {HISTORY.days} days"
        return entry
    result = forecast(
        [parse_iso(at).timestamp() for at, _ in history],
        [value for _, value in history],
        horizon_seconds=horizon_hours * 3600.0,
        level=LEVEL,
        method=method,
    )
    if result.method == "naive":
        entry["reason"] = (
            f"{len(history)} points are too few for a forecast that can be checked against the "
            "metric's own history: it takes a few dozen evenly spaced points (and a few days of "
            "them before a daily cycle is found)"
        )
        return entry
    return {**entry, **_described(result)}


def _described(result: Forecast) -> dict[str, Any]:
    season = result.season_steps
    return {
        "method": result.method,
        "weights": result.weights,
        "backtest_mase": result.backtest_mase,
        "step_seconds": result.step_seconds,
        "season": None if season is None else {"steps": season, "seconds": season * result.step_seconds},
        "points": [
            {
                "timestamp": iso(datetime.fromtimestamp(p.timestamp, UTC)),
                "value": p.value,
                "lower": p.lower,
                "upper": p.upper,
            }
            for p in result.points
        ],
    }
