"""A scheduled occurrence's hold on its schedule's slot.

An occurrence of a schedule (a run with an `occurrence_key`) takes its schedule's slot before its
attempt, so a paused or deleted schedule stops it, and with `overlap: skip` (the default) a run of
the schedule still going does too: the occurrence is then cancelled with the reason. A run that
finished without giving its slot back (its lease lapsed before the next occurrence) loses it to
the next occurrence.
"""

from __future__ import annotations

from datetime import datetime

from proactive.events import Bus
from proactive.models.runs import FINAL_STATUSES, RunRecord, RunStatus
from proactive.models.schedules import ScheduleRecord
from proactive.queue import RunQueue
from proactive.runs.records import finish
from proactive.store import ConditionFailed, Store


def occurrence_slot(run: RunRecord) -> tuple[str | None, bool]:
    """The schedule whose slot a run must take before its attempt (None: not a scheduled
    occurrence), and whether it takes the slot alone (overlap=skip, the default)."""
    slot_of = run.source_id if run.occurrence_key else None
    return slot_of, slot_of is not None and run.overlap == "skip"


def take(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    run: RunRecord,
    slot_of: str,
    exclusive: bool,
    now: datetime,
    lease_until: datetime,
) -> RunRecord | None:
    """Take the schedule's slot for the run; None when taken, else the occurrence as cancelled."""
    try:
        store.schedules.take_slot(slot_of, run.id, now=now, lease_until=lease_until, exclusive=exclusive)
    except ConditionFailed:
        schedule = store.schedules.get(slot_of)
        if not (exclusive and _take_from_finished(store, schedule, run.id, now, lease_until)):
            return _cancel_occurrence(store, queue, bus, run, now, schedule)
    return None


def held_elsewhere(store: Store, run_id: str, now: datetime) -> bool:
    """Whether another delivery's attempt of the run is going on (it holds the run's lease)."""
    run = store.runs.get(run_id)
    return (
        run is not None and run.status == "running" and run.lease_until is not None and run.lease_until > now
    )


def _take_from_finished(
    store: Store, schedule: ScheduleRecord | None, run_id: str, now: datetime, lease_until: datetime
) -> bool:
    """Take the schedule's slot from the run holding it if that run has finished (a run does not
    release a slot whose lease lapses before the next occurrence); False if the slot is held by
    a run still going, or the schedule is paused or gone."""
    holder = schedule.active_run_id if schedule is not None else None
    if schedule is None or not schedule.is_active or not holder or holder == run_id:
        return False
    holding = store.runs.get(holder)
    if holding is not None and holding.status not in FINAL_STATUSES:
        return False
    try:
        store.schedules.take_slot(
            schedule.id, run_id, now=now, lease_until=lease_until, exclusive=True, replacing=holder
        )
    except ConditionFailed:
        return False
    return True


def _cancel_occurrence(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    run: RunRecord,
    now: datetime,
    schedule: ScheduleRecord | None,
) -> RunRecord:
    """Record why a scheduled occurrence could not take its schedule's slot (`schedule` as read
    after it could not)."""
    if schedule is None:
        reason = "the schedule was deleted before this occurrence ran"
    elif not schedule.is_active:
        reason = "the schedule was paused before this occurrence ran"
    else:
        reason = f"skipped by overlap=skip: run {schedule.active_run_id} of this schedule was still running"
    return finish(store, queue, bus, run, RunStatus.CANCELLED, now, reason=reason)
