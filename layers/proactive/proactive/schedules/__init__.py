"""Cron schedules: CRUD, and handing each occurrence to the run queue exactly once.

Both the dispatcher (every tick) and the API (when a schedule is saved close to its next
fire time) call `dispatch`, which is idempotent: an occurrence's run id is derived from
(schedule, fire time), so creating it is the claim. Which due occurrences run and which are
recorded as missed after downtime is the catch-up rule, in `proactive.schedules.catchup`.

The capability's other pieces: what the API accepts and shows in `proactive.models.schedules`;
schedules in the table, with their place in the due index, in `proactive.store.schedules`; the
routes (`/api/proactive/schedules`) in `proactive.api.routes_schedules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from proactive import events
from proactive.agents import require_agent_in, require_agent_to_resume
from proactive.clock import iso, utcnow
from proactive.errors import InvalidInput
from proactive.events import Bus
from proactive.ids import new_id, occurrence_run_id
from proactive.lib.cron import CronError, CronSchedule, load_zone
from proactive.models.runs import RunRecord, RunStatus, SourceType
from proactive.models.schedules import Schedule, ScheduleCreate, ScheduleRecord, ScheduleUpdate
from proactive.notifications import targets
from proactive.observability import logger
from proactive.queue import Message, QueueError, RunQueue, delay_until, run_message
from proactive.runs import enqueue_new, new_run
from proactive.schedules import catchup
from proactive.settings import get_settings
from proactive.store import ConditionFailed, Store
from proactive.store.entities import modify


def timing(expression: str, timezone: str) -> CronSchedule:
    """Validate cron and zone, naming the field at fault."""
    try:
        zone_check = CronSchedule("* * * * *", timezone)
    except CronError as exc:
        raise InvalidInput(str(exc), field="timezone") from exc
    try:
        return CronSchedule(expression, zone_check.timezone)
    except CronError as exc:
        raise InvalidInput(str(exc), field="cron_expression") from exc


# How many of its next fires a schedule shows (`upcoming`).
UPCOMING = 5


def checked_timing(expression: str, timezone: str) -> CronSchedule:
    """`timing`, naming every field at fault: when both the zone and the expression are wrong,
    the refusal's `details` hold both (its `field` and message begin with the first)."""
    problems = []
    zone = timezone
    try:
        load_zone(timezone)
    except CronError as exc:
        problems.append({"field": "timezone", "message": str(exc)})
        zone = "UTC"
    try:
        cron = CronSchedule(expression, zone)
    except CronError as exc:
        problems.append({"field": "cron_expression", "message": str(exc)})
    if problems:
        message = problems[0]["message"]
        if len(problems) > 1:
            message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise InvalidInput(message, field=problems[0]["field"], details=problems)
    return cron


def upcoming(schedule: ScheduleRecord, count: int, now: datetime) -> list[str]:
    """The next `count` fires of an active schedule (as `next_runs`), none while it is paused."""
    return next_runs(schedule, count, now) if schedule.is_active else []


def occurrence_key(schedule_id: str, fire_at: datetime) -> str:
    return f"schedule#{schedule_id}#{iso(fire_at)}"


def window_end(now: datetime) -> datetime:
    """Occurrences up to this instant are handed to the queue now (one tick ahead, plus a margin)."""
    settings = get_settings()
    return now + timedelta(seconds=settings.tick_seconds + settings.lookahead_margin_seconds)


def present(schedule: ScheduleRecord, now: datetime | None = None) -> Schedule:
    """The schedule as the API shows it: times in the schedule's own zone, and its next
    `UPCOMING` fires after `now` (none while paused)."""
    cron = CronSchedule(schedule.cron_expression, schedule.timezone)
    nxt = schedule.next_fire_at if schedule.is_active else None
    last = schedule.last_run
    return Schedule.model_validate(
        {
            **schedule.model_dump(),
            "next_run": cron.local(nxt).isoformat() if nxt else None,
            "last_run": cron.local(last).isoformat() if last else None,
            "upcoming": upcoming(schedule, UPCOMING, now or utcnow()),
        }
    )


def get_schedule(store: Store, schedule_id: str, workspaces: frozenset[str]) -> ScheduleRecord:
    return store.schedules.owned(schedule_id, workspaces)


def create_schedule(
    store: Store, queue: RunQueue, bus: Bus, data: ScheduleCreate, now: datetime
) -> ScheduleRecord:
    cron = timing(data.cron_expression, data.timezone)
    require_agent_in(store, data.agent_id, data.workspace_id)
    next_fire = cron.next_after(now) if data.is_active else None
    # Stored without a slot: a slot's attributes exist only while a run holds it.
    stored = {
        **data.model_dump(),
        "notify": targets.check(store, data.notify, data.workspace_id),
        "id": new_id("sched"),
        "cron_expression": cron.expression,
        "next_fire_at": iso(next_fire) if next_fire else None,
        "last_run": None,
        "last_run_id": None,
        "created_at": iso(now),
        "updated_at": iso(now),
    }
    schedule = ScheduleRecord.model_validate(stored)
    store.schedules.put_due(stored, due_at=next_fire)
    logger.info(
        "schedule created", extra={"schedule_id": schedule.id, "next_fire_at": stored["next_fire_at"]}
    )
    return _hand_off_if_due(store, queue, bus, schedule, now)


