"""Monitors: check a value at an interval and start an agent when a condition becomes true.

This module keeps monitors (what to read, the condition, the action) and the values posted to
metric monitors; `proactive.monitors.checks` performs the checks, and what a check concludes is
decided in `proactive.monitors.verdict`.

The capability's other pieces: what the API accepts and shows in `proactive.models.monitors`;
monitors, their checks and posted values in the table in `proactive.store.monitors`; the routes
(`/api/proactive/monitors`) in `proactive.api.routes_monitors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, NoReturn

import jmespath
from jmespath.exceptions import JMESPathError

from proactive.agents import require_agent_in, require_agent_to_resume
from proactive.clock import iso
from proactive.errors import InvalidInput
from proactive.ids import new_id
from proactive.lib.expressions import Expression, ExpressionError
from proactive.lib.templates import TemplateError, render
from proactive.models.monitors import MetricValue, Monitor, MonitorCreate, MonitorRecord, MonitorUpdate
from proactive.notifications import targets
from proactive.observability import logger
from proactive.store import Store
from proactive.store.entities import modify

BUILTIN_NAMES = frozenset({"value", "previous", "change_pct"})


def _select_names(select: str) -> list[str]:
    """The names an object-valued `select` ({price: data.price, ...}) gives the condition."""
    parsed = jmespath.compile(select).parsed
    if parsed.get("type") == "multi_select_dict":
        return [str(child["value"]) for child in parsed["children"]]
    return []


def _validate(source: Mapping[str, Any], condition: str, action: str) -> None:
    names = set(BUILTIN_NAMES)
    if source["type"] == "series":
        names.add("anomaly_score")
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


def _missing_source(condition: str) -> NoReturn:
    """A monitor without a source cannot be checked: say so, and what else is wrong with it."""
    problems = [
        {
            "field": "source",
            "message": "source is required: where the value comes from, e.g. "
            '{"type": "http", "url": "https://api.example.com/quote/AAPL", "select": "data.price"} '
            'or {"type": "metric"} for values posted to the monitor',
        }
    ]
    try:
        Expression(condition).check_names(BUILTIN_NAMES)
    except ExpressionError as exc:
        problems.append({"field": "condition", "message": str(exc)})
    raise InvalidInput("; ".join(p["message"] for p in problems), field="source", details=problems)


def present(monitor: MonitorRecord) -> Monitor:
    """The monitor as the API shows it: with its next check while it is active."""
    return Monitor.model_validate(
        {**monitor.model_dump(), "next_check": monitor.next_fire_at if monitor.is_active else None}
    )


def get_monitor(store: Store, monitor_id: str, workspaces: frozenset[str]) -> MonitorRecord:
    return store.monitors.owned(monitor_id, workspaces)


def create_monitor(store: Store, data: MonitorCreate, now: datetime) -> MonitorRecord:
    if data.source is None:
        _missing_source(data.condition)
    source = data.source.model_dump()
    _validate(source, data.condition, data.action)
    require_agent_in(store, data.agent_id, data.workspace_id)
    first = now + timedelta(seconds=data.check_interval) if data.is_active else None
    monitor = MonitorRecord.model_validate(
        {
            **data.model_dump(),
            "notify": targets.check(store, data.notify, data.workspace_id),
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
            "next_fire_at": first,
            "created_at": now,
            "updated_at": now,
        }
    )
    # Stored with the fields given: a check takes the monitor only while it holds no `checking_id`.
    store.monitors.put_due(monitor.model_dump(exclude_unset=True), due_at=first)
    logger.info(
        "monitor created", extra={"monitor_id": monitor.id, "next_check": iso(first) if first else None}
    )
    return monitor


def update_monitor(
    store: Store,
    monitor_id: str,
    data: MonitorUpdate,
    workspaces: frozenset[str],
    now: datetime,
    *,
    reason: str | None = None,
) -> MonitorRecord:
    """Change a monitor; `reason` says why the platform paused it (none when a person did)."""
    requested = data.model_dump(exclude_unset=True)
    if data.source is not None:
        # A new source is whole, with its defaults (a window, an aggregation), as at creation.
        requested["source"] = data.source.model_dump()

    def write(current: MonitorRecord) -> MonitorRecord:
        changes = dict(requested)
        if "notify" in changes:
            changes["notify"] = targets.check(store, changes["notify"], current.workspace_id)
        merged = current.model_copy(update=changes)
        _validate(merged.source, merged.condition, merged.action)
        if "agent_id" in changes:
            require_agent_in(store, changes["agent_id"], current.workspace_id)
        elif merged.is_active and not current.is_active:
            require_agent_to_resume(store, current, "monitor")
        if "source" in changes or "condition" in changes:
            # A new question: the last answer says nothing about the next edge.
            changes.update({"condition_met": None, "last_value": None})
        changes["updated_at"] = now
        if "check_interval" in changes or (
            "is_active" in changes and changes["is_active"] != current.is_active
        ):
            due = now + timedelta(seconds=merged.check_interval) if merged.is_active else None
            changes["next_fire_at"] = due
            changes["paused_reason"] = None if merged.is_active else reason
            return store.monitors.reschedule(monitor_id, changes, due_at=due, expect_version=current.version)
        return store.monitors.update(monitor_id, changes, expect_version=current.version)

    return modify(lambda: get_monitor(store, monitor_id, workspaces), write, what=f"monitor {monitor_id!r}")


def set_active(
    store: Store,
    monitor_id: str,
    active: bool,
    workspaces: frozenset[str],
    now: datetime,
    *,
    reason: str | None = None,
) -> MonitorRecord:
    return update_monitor(store, monitor_id, MonitorUpdate(is_active=active), workspaces, now, reason=reason)


def delete_monitor(store: Store, monitor_id: str, workspaces: frozenset[str]) -> None:
    get_monitor(store, monitor_id, workspaces)
    store.monitors.delete(monitor_id)


def add_value(store: Store, monitor: MonitorRecord, data: MetricValue, now: datetime) -> None:
    if monitor.source["type"] != "metric":
        raise InvalidInput(
            f"this monitor reads a {monitor.source['type']} source; values can be posted only to a "
            "metric monitor",
            field="source",
        )
    store.metric_values.put(monitor.id, data.timestamp or now, data.value)
