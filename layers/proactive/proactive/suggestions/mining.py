"""What a workspace's history shows: patterns, and the candidates the strong ones make. Decisions
only, over a `History` read beforehand; the statistics are `proactive.analytics`'.

- Recurring runs (`recurring_time`): the manual or delegated runs of one agent with one task,
  read in the workspace's time zone (`analytics.routines`). Routines of one task at the same
  minute past several hours on the same days are one cron with those hours (every 4 hours).
  Each routine not already scheduled becomes a schedule suggestion.
- Runs that follow events (`followed_by_run`): recorded events (by their own time) and the ends
  of the workspace's other runs (`run.failed`, `run.succeeded`, from schedules, triggers,
  monitors...), followed within `FOLLOW_WITHIN` by a manual run of an agent more often than
  chance (`analytics.associations`). Each one no trigger already covers becomes a trigger
  suggestion, with the filter that picks out the events that were followed where one exists.
- Metrics with anomalies that nothing watches (`metric_anomalies`): a robust threshold
  back-tested over the window (`analytics.thresholds`), with how many of its fires came before
  a failed run; one that would have fired becomes a monitor suggestion.
- Repeated failures (`repeated_failure`): see `suggestions.fixes`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from proactive.analytics.associations import Association, associations, wilson_lower_bound
from proactive.analytics.routines import Routine, recurring_times
from proactive.analytics.thresholds import backtest_threshold, threshold_for
from proactive.models.suggestions import Evidence, SuggestedRequest
from proactive.store.entities import field_of
from proactive.suggestions import fixes
from proactive.suggestions.candidates import MAX_EVIDENCE, Candidate, pattern, pattern_id
from proactive.suggestions.history import History, RunSeen

# Runs people start themselves, or delegate.
MANUAL_SOURCES = frozenset({"manual", "task"})
FOLLOW_WITHIN = timedelta(minutes=30)
MONITOR_LEAD = timedelta(hours=1)


@dataclass(frozen=True)
class Found:
    patterns: list[dict[str, Any]]
    candidates: list[Candidate]


def task_key(task: str) -> str:
    """A task's text as grouped: case, numbers and spacing do not tell two tasks apart."""
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", task.lower())).strip()[:120]


def mine(history: History, now: datetime) -> Found:
    patterns: list[dict[str, Any]] = []
    candidates: list[Candidate] = []
    for found in (
        _routines(history, now),
        _followed(history, now),
        _metrics(history, now),
        fixes.find(history),
    ):
        for shown, candidate in found:
            patterns.append(shown)
            if candidate is not None:
                candidates.append(candidate)
    unique = {c.id: c for c in candidates}
    return Found(patterns, list(unique.values()))


def _names(history: History) -> dict[str, str]:
    return {str(a["id"]): str(a.get("name") or a["id"]) for a in history.agents}


def _run_evidence(ids: Sequence[str], count: int) -> Evidence:
    """The newest runs among `ids` (oldest first), and how many the pattern rests on."""
    return Evidence(runs=list(reversed(ids))[:MAX_EVIDENCE], count=count)


def _observed(history: History, now: datetime, first_seen: datetime) -> timedelta:
    """The part of the window since `first_seen` (a day before it, at least a week in all): a
    routine begun three weeks ago is judged on three weeks, not on the whole window."""
    return max(timedelta(days=7), min(now - history.since, now - first_seen + timedelta(days=1)))


def _a_month(count: float, window: timedelta) -> float:
    """`count` occurrences seen over `window`, as occurrences a month (30 days)."""
    return count * 30 * 86_400 / window.total_seconds()


# Recurring runs.