def update_schedule(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    schedule_id: str,
    data: ScheduleUpdate,
    workspaces: frozenset[str],
    now: datetime,
) -> ScheduleRecord:
    requested = data.model_dump(exclude_unset=True)
    retimed = False

    def write(current: ScheduleRecord) -> ScheduleRecord:
        nonlocal retimed
        changes = dict(requested)
        if "notify" in changes:
            changes["notify"] = targets.check(store, changes["notify"], current.workspace_id)
        timezone: str = changes.get("timezone", current.timezone)
        active = bool(changes.get("is_active", current.is_active))
        cron = timing(changes.get("cron_expression", current.cron_expression), timezone)
        changes["cron_expression"] = cron.expression
        if "agent_id" in changes:
            require_agent_in(store, changes["agent_id"], current.workspace_id)
        elif active and not current.is_active:
            require_agent_to_resume(store, current, "schedule")
        if (
            cron.expression != current.cron_expression
            or timezone != current.timezone
            or active != current.is_active
        ):
            retimed = True
            return _retime(store, current, changes, cron, active, now)
        retimed = False
        changes["updated_at"] = iso(now)
        return store.schedules.update(schedule_id, changes, expect_version=current.version)

    schedule = modify(
        lambda: get_schedule(store, schedule_id, workspaces), write, what=f"schedule {schedule_id!r}"
    )
    return _hand_off_if_due(store, queue, bus, schedule, now) if retimed else schedule


def _retime(
    store: Store,
    current: ScheduleRecord,
    changes: dict[str, Any],
    cron: CronSchedule,
    active: bool,
    now: datetime,
    reason: str | None = None,
) -> ScheduleRecord:
    """Apply a change to when a schedule fires: recompute its next fire from now. Conditional
    on the schedule being as it was read, so the next fire always follows the stored cron.
    `reason` says why the platform paused it (none when a person did)."""
    next_fire = cron.next_after(now) if active else None
    changes.update(
        {
            "is_active": active,
            "next_fire_at": iso(next_fire) if next_fire else None,
            "paused_reason": None if active else reason,
            "updated_at": iso(now),
        }
    )
    schedule = store.schedules.reschedule(
        current.id, changes, due_at=next_fire, expect_version=current.version
    )
    logger.info(
        "schedule retimed", extra={"schedule_id": current.id, "next_fire_at": changes["next_fire_at"]}
    )
    return schedule


def set_active(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    schedule_id: str,
    active: bool,
    workspaces: frozenset[str],
    now: datetime,
    *,
    reason: str | None = None,
) -> ScheduleRecord:
    """Pause or resume. Resuming starts from now: occurrences while paused are not run."""

    retimed = False

    def write(current: ScheduleRecord) -> ScheduleRecord:
        nonlocal retimed
        retimed = current.is_active != active
        if not retimed:
            return current
        if active:
            require_agent_to_resume(store, current, "schedule")
        cron = CronSchedule(current.cron_expression, current.timezone)
        return _retime(store, current, {}, cron, active, now, reason)

    schedule = modify(
        lambda: get_schedule(store, schedule_id, workspaces), write, what=f"schedule {schedule_id!r}"
    )
    return _hand_off_if_due(store, queue, bus, schedule, now) if retimed else schedule


def delete_schedule(store: Store, schedule_id: str, workspaces: frozenset[str]) -> None:
    get_schedule(store, schedule_id, workspaces)
    store.schedules.delete(schedule_id)


def run_now(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    schedule_id: str,
    workspaces: frozenset[str],
    now: datetime,
    *,
    run_id: str | None = None,
) -> RunRecord:
    """Start one run of the schedule's task now, outside its cron timing."""
    schedule = get_schedule(store, schedule_id, workspaces)
    require_agent_in(store, schedule.agent_id, schedule.workspace_id)
    run = new_run(
        run_id=run_id,
        workspace_id=schedule.workspace_id,
        agent_id=schedule.agent_id,
        task=schedule.task_description,
        source_type=SourceType.SCHEDULE,
        source_id=schedule_id,
        now=now,
        source_name=schedule.name,
        source_notify=schedule.notify,
    )
    return enqueue_new(store, queue, bus, run, now)


def next_runs(schedule: ScheduleRecord, count: int, now: datetime) -> list[str]:
    cron = CronSchedule(schedule.cron_expression, schedule.timezone)
    start = now
    if schedule.is_active and schedule.next_fire_at:
        start = min(now, schedule.next_fire_at - timedelta(microseconds=1))
    result = []
    for instant in cron.iter_after(start):
        result.append(cron.local(instant).isoformat())
        if len(result) >= count:
            break
    return result


