"""What mining reads of a workspace: its recent history and what it already has.

Only the window is read (runs newest first until the first one older than the window; events
and metric points by time), so mining costs in proportion to the recent history, not to the
workspace's whole past. Events and metric points are read by the time they carry, so a history
brought in through `POST /api/autonomous/events` and `/metrics` is mined as it happened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from proactive.clock import iso, parse_iso
from proactive.store import Store
from proactive.store.entities import field_of

# How much history is mined, and at most how much of it is read.
WINDOW_DAYS = 42
MAX_RUNS = 20_000
MAX_EVENTS = 100_000
MAX_METRICS = 50
MAX_POINTS = 20_000


@dataclass(frozen=True)
class RunSeen:
    id: str
    agent_id: str
    source_type: str
    source_id: str | None
    task: str
    created_at: datetime
    status: str
    error: str | None
    attempts: int


@dataclass(frozen=True)
class EventSeen:
    id: str
    type: str
    at: datetime
    metadata: Mapping[str, Any]


@dataclass(frozen=True)
class History:
    workspace_id: str
    zone: str
    since: datetime
    until: datetime
    runs: Sequence[RunSeen]
    events: Sequence[EventSeen]
    metrics: Mapping[str, Sequence[tuple[datetime, float]]]
    agents: Sequence[Mapping[str, Any]]
    schedules: Sequence[Any]
    triggers: Sequence[Mapping[str, Any]]
    monitors: Sequence[Any]
    channels: Sequence[Any]
    settings: Mapping[str, Any]
    watched_metrics: frozenset[str] = field(default_factory=frozenset)

    def sizes(self) -> dict[str, int]:
        return {
            "runs": len(self.runs),
            "events": len(self.events),
            "metrics": len(self.metrics),
            "metric_points": sum(len(p) for p in self.metrics.values()),
        }


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else parse_iso(str(value))


def _run(run: Any) -> RunSeen:
    attempts = field_of(run, "attempts")
    return RunSeen(
        id=str(field_of(run, "id")),
        agent_id=str(field_of(run, "agent_id")),
        source_type=str(field_of(run, "source_type")),
        source_id=field_of(run, "source_id"),
        task=str(field_of(run, "task") or ""),
        created_at=_time(field_of(run, "created_at")),
        status=str(field_of(run, "status")),
        error=field_of(run, "error"),
        attempts=int(attempts if isinstance(attempts, int) else len(attempts or [])),
    )


# What mining reads of a run.
RUN_FIELDS = (
    "id",
    "agent_id",
    "source_type",
    "source_id",
    "task",
    "created_at",
    "status",
    "error",
    "attempts",
)


def recent_runs(store: Store, workspace_id: str, since: datetime) -> list[RunSeen]:
    """The workspace's runs created since `since` (the newest `MAX_RUNS`), oldest first."""
    found = store.runs.since(workspace_id, since, RUN_FIELDS)[-MAX_RUNS:]
    return [_run(r) for r in found]


def recent_events(store: Store, workspace_id: str, since: datetime, until: datetime) -> list[EventSeen]:
    """The workspace's recorded events from `since` to `until`, oldest first."""
    seen: list[EventSeen] = []
    cursor: str | None = None
    while len(seen) < MAX_EVENTS:
        page, cursor = store.events_log.page(
            workspace_id, event_type=None, since=since, until=until, limit=1000, cursor=cursor
        )
        seen.extend(
            EventSeen(
                str(e["id"]), str(e["event_type"]), parse_iso(str(e["timestamp"])), e.get("metadata") or {}
            )
            for e in page
        )
        if not cursor:
            break
    return sorted(seen, key=lambda e: e.at)


def recent_metrics(
    store: Store, workspace_id: str, since: datetime, until: datetime
) -> dict[str, list[tuple[datetime, float]]]:
    """Each goal-loop metric with points in the window (the most recently active first, at most
    `MAX_METRICS`), its points oldest first."""
    catalogue, _ = store.metric_states.page(workspace_id, limit=1000, cursor=None)
    active = [m for m in catalogue if str(m.get("last_timestamp") or "") >= iso(since)]
    active.sort(key=lambda m: str(m.get("last_timestamp")), reverse=True)
    out: dict[str, list[tuple[datetime, float]]] = {}
    for metric in active[:MAX_METRICS]:
        name = str(metric["metric_name"])
        points = store.metrics.newest(workspace_id, name, iso(since), iso(until), limit=MAX_POINTS)
        out[name] = [(parse_iso(str(p["timestamp"])), float(p["value"])) for p in points]
    return out


def _zone(loop: Mapping[str, Any], schedules: Sequence[Any]) -> str:
    """The workspace's time zone: its goal loop's (that of its quiet hours and recurring
    patterns), else the one most of its schedules use, else UTC."""
    if loop.get("timezone"):
        return str(loop["timezone"])
    zones = Counter(str(field_of(s, "timezone") or "UTC") for s in schedules)
    return zones.most_common(1)[0][0] if zones else "UTC"


def _watched(monitors: Sequence[Any], loop: Mapping[str, Any]) -> frozenset[str]:
    """The metrics a monitor or a goal-loop rule already watches."""
    names = set()
    for monitor in monitors:
        source = field_of(monitor, "source") or {}
        source = source if isinstance(source, Mapping) else source.model_dump()
        if source.get("type") == "series" and source.get("metric_name"):
            names.add(str(source["metric_name"]))
    for rule in loop.get("rules") or []:
        metric = rule.get("metric") if isinstance(rule, Mapping) else None
        if metric:
            names.add(str(metric))
    return frozenset(names)


def read(store: Store, workspace_id: str, now: datetime, *, window_days: int = WINDOW_DAYS) -> History:
    """What mining the workspace reads, for the window of `window_days` before `now`."""
    since = now - timedelta(days=window_days)
    schedules = store.schedules.all_in(workspace_id)
    monitors = store.monitors.all_in(workspace_id)
    loop = store.loop_settings.get(workspace_id) or {}
    return History(
        workspace_id=workspace_id,
        zone=_zone(loop, schedules),
        since=since,
        until=now,
        runs=recent_runs(store, workspace_id, since),
        events=recent_events(store, workspace_id, since, now),
        metrics=recent_metrics(store, workspace_id, since, now),
        agents=store.agents.all_in(workspace_id),
        schedules=schedules,
        triggers=store.triggers.all_in(workspace_id),
        monitors=monitors,
        channels=store.channels.all_in(workspace_id),
        settings=store.workspaces.get(workspace_id),
        watched_metrics=_watched(monitors, loop),
    )