def _merged(routines: Sequence[Routine]) -> list[tuple[Routine, list[int]]]:
    """Routines of one task at the same minute past the hour on the same days, as one (the first,
    most confident) with the hours of them all."""
    groups: dict[tuple[int, tuple[int, ...]], list[Routine]] = defaultdict(list)
    for routine in routines:
        groups[(routine.minute_of_day % 60, routine.weekdays)].append(routine)
    merged = []
    for group in groups.values():
        hours = sorted({r.minute_of_day // 60 for r in group})
        merged.append((group[0], hours if len(group) >= 3 else [group[0].minute_of_day // 60]))
        if len(group) < 3:
            merged.extend((r, [r.minute_of_day // 60]) for r in group[1:])
    return merged


def _cron(routine: Routine, hours: Sequence[int]) -> str:
    minute, _hour, *rest = routine.cron.split()
    return " ".join([minute, ",".join(str(h) for h in hours), *rest])


def _scheduled(history: History, agent_id: str, cron: str) -> bool:
    return any(
        field_of(s, "agent_id") == agent_id
        and field_of(s, "cron_expression") == cron
        and field_of(s, "timezone") == history.zone
        for s in history.schedules
    )


def _routines(history: History, now: datetime) -> list[tuple[dict[str, Any], Candidate | None]]:
    groups: dict[tuple[str, str], list[RunSeen]] = defaultdict(list)
    for run in history.runs:
        if run.source_type in MANUAL_SOURCES:
            groups[(run.agent_id, task_key(run.task))].append(run)
    names = _names(history)
    found = []
    for (agent_id, key), runs in groups.items():
        if len(runs) < 5:
            continue
        # Fires are back-tested from the day the activity was first seen, not before it began.
        window = _observed(history, now, runs[0].created_at)
        days = window.total_seconds() / 86_400
        routines = recurring_times([r.created_at for r in runs], history.zone, now, window_days=days)
        for routine, hours in _merged(routines):
            found.append(_routine_found(history, agent_id, key, runs, routine, hours, names, window))
    return found


def _routine_found(
    history: History,
    agent_id: str,
    key: str,
    runs: Sequence[RunSeen],
    routine: Routine,
    hours: Sequence[int],
    names: Mapping[str, str],
    window: timedelta,
) -> tuple[dict[str, Any], Candidate | None]:
    cron = _cron(routine, hours)
    name = names.get(agent_id, agent_id)
    task = Counter(r.task for r in runs).most_common(1)[0][0]
    evidence = _run_evidence([runs[i].id for i in routine.evidence], routine.matched_activities)
    at = ", ".join(f"{h:02d}:{routine.minute_of_day % 60:02d}" for h in hours)
    statistics = {
        "cron": cron,
        "timezone": history.zone,
        **{
            k: getattr(routine, k)
            for k in ("mean_time", "earliest", "latest", "spread_minutes", "rayleigh_p")
        },
        **{
            k: getattr(routine, k)
            for k in ("occurrences", "days_seen", "days_expected", "precision", "recall")
        },
        **{k: getattr(routine, k) for k in ("fires", "matched_fires", "tolerance_minutes", "confidence")},
    }
    subject = f"agent:{agent_id}|task:{key}"
    pid = pattern_id(history.workspace_id, f"recurring|{subject}|{cron}")
    why = routine.describe(name) + "."
    found = pattern(pid, "recurring_time", subject, why, statistics, evidence)
    if _scheduled(history, agent_id, cron) or agent_id not in names:
        return found, None
    body = {
        "name": f"{name} {routine.days_text} at {at}"[:200],
        "workspace_id": history.workspace_id,
        "agent_id": agent_id,
        "task_description": task,
        "cron_expression": cron,
        "timezone": history.zone,
    }
    candidate = Candidate(
        workspace_id=history.workspace_id,
        kind="schedule",
        fingerprint=f"schedule|{subject}|{cron}|{history.zone}",
        subject=subject,
        title=f"Schedule {name} {routine.days_text} at {at} ({history.zone})",
        why=why,
        evidence=evidence,
        confidence=routine.confidence,
        impact=_a_month(routine.fires * len(hours), window),
        request=SuggestedRequest(method="POST", path="/api/proactive/schedules", body=body),
        pattern_id=pid,
        backtest={k: statistics[k] for k in ("precision", "recall", "fires", "matched_fires", "days_seen")},
    )
    return found, candidate


# Runs that follow events.


def _events(history: History) -> tuple[list[tuple[datetime, str, Mapping[str, Any]]], list[str]]:
    """Recorded events, and the ends of the runs nobody started by hand, as (time, type, payload),
    with their ids."""
    events: list[tuple[datetime, str, Mapping[str, Any]]] = []
    ids: list[str] = []
    for event in history.events:
        events.append((event.at, event.type, event.metadata))
        ids.append(event.id)
    for run in history.runs:
        if run.source_type not in MANUAL_SOURCES and run.status in ("failed", "succeeded"):
            payload = {"agent_id": run.agent_id, "source_type": run.source_type, "source_id": run.source_id}
            events.append((run.created_at, f"run.{run.status}", payload))
            ids.append(run.id)
    return events, ids


def _followed(history: History, now: datetime) -> list[tuple[dict[str, Any], Candidate | None]]:
    events, ids = _events(history)
    if not events:
        return []
    by_agent: dict[str, list[RunSeen]] = defaultdict(list)
    for run in history.runs:
        if run.source_type in MANUAL_SOURCES:
            by_agent[run.agent_id].append(run)
    names = _names(history)
    found = []
    first_event = min(e[0] for e in events)
    for agent_id, runs in by_agent.items():
        if len(runs) < 5:
            continue
        times = [r.created_at for r in runs]
        # Chance is measured over the time both were seen, not before either began.
        window = _observed(history, now, max(first_event, runs[0].created_at))
        for assoc in associations(events, times, max_delay=FOLLOW_WITHIN, now=now, window=window):
            found.append(_association_found(history, agent_id, runs, assoc, events, ids, names, window))
    return found


def jmespath_equality(field: str, value: Any) -> str:
    """`field == value` as a trigger's JMESPath filter."""
    name = field if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", field) else '"' + field.replace('"', '\\"') + '"'
    if isinstance(value, str):
        return f"{name} == '" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return f"{name} == `{str(value).lower() if isinstance(value, bool) else value}`"


def _trigger_body(
    history: History, agent_id: str, name: str, task: str, assoc: Association
) -> dict[str, Any]:
    config: dict[str, Any]
    chosen = assoc.filter
    if assoc.event_type.startswith("run."):
        config = {"event": assoc.event_type}
        if chosen is not None and chosen.field in ("source_type", "source_id"):
            config[chosen.field] = chosen.value
            chosen = None
    else:
        config = {"recorded_event": assoc.event_type}
    return {
        "name": f"{name} after {assoc.event_type}"[:200],
        "workspace_id": history.workspace_id,
        "trigger_type": "event",
        "config": config,
        "agent_id": agent_id,
        "task_template": task,
        "filter": None if chosen is None else jmespath_equality(chosen.field, chosen.value),
    }


def _covered(history: History, agent_id: str, body: Mapping[str, Any]) -> bool:
    return any(
        field_of(t, "agent_id") == agent_id and field_of(t, "config") == body["config"]
        for t in history.triggers
    )


def _association_found(
    history: History,
    agent_id: str,
    runs: Sequence[RunSeen],
    assoc: Association,
    events: Sequence[tuple[datetime, str, Mapping[str, Any]]],
    ids: Sequence[str],
    names: Mapping[str, str],
    window: timedelta,
) -> tuple[dict[str, Any], Candidate | None]:
    name = names.get(agent_id, agent_id)
    task = Counter(r.task for r in runs).most_common(1)[0][0].replace("{", "{{").replace("}", "}}")
    evidence_ids = [ids[i] for i in (assoc.filter.evidence if assoc.filter else assoc.evidence)]
    evidence = Evidence(events=list(reversed(evidence_ids))[:MAX_EVIDENCE], count=len(evidence_ids))
    subject = f"agent:{agent_id}|after:{assoc.event_type}"
    why = assoc.describe(name) + "."
    statistics: dict[str, Any] = {
        "event_type": assoc.event_type,
        **{
            k: getattr(assoc, k)
            for k in ("events", "followed", "rate", "confidence", "chance", "lift", "p_value")
        },
        "median_delay_seconds": assoc.median_delay.total_seconds(),
        "delay_spread_seconds": assoc.delay_spread.total_seconds(),
        "filter": None
        if assoc.filter is None
        else {"field": assoc.filter.field, "value": assoc.filter.value},
    }
    pid = pattern_id(history.workspace_id, f"followed|{subject}")
    found = pattern(pid, "followed_by_run", subject, why, statistics, evidence)
    body = _trigger_body(history, agent_id, name, task, assoc)
    if _covered(history, agent_id, body) or agent_id not in names:
        return found, None
    confidence = max(assoc.confidence, assoc.filter.confidence if assoc.filter else 0.0)
    followed = assoc.filter.followed if assoc.filter else assoc.followed
    candidate = Candidate(
        workspace_id=history.workspace_id,
        kind="trigger",
        fingerprint=f"trigger|{subject}|{body['filter']}|{sorted(body['config'].items())}",
        subject=subject,
        title=f"Run {name} when {assoc.event_type} happens"
        + (f" ({assoc.filter.text})" if assoc.filter else ""),
        why=why,
        evidence=evidence,
        confidence=confidence,
        impact=_a_month(followed, window),
        request=SuggestedRequest(method="POST", path="/api/proactive/triggers", body=body),
        pattern_id=pid,
        backtest={k: statistics[k] for k in ("events", "followed", "rate", "lift", "median_delay_seconds")},
    )
    return found, candidate


# Metrics with anomalies.


def _monitor_agent(history: History) -> str | None:
    """Who a suggested monitor starts: the workspace's default agent, else the one run most."""
    default = history.settings.get("default_agent_id")
    if default:
        return str(default)
    counts = Counter(r.agent_id for r in history.runs)
    known = {str(a["id"]) for a in history.agents}
    return next((a for a, _ in counts.most_common() if a in known), None)


def _metrics(history: History, now: datetime) -> list[tuple[dict[str, Any], Candidate | None]]:
    failures = [r.created_at for r in history.runs if r.status == "failed"]
    agent_id = _monitor_agent(history)
    found = []
    window = min(timedelta(days=30), history.until - history.since)
    for metric, points in history.metrics.items():
        threshold = threshold_for(points)
        if threshold is None:
            continue
        test = backtest_threshold(points, threshold, failures, now=now, window=window, lead=MONITOR_LEAD)
        if test.fire_count == 0:
            continue
        found.append(_metric_found(history, metric, threshold, test, agent_id))
    return found


def _metric_found(
    history: History, metric: str, threshold: Any, test: Any, agent_id: str | None
) -> tuple[dict[str, Any], Candidate | None]:
    operator = ">" if threshold.direction == "above" else "<"
    value = float(f"{threshold.value:.6g}")
    why = test.describe(metric) + "."
    statistics = {
        "threshold": value,
        "direction": threshold.direction,
        "median": threshold.median,
        "scale": threshold.scale,
        "points": threshold.points,
        "fires": test.fire_count,
        "fires_before_failure": test.warning_count,
        "failures": test.failures,
        "failures_warned": test.failures_warned,
        "window_days": test.window.days,
    }
    subject = f"metric:{metric}"
    pid = pattern_id(history.workspace_id, f"anomalies|{subject}")
    evidence = Evidence(metric=metric, count=test.fire_count)
    found = pattern(pid, "metric_anomalies", subject, why, statistics, evidence)
    if metric in history.watched_metrics:
        return found, None
    body = {
        "name": f"{metric} {operator} {value:g}"[:200],
        "workspace_id": history.workspace_id,
        "agent_id": agent_id,
        "source": {
            "type": "series",
            "metric_name": metric,
            "aggregation": "max" if operator == ">" else "min",
        },
        "condition": f"value {operator} {value!r}",
        "action": f"{metric} is {{value}}, beyond its usual range (median {threshold.median:.6g}): "
        "find out why",
        "check_interval": 300,
    }
    candidate = Candidate(
        workspace_id=history.workspace_id,
        kind="monitor",
        fingerprint=f"monitor|{subject}|{operator}",
        subject=subject,
        title=f"Watch {metric}: tell an agent when it goes {threshold.direction} {value:g}",
        why=why,
        evidence=evidence,
        confidence=_monitor_confidence(test),
        impact=test.fire_count,
        request=SuggestedRequest(
            method="POST",
            path="/api/proactive/monitors",
            body=body,
            needs=[] if agent_id else ["agent_id"],
        ),
        pattern_id=pid,
        backtest={k: statistics[k] for k in ("fires", "fires_before_failure", "failures", "window_days")},
    )
    return found, candidate


def _monitor_confidence(test: Any) -> float:
    """Anomalies alone are worth a look (0.3); fires that came before failures make the monitor
    worth having: plus 0.7 times the Wilson lower bound of that share."""
    return 0.3 + 0.7 * wilson_lower_bound(int(test.warning_count), int(test.fire_count))
