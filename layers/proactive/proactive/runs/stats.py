"""Run statistics of a window: the hourly counters kept as runs finish (`store.run_stats`),
summed into the buckets, totals, failure rate, duration percentiles and per-agent usage that
`GET /api/runs/stats` answers. One query of at most 168 items, however many runs there are."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from proactive.models.runs import StatsWindow
from proactive.store import Store
from proactive.store.run_stats import AGENT_FIELDS, STATUSES, HourStats, hour_of, percentile

# Each window: how many hours it spans (the current one last) and how many hours a bucket holds.
WINDOWS: dict[str, tuple[int, int]] = {"24h": (24, 1), "7d": (168, 6)}


def _counts() -> dict[str, int]:
    return {**dict.fromkeys(STATUSES, 0), "total": 0}


def _add_counts(into: dict[str, int], counts: dict[str, int]) -> None:
    for status, count in counts.items():
        into[status] += count
        into["total"] += count


def _agents(hours: list[HourStats]) -> list[dict[str, Any]]:
    """Each agent's sums over `hours`, most runs first (then by id)."""
    summed: dict[str, dict[str, float]] = {}
    for hour in hours:
        for agent, fields in hour.agents.items():
            sums = summed.setdefault(agent, dict.fromkeys(AGENT_FIELDS, 0.0))
            for name, value in fields.items():
                sums[name] += value
    shown = [
        {
            "agent_id": agent,
            "runs": int(fields["runs"]),
            "failed": int(fields["failed"]),
            "input_tokens": int(fields["input_tokens"]),
            "output_tokens": int(fields["output_tokens"]),
            "cost_usd": round(float(fields["cost_usd"]), 6),
        }
        for agent, fields in summed.items()
    ]
    return sorted(shown, key=lambda a: (-a["runs"], a["agent_id"]))


def summary(store: Store, workspace_id: str, window: StatsWindow, now: datetime) -> dict[str, Any]:
    """The statistics of the runs of `workspace_id` that finished in `window` up to `now` (the
    hours of the window end with the current one), as `models.runs.RunStatistics`."""
    span, per_bucket = WINDOWS[window]
    current = hour_of(now)
    since = current - timedelta(hours=span - 1)
    hours = store.run_stats.hours(workspace_id, since, current)
    counted = [_counts() for _ in range(span // per_bucket)]
    totals = _counts()
    durations: Counter[int] = Counter()
    for hour in hours:
        k = int((hour.hour - since).total_seconds() // 3600) // per_bucket
        if not 0 <= k < len(counted):
            continue
        _add_counts(counted[k], hour.counts)
        _add_counts(totals, hour.counts)
        durations.update(hour.durations)
    ended = totals["succeeded"] + totals["failed"]
    return {
        "workspace_id": workspace_id,
        "window": window,
        "since": since,
        "until": current + timedelta(hours=1),
        "bucket_seconds": per_bucket * 3600,
        "buckets": [
            {"start": since + timedelta(hours=k * per_bucket), **counts} for k, counts in enumerate(counted)
        ],
        "totals": totals,
        "failure_rate": totals["failed"] / ended if ended else None,
        "duration_p50_seconds": _rounded(percentile(durations, 0.5)),
        "duration_p95_seconds": _rounded(percentile(durations, 0.95)),
        "durations_counted": sum(durations.values()),
        "agents": _agents(hours),
    }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)