def _hand_off_if_due(
    store: Store, queue: RunQueue, bus: Bus, schedule: ScheduleRecord, now: datetime
) -> ScheduleRecord:
    """A schedule saved just before its next fire would otherwise wait for the next tick."""
    nxt = schedule.next_fire_at
    if schedule.is_active and nxt and nxt <= window_end(now):
        try:
            dispatch(store, queue, bus, schedule, now)
        except (QueueError, BotoCoreError, ClientError):
            # The schedule is saved and still due: the next tick hands the occurrence over.
            logger.exception("hand-off on save failed", extra={"schedule_id": schedule.id})
        return store.schedules.get(schedule.id) or schedule
    return schedule


@dataclass
class DispatchResult:
    queued: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    next_fire_at: str | None = None


def dispatch(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    schedule: ScheduleRecord,
    now: datetime,
    *,
    wall_now: datetime | None = None,
) -> DispatchResult:
    """Hand every occurrence of `schedule` due by the end of the current window to the queue.

    `now` is the tick's clock (the scheduled event's time); `wall_now` is the real time used
    for SQS delays (defaults to now). Occurrences older than `missed_after_seconds` were missed
    during downtime and follow the schedule's `catch_up` policy (`proactive.schedules.catchup`);
    each one not run is recorded as a `missed` run.
    """
    settings = get_settings()
    result = DispatchResult()
    current = schedule.next_fire_at
    if not schedule.is_active or not current:
        return result
    cron = CronSchedule(schedule.cron_expression, schedule.timezone)
    policy = schedule.catch_up
    planned = catchup.plan(
        current,
        cron.next_after,
        end=window_end(now),
        cutoff=now - timedelta(seconds=settings.missed_after_seconds),
        policy=policy,
        limit=settings.max_catch_up_per_tick,
    )
    result.missed = _record_missed(store, queue, bus, schedule, planned.miss, now, policy)
    _queue_occurrences(store, queue, schedule, planned.queue, now, wall_now or now, result)
    nxt = planned.next_fire
    result.next_fire_at = iso(nxt) if nxt else None
    try:
        store.schedules.reschedule(
            schedule.id, {"next_fire_at": result.next_fire_at}, due_at=nxt, expect_next_fire_at=iso(current)
        )
    except ConditionFailed:
        # Edited, paused, deleted or advanced by another caller meanwhile: theirs stands.
        logger.info("schedule changed during dispatch", extra={"schedule_id": schedule.id})
    return result


def _record_missed(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    schedule: ScheduleRecord,
    fires: list[datetime],
    now: datetime,
    policy: str,
) -> list[str]:
    """Record each occurrence as a `missed` run (once) and deliver its event; the ids of those
    recorded now."""
    recorded: list[str] = []
    for fire in fires:
        run = _occurrence_run(
            schedule,
            fire,
            now,
            status=RunStatus.MISSED,
            reason=(f"missed: nothing dispatched this occurrence by its time (downtime); catch_up={policy}"),
        )
        found: RunRecord | None = run
        if store.runs.create(run):
            recorded.append(run.id)
            logger.info("occurrence missed", extra={"schedule_id": schedule.id, "scheduled_for": iso(fire)})
        else:
            found = store.runs.get(run.id)
        if found is not None:
            bus.flush(store, queue, store.runs, found, now)
    return recorded


def _queue_occurrences(
    store: Store,
    queue: RunQueue,
    schedule: ScheduleRecord,
    fires: list[datetime],
    now: datetime,
    clock: datetime,
    result: DispatchResult,
) -> None:
    """Create each occurrence's run (once) and queue it, delayed until its fire time by `clock`
    (the real time); a run already there is queued again while it is still `queued`."""
    messages: list[Message] = []
    for fire in fires:
        run = _occurrence_run(schedule, fire, now, status=RunStatus.QUEUED)
        delay = delay_until(fire, clock)
        if store.runs.create(run):
            result.queued.append(run.id)
        else:
            existing = store.runs.get(run.id)
            if not existing or existing.status != "queued":
                continue
            result.requeued.append(run.id)
        messages.append(run_message(run.id, delay_seconds=delay))
        logger.info(
            "occurrence fired",
            extra={
                "schedule_id": schedule.id,
                "run_id": run.id,
                "scheduled_for": iso(fire),
                "delay_seconds": delay,
            },
        )
    queue.send(messages)


def _occurrence_run(
    schedule: ScheduleRecord,
    fire: datetime,
    now: datetime,
    *,
    status: RunStatus,
    reason: str | None = None,
) -> RunRecord:
    key = occurrence_key(schedule.id, fire)
    return new_run(
        run_id=occurrence_run_id(key),
        workspace_id=schedule.workspace_id,
        agent_id=schedule.agent_id,
        task=schedule.task_description,
        source_type=SourceType.SCHEDULE,
        source_id=schedule.id,
        scheduled_for=fire,
        now=now,
        status=status,
        occurrence_key=key,
        overlap=schedule.overlap,
        source_name=schedule.name,
        source_notify=schedule.notify,
        reason=reason,
        **(events.pending(events.OCCURRENCE_MISSED) if status == RunStatus.MISSED else {}),
    )
