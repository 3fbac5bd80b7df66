"""Monitors: check a value at an interval and start an agent when a condition becomes true.

A check reads the source (an HTTP JSON endpoint, or values posted to the monitor), evaluates the
condition over the named values plus `previous` and `change_pct`, and fires on the false-to-true
edge: not again while the condition stays true, unless `cooldown` seconds have passed since the
last fire. Checks are claimed per slot like schedule occurrences (exactly once), run in the
worker, never overlap for one monitor, and each is kept in the monitor's history.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from proactive import schedules
from proactive.agents import require_agent_in
from proactive.clock import iso, parse_iso
from proactive.errors import InvalidInput
from proactive.expressions import Expression, ExpressionError
from proactive.ids import new_id, occurrence_run_id
from proactive.models import MetricValue, MonitorCreate, MonitorUpdate, SourceType
from proactive.observability import logger, metrics
from proactive.outbound import OutboundError, fetch_json, parse_networks
from proactive.queue import RunMessage, RunQueue, delay_until
from proactive.runs import enqueue_new, new_run
from proactive.secret_store import SecretMissing, resolve
from proactive.settings import get_settings
from proactive.store import ConditionFailed, Store
from proactive.templates import TemplateError, render

BUILTIN_NAMES = frozenset({"value", "previous", "change_pct"})


class SourceError(Exception):
    """The source answered, but not with a usable value."""


def _select_names(select: str) -> list[str]:
    """The names an object-valued `select` ({price: data.price, ...}) gives the condition."""
    parsed = jmespath.compile(select).parsed
    if parsed.get("type") == "multi_select_dict":
        return [str(child["value"]) for child in parsed["children"]]
    return []


def _validate(source: Mapping[str, Any], condition: str, action: str) -> None:
    names = set(BUILTIN_NAMES)
    if source["type"] == "http":
        try:
            names |= set(_select_names(source["select"]))
        except JMESPathError as exc:
            raise InvalidInput(
                f"select is not a valid JMESPath expression: {exc}", field="source.select"
            ) from exc
    try:
        Expression(condition).check_names(names)
    except ExpressionError as exc:
        raise InvalidInput(str(exc), field="condition") from exc
    try:
        render(action, {n: 0 for n in names})
    except TemplateError as exc:
        raise InvalidInput(
            f"action: {exc}".replace("the payload has no field", "there is no value"), field="action"
        ) from exc


def present(monitor: Mapping[str, Any]) -> dict[str, Any]:
    shown = dict(monitor)
    shown["next_check"] = monitor.get("next_fire_at") if monitor.get("is_active") else None
    return shown


def get_monitor(store: Store, monitor_id: str, workspaces: frozenset[str]) -> dict[str, Any]:
    return store.owned("monitor", monitor_id, workspaces)


def create_monitor(store: Store, queue: RunQueue, data: MonitorCreate, now: datetime) -> dict[str, Any]:
    source = data.source.model_dump()
    _validate(source, data.condition, data.action)
    require_agent_in(store, data.agent_id, data.workspace_id)
    first = now + timedelta(seconds=data.check_interval) if data.is_active else None
    monitor = {
        **data.model_dump(),
        "source": source,
        "id": new_id("mon"),
        "state": "unknown",
        "consecutive_failures": 0,
        "last_error": None,
        "last_check": None,
        "last_value": None,
        "condition_met": None,
        "last_triggered": None,
        "trigger_count": 0,
        "next_fire_at": iso(first) if first else None,
        "created_at": iso(now),
        "updated_at": iso(now),
    }
    store.put_monitor(monitor, due_at=first)
    logger.info("monitor created", extra={"monitor_id": monitor["id"], "next_check": monitor["next_fire_at"]})
    return monitor


def update_monitor(
    store: Store, monitor_id: str, data: MonitorUpdate, workspaces: frozenset[str], now: datetime
) -> dict[str, Any]:
    current = get_monitor(store, monitor_id, workspaces)
    changes = data.model_dump(exclude_unset=True)
    merged = {**current, **changes}
    _validate(merged["source"], merged["condition"], merged["action"])
    if "agent_id" in changes:
        require_agent_in(store, changes["agent_id"], current["workspace_id"])
    if "source" in changes or "condition" in changes:
        # A new question: the last answer says nothing about the next edge.
        changes.update({"condition_met": None, "last_value": None})
    due: datetime | bool | None = False
    if "check_interval" in changes or (
        "is_active" in changes and changes["is_active"] != current["is_active"]
    ):
        due = now + timedelta(seconds=merged["check_interval"]) if merged["is_active"] else None
        changes["next_fire_at"] = iso(due) if due else None
    changes["updated_at"] = iso(now)
    return store.update_monitor(monitor_id, changes, due_at=due)


def set_active(
    store: Store, monitor_id: str, active: bool, workspaces: frozenset[str], now: datetime
) -> dict[str, Any]:
    return update_monitor(store, monitor_id, MonitorUpdate(is_active=active), workspaces, now)


def delete_monitor(store: Store, monitor_id: str, workspaces: frozenset[str]) -> None:
    get_monitor(store, monitor_id, workspaces)
    store.delete_monitor(monitor_id)


def add_value(store: Store, monitor: Mapping[str, Any], data: MetricValue, now: datetime) -> None:
    if monitor["source"]["type"] != "metric":
        raise InvalidInput(
            "this monitor reads an HTTP source; values can be posted only to a metric monitor", field="source"
        )
    measured = data.timestamp or now
    if measured.tzinfo is None:
        raise InvalidInput("timestamp needs a UTC offset (e.g. 2026-11-21T09:00:00Z)", field="timestamp")
    store.put_metric_value(
        monitor["id"], measured, data.value, retention_days=get_settings().metric_retention_days
    )


# Dispatch: one check per slot, exactly once


def check_id_for(monitor_id: str, slot: datetime) -> str:
    return "chk-" + occurrence_run_id(f"monitor#{monitor_id}#{iso(slot)}").removeprefix("run-")


def dispatch(
    store: Store,
    queue: RunQueue,
    monitor: Mapping[str, Any],
    now: datetime,
    *,
    wall_now: datetime | None = None,
) -> bool:
    """Claim the monitor's due check slot and queue the check. After downtime the stale slot is
    checked now, once, and the next slot follows the interval from there."""
    settings = get_settings()
    current = monitor.get("next_fire_at")
    if not monitor.get("is_active") or not current:
        return False
    slot = parse_iso(current)
    if slot > schedules.window_end(now):
        return False
    interval = timedelta(seconds=int(monitor["check_interval"]))
    check = {
        "id": check_id_for(monitor["id"], slot),
        "monitor_id": monitor["id"],
        "workspace_id": monitor["workspace_id"],
        "scheduled_for": iso(max(slot, now - timedelta(seconds=settings.missed_after_seconds))),
        "status": "queued",
    }
    created = store.create_check(check, retention_days=settings.check_retention_days)
    existing = created or (store.get_check(check["id"]) or {}).get("status") == "queued"
    if existing:
        delay = delay_until(slot, wall_now or now)
        queue.send([RunMessage(check_id=check["id"], delay_seconds=delay)])
    following = slot + interval
    while following <= now:
        following += interval
    try:
        store.update_monitor(
            monitor["id"], {"next_fire_at": iso(following)}, due_at=following, expect_next_fire_at=current
        )
    except ConditionFailed:
        logger.info("monitor changed during dispatch", extra={"monitor_id": monitor["id"]})
    return created


# Checking


def read_source(store: Store, monitor: Mapping[str, Any], now: datetime) -> tuple[Any, dict[str, Any]]:
    """(value, named values) from the monitor's source; raises OutboundError, SecretMissing or
    SourceError with a reason a user can act on."""
    settings = get_settings()
    source = monitor["source"]
    if source["type"] == "metric":
        window = int(source["window"])
        values = store.metric_values(monitor["id"], now - timedelta(seconds=window), now)
        aggregation = source["aggregation"]
        if aggregation == "count":
            return len(values), {}
        if not values:
            raise SourceError(f"no values were posted in the last {window} s")
        pick: dict[str, Callable[[list[float]], float]] = {
            "last": lambda v: v[-1],
            "avg": statistics.fmean,
            "max": max,
            "min": min,
            "sum": math.fsum,
        }
        return pick[aggregation](values), {}
    headers = {}
    for name, header in source.get("headers", {}).items():
        headers[name] = (
            header if isinstance(header, str) else header.get("prefix", "") + resolve(header["secret"])
        )
    data = fetch_json(
        source["url"],
        method=source.get("method", "GET"),
        headers=headers,
        timeout=settings.outbound_timeout_seconds,
        max_bytes=settings.outbound_max_response_bytes,
        allow=parse_networks(settings.outbound_allow_networks),
    )
    selected = jmespath.search(source["select"], data)
    if isinstance(selected, dict):
        if all(v is None for v in selected.values()):
            raise SourceError(f"select {source['select']!r} found nothing in the response")
        return next(iter(selected.values())), selected
    if selected is None:
        raise SourceError(f"select {source['select']!r} found nothing in the response")
    return selected, {}


def _change_pct(value: Any, previous: Any) -> float | None:
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (value, previous))
    if not numeric or previous == 0:
        return None
    return float(round((value - previous) / abs(previous) * 100, 6))


def run_check(store: Store, queue: RunQueue, check_id: str, now: datetime) -> dict[str, Any]:
    """Perform one queued check. Idempotent: a check that is no longer queued is left alone."""
    settings = get_settings()
    check = store.get_check(check_id)
    if check is None or check["status"] != "queued":
        return check or {"id": check_id, "status": "gone"}
    monitor = store.get_monitor(check["monitor_id"])
    if monitor is None or not monitor.get("is_active"):
        reason = "the monitor was deleted" if monitor is None else "the monitor is paused"
        return store.update_check(
            check_id, {"status": "skipped", "reason": reason, "checked_at": iso(now)}, only_if_status="queued"
        )
    hold = timedelta(seconds=settings.outbound_timeout_seconds * 2 + 30)
    try:
        store.lock_monitor(monitor["id"], check_id, now=now, until=now + hold)
    except ConditionFailed:
        return store.update_check(
            check_id,
            {
                "status": "skipped",
                "checked_at": iso(now),
                "reason": "the previous check of this monitor was still running",
            },
            only_if_status="queued",
        )
    try:
        value, named = read_source(store, monitor, now)
        previous = monitor.get("last_value")
        change_pct = _change_pct(value, previous)
        names = {**named, "value": value, "previous": previous, "change_pct": change_pct}
        met = Expression(monitor["condition"]).evaluate(names)
    except (OutboundError, SecretMissing, SourceError, ExpressionError) as exc:
        return _failed(store, monitor, check_id, now, f"{exc}")
    fire = met and (
        not monitor.get("condition_met")
        or (
            monitor.get("cooldown") is not None
            and monitor.get("last_triggered") is not None
            and now - parse_iso(monitor["last_triggered"]) >= timedelta(seconds=int(monitor["cooldown"]))
        )
    )
    run_id = None
    if fire:
        try:
            task = render(monitor["action"], names)
        except TemplateError as exc:
            return _failed(store, monitor, check_id, now, f"action: {exc}")
        run = new_run(
            run_id=occurrence_run_id(f"check#{check_id}"),
            workspace_id=monitor["workspace_id"],
            agent_id=monitor["agent_id"],
            task=task,
            source_type=SourceType.MONITOR,
            source_id=monitor["id"],
            now=now,
            check_id=check_id,
        )
        enqueue_new(store, queue, run, now)
        run_id = run["id"]
        logger.info(
            "monitor fired", extra={"monitor_id": monitor["id"], "check_id": check_id, "run_id": run_id}
        )
    result = store.update_check(
        check_id,
        {
            "status": "ok",
            "checked_at": iso(now),
            "value": value,
            "values": named or None,
            "previous": previous,
            "change_pct": change_pct,
            "condition_met": met,
            "fired": bool(fire),
            "run_id": run_id,
        },
        only_if_status="queued",
    )
    changes: dict[str, Any] = {
        "last_check": iso(now),
        "last_value": value,
        "condition_met": met,
        "state": "ok",
        "consecutive_failures": 0,
        "last_error": None,
    }
    if fire:
        changes["last_triggered"] = iso(now)
    store.unlock_monitor(monitor["id"], check_id, changes, add={"trigger_count": 1} if fire else None)
    metrics.add_metric(name="MonitorChecks", unit="Count", value=1)
    return result


def _failed(
    store: Store, monitor: Mapping[str, Any], check_id: str, now: datetime, error: str
) -> dict[str, Any]:
    """Record a failed check; after `monitor_failure_threshold` in a row the monitor is failing."""
    failures = int(monitor.get("consecutive_failures") or 0) + 1
    threshold = get_settings().monitor_failure_threshold
    state = "failing" if failures >= threshold else monitor.get("state", "unknown")
    result = store.update_check(
        check_id, {"status": "error", "checked_at": iso(now), "error": error[:2000]}, only_if_status="queued"
    )
    store.unlock_monitor(
        monitor["id"],
        check_id,
        {
            "last_check": iso(now),
            "consecutive_failures": failures,
            "last_error": error[:2000],
            "state": state,
        },
    )
    logger.warning(
        "monitor check failed",
        extra={
            "monitor_id": monitor["id"],
            "check_id": check_id,
            "error": error,
            "consecutive_failures": failures,
        },
    )
    metrics.add_metric(name="MonitorCheckErrors", unit="Count", value=1)
    return result


def check_now(store: Store, queue: RunQueue, monitor: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """`POST /{id}/check`: a check outside the schedule, performed at once."""
    check = {
        "id": new_id("chk"),
        "monitor_id": monitor["id"],
        "workspace_id": monitor["workspace_id"],
        "scheduled_for": iso(now),
        "status": "queued",
    }
    store.create_check(check, retention_days=get_settings().check_retention_days)
    return run_check(store, queue, check["id"], now)
