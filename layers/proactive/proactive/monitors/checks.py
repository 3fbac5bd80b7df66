"""Monitor checks: claimed per slot exactly once (like schedule occurrences), performed in the
worker, never overlapping for one monitor, each kept in the monitor's history.

A check reads the source (an HTTP JSON endpoint, or values posted to the monitor), evaluates the
condition over the named values plus `previous` and `change_pct`, and fires on the false-to-true
edge: not again while the condition stays true, unless `cooldown` seconds have passed since the
last fire. A check that fails is recorded with its reason; after `monitor_failure_threshold`
failures in a row the monitor is `failing` (`monitor.failing`), and the next good check
publishes `monitor.recovered`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import jmespath

from proactive.clock import iso
from proactive.events import Bus
from proactive.ids import derived_id, new_id
from proactive.models.monitors import CheckRecord, MonitorRecord
from proactive.models.runs import SourceType
from proactive.monitors import verdict
from proactive.monitors.verdict import SourceError
from proactive.observability import logger, metrics
from proactive.outbound import OutboundError, fetch_json, parse_networks
from proactive.queue import Message, RunQueue, delay_until
from proactive.runs import enqueue_new, new_run
from proactive.schedules import window_end
from proactive.secret_store import SecretMissing, resolve
from proactive.settings import get_settings
from proactive.store import ConditionFailed, Store


def check_id_for(monitor_id: str, slot: datetime) -> str:
    return derived_id("chk", f"monitor#{monitor_id}#{iso(slot)}")


def dispatch(
    store: Store,
    queue: RunQueue,
    monitor: MonitorRecord,
    now: datetime,
    *,
    wall_now: datetime | None = None,
) -> bool:
    """Claim the monitor's due check slot and queue the check. After downtime the stale slot is
    checked now, once, and the next slot follows the interval from there."""
    settings = get_settings()
    slot = monitor.next_fire_at
    if not monitor.is_active or slot is None:
        return False
    if slot > window_end(now):
        return False
    interval = timedelta(seconds=monitor.check_interval)
    check = CheckRecord(
        id=check_id_for(monitor.id, slot),
        monitor_id=monitor.id,
        workspace_id=monitor.workspace_id,
        scheduled_for=max(slot, now - timedelta(seconds=settings.missed_after_seconds)),
        status="queued",
    )
    created = store.checks.create(check)
    claimed = None if created else store.checks.get(check.id)
    if created or (claimed is not None and claimed.status == "queued"):
        queue.send([Message("check", check.id, delay_until(slot, wall_now or now))])
    following = slot + interval
    while following <= now:
        following += interval
    try:
        store.monitors.reschedule(
            monitor.id, {"next_fire_at": following}, due_at=following, expect_next_fire_at=iso(slot)
        )
    except ConditionFailed:
        logger.info("monitor changed during dispatch", extra={"monitor_id": monitor.id})
    return created


def read_source(store: Store, monitor: MonitorRecord, now: datetime) -> tuple[Any, dict[str, Any]]:
    """(value, named values) from the monitor's source; raises OutboundError, SecretMissing or
    SourceError with a reason a user can act on."""
    settings = get_settings()
    source = monitor.source
    if source["type"] in ("metric", "series"):
        window = int(source["window"])
        since = now - timedelta(seconds=window)
        named: dict[str, Any] = {}
        if source["type"] == "metric":
            values = store.metric_values.between(monitor.id, since, now)
        else:
            points = store.metrics.newest(
                monitor.workspace_id, source["metric_name"], iso(since), iso(now), limit=MAX_SERIES_POINTS
            )
            values = [float(p["value"]) for p in points]
            named["anomaly_score"] = max((float(p["anomaly_score"]) for p in points), default=0.0)
        aggregation = source["aggregation"]
        if aggregation == "count":
            return len(values), named
        if not values:
            what = (
                "values were posted" if source["type"] == "metric" else f"{source['metric_name']} points came"
            )
            raise SourceError(f"no {what} in the last {window} s")
        pick: dict[str, Callable[[list[float]], float]] = {
            "last": lambda v: v[-1],
            "avg": statistics.fmean,
            "max": max,
            "min": min,
            "sum": math.fsum,
        }
        return pick[aggregation](values), named
    headers = {}
    for name, header in source.get("headers", {}).items():
        # A secret of the monitor's own workspace: the name is the monitor's, so is the workspace.
        headers[name] = (
            header
            if isinstance(header, str)
            else header.get("prefix", "") + resolve(monitor.workspace_id, header["secret"])
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


# A series source reads at most this many points of its window (the newest are the ones kept
# when a window holds more: a check looks at what just happened).
MAX_SERIES_POINTS = 5000


def run_check(store: Store, queue: RunQueue, bus: Bus, check_id: str, now: datetime) -> dict[str, Any]:
    """Perform one queued check (see `perform`); what it recorded, as stored."""
    check = perform(store, queue, bus, check_id, now)
    return check.as_stored() if check is not None else {"id": check_id, "status": "gone"}


def perform(store: Store, queue: RunQueue, bus: Bus, check_id: str, now: datetime) -> CheckRecord | None:
    """Perform one queued check; the check as it is now, or None if there is none. Idempotent: a
    check that is no longer queued is left alone (but for events its monitor still has to
    deliver)."""
    settings = get_settings()
    check = store.checks.get(check_id)
    if check is None or check.status != "queued":
        monitor = store.monitors.get(check.monitor_id) if check else None
        if monitor is not None:
            bus.flush(store, queue, store.monitors, monitor, now)
        return check
    monitor = store.monitors.get(check.monitor_id)
    if monitor is None or not monitor.is_active:
        reason = "the monitor was deleted" if monitor is None else "the monitor is paused"
        return _skip(store, check_id, now, reason)
    hold = timedelta(seconds=settings.outbound_timeout_seconds * 2 + 30)
    try:
        monitor = store.monitors.lock(monitor.id, check_id, now=now, until=now + hold)
    except ConditionFailed:
        return _skip(store, check_id, now, "the previous check of this monitor was still running")
    bus.flush(store, queue, store.monitors, monitor, now)
    threshold = settings.monitor_failure_threshold
    try:
        value, named = read_source(store, monitor, now)
    except (OutboundError, SecretMissing, SourceError) as exc:
        return _record(
            store, queue, bus, monitor, check_id, now, verdict.failed(monitor, f"{exc}", now, threshold)
        )
    return _record(
        store,
        queue,
        bus,
        monitor,
        check_id,
        now,
        verdict.checked(monitor, check_id, value, named, now, threshold),
    )


def _skip(store: Store, check_id: str, now: datetime, reason: str) -> CheckRecord:
    return store.checks.update(
        check_id, {"status": "skipped", "reason": reason, "checked_at": iso(now)}, only_if_status="queued"
    )


def _record(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    monitor: MonitorRecord,
    check_id: str,
    now: datetime,
    outcome: verdict.Verdict,
) -> CheckRecord:
    """Do what the check's verdict says: start the run it fires, record the check and the
    monitor's outcome, release the monitor, and deliver any event it published."""
    if outcome.fire is not None:
        run = new_run(
            run_id=outcome.fire.run_id,
            workspace_id=monitor.workspace_id,
            agent_id=monitor.agent_id,
            task=outcome.fire.task,
            source_type=SourceType.MONITOR,
            source_id=monitor.id,
            now=now,
            check_id=check_id,
            payload=outcome.fire.payload,
            source_name=monitor.name,
            source_notify=monitor.notify,
        )
        enqueue_new(store, queue, bus, run, now)
        logger.info("monitor fired", extra={"monitor_id": monitor.id, "check_id": check_id, "run_id": run.id})
    result = store.checks.update(check_id, outcome.check, only_if_status="queued")
    updated = store.monitors.unlock(monitor.id, check_id, outcome.monitor, add=outcome.add)
    if updated is not None:
        bus.flush(store, queue, store.monitors, updated, now)
    if outcome.error is None:
        metrics.add_metric(name="MonitorChecks", unit="Count", value=1)
        return result
    logger.warning(
        "monitor check failed",
        extra={
            "monitor_id": monitor.id,
            "check_id": check_id,
            "error": outcome.error,
            "consecutive_failures": outcome.monitor["consecutive_failures"],
        },
    )
    metrics.add_metric(name="MonitorCheckErrors", unit="Count", value=1)
    return result


def check_now(store: Store, queue: RunQueue, bus: Bus, monitor: MonitorRecord, now: datetime) -> CheckRecord:
    """`POST /{id}/check`: a check outside the schedule, performed at once."""
    check = CheckRecord(
        id=new_id("chk"),
        monitor_id=monitor.id,
        workspace_id=monitor.workspace_id,
        scheduled_for=now,
        status="queued",
    )
    store.checks.create(check)
    return perform(store, queue, bus, check.id, now) or check


def requeue(check: Mapping[str, Any], now: datetime) -> Message | None:
    """A check still queued when its queue was lost (the local stack's restart) is queued again."""
    return Message("check", str(check["id"])) if check.get("status") == "queued" else None
