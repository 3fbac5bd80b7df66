"""What one monitor check concludes, decided apart from any I/O.

Given the monitor as it stood and what its source answered, `checked` decides whether the
condition holds, whether the monitor fires (on the false-to-true edge, or again once `cooldown`
seconds have passed since the last fire), what the check and the monitor record, and whether the
monitor recovers from `failing`. `failed` decides the same for a check that could not read its
source: after `failure_threshold` failures in a row the monitor is `failing`. The worker
(`proactive.monitors.checks`) reads, asks, and writes what the verdict says.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from proactive import events
from proactive.clock import iso
from proactive.ids import occurrence_run_id
from proactive.lib.expressions import Expression, ExpressionError
from proactive.lib.templates import TemplateError, render
from proactive.models.monitors import MonitorRecord
from proactive.store.values import UnstorableValue, storable

# The most a check keeps of what it read (the value and the named values, as JSON). The check,
# the monitor (`last_value`) and a fired run's payload each hold a copy, and an item holds 400 KB.
MAX_VALUE_BYTES = 64 * 1024
# The most of an error a check and its monitor keep.
MAX_ERROR_CHARS = 2000


class SourceError(Exception):
    """The source answered, but not with a usable value."""


@dataclass(frozen=True)
class Fire:
    """The run a firing monitor starts: its id (derived from the check), task and payload."""

    run_id: str
    task: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    """What a check concluded. `check`: what the check records (its status among it); `monitor`:
    the changes to the monitor, with any event they publish; `add`: counters to increase on the
    monitor; `fire`: the run to start, if the monitor fires; `error`: why the check failed."""

    check: dict[str, Any]
    monitor: dict[str, Any]
    add: dict[str, int] | None = None
    fire: Fire | None = None
    error: str | None = None


def change_pct(value: Any, previous: Any) -> float | None:
    """The change from `previous` to `value` in percent; None unless both are numbers and
    `previous` is not zero, or when the change is too large for a float."""
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (value, previous))
    if not numeric or previous == 0:
        return None
    try:
        change = round((value - previous) / abs(previous) * 100, 6)
    except OverflowError:
        return None
    return float(change) if math.isfinite(change) else None


def storable_values(value: Any, named: Mapping[str, Any]) -> None:
    """Refuse (SourceError), before anything fires, a value the check's record could not hold."""
    try:
        storable(value, "value")
        storable(dict(named), "values")
    except UnstorableValue as exc:
        raise SourceError(f"the source's {exc.message}") from None
    size = len(json.dumps({"value": value, "values": dict(named)}, default=str).encode())
    if size > MAX_VALUE_BYTES:
        raise SourceError(
            f"the source's value is {size:,} bytes as JSON; a check keeps at most {MAX_VALUE_BYTES:,}: "
            "make the source's `select` pick only what the condition needs"
        )


def fires(monitor: MonitorRecord, met: bool, now: datetime) -> bool:
    """Whether a check whose condition is `met` fires: on the false-to-true edge, or while it
    stays true once `cooldown` seconds (if set) have passed since the last fire."""
    if not met:
        return False
    if not monitor.condition_met:
        return True
    cooldown, last = monitor.cooldown, monitor.last_triggered
    return cooldown is not None and last is not None and now - last >= timedelta(seconds=cooldown)


def failed(monitor: MonitorRecord, error: str, now: datetime, failure_threshold: int) -> Verdict:
    """A check that failed with `error`: the monitor is `failing` from the `failure_threshold`th
    failure in a row, publishing `monitor.failing` when it becomes so."""
    failures = monitor.consecutive_failures + 1
    state = "failing" if failures >= failure_threshold else monitor.state
    changes: dict[str, Any] = {
        "last_check": iso(now),
        "consecutive_failures": failures,
        "last_error": error[:MAX_ERROR_CHARS],
        "state": state,
    }
    if state == "failing" and monitor.state != "failing":
        changes.update(events.pending(events.MONITOR_FAILING))
    check = {"status": "error", "checked_at": iso(now), "error": error[:MAX_ERROR_CHARS]}
    return Verdict(check=check, monitor=changes, error=error)


def checked(
    monitor: MonitorRecord,
    check_id: str,
    value: Any,
    named: Mapping[str, Any],
    now: datetime,
    failure_threshold: int,
) -> Verdict:
    """The verdict on what the source answered (`value`, and the values it named): the condition
    over them plus `previous` and `change_pct`, whether the monitor fires and with what task, and
    a recovery from `failing`. A value too large to keep, a condition that cannot be evaluated or
    an action that cannot be filled in makes it a failed check."""
    previous = monitor.last_value
    pct = change_pct(value, previous)
    names = {**named, "value": value, "previous": previous, "change_pct": pct}
    try:
        storable_values(value, named)
        met = Expression(monitor.condition).evaluate(names)
    except (SourceError, ExpressionError) as exc:
        return failed(monitor, f"{exc}", now, failure_threshold)
    fire = None
    if fires(monitor, met, now):
        try:
            task = render(monitor.action, names)
        except TemplateError as exc:
            return failed(monitor, f"action: {exc}", now, failure_threshold)
        fire = Fire(occurrence_run_id(f"check#{check_id}"), task, names)
    check = {
        "status": "ok",
        "checked_at": iso(now),
        "value": value,
        "values": dict(named) or None,
        "previous": previous,
        "change_pct": pct,
        "condition_met": met,
        "fired": fire is not None,
        "run_id": fire.run_id if fire else None,
    }
    changes: dict[str, Any] = {
        "last_check": iso(now),
        "last_value": value,
        "condition_met": met,
        "state": "ok",
        "consecutive_failures": 0,
        "last_error": None,
    }
    if monitor.state == "failing":
        changes.update(events.pending(events.MONITOR_RECOVERED))
    if fire:
        changes["last_triggered"] = iso(now)
    return Verdict(check=check, monitor=changes, add={"trigger_count": 1} if fire else None, fire=fire)
