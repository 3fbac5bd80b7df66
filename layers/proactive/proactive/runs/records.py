"""Run records: making a run, queueing it, finishing it, cancelling and replaying it.

Every execution, whatever started it, is one run: queued -> running -> succeeded | failed, with
`missed` and `cancelled` for what was recorded but not (or not wholly) executed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import BotoCoreError, ClientError

from proactive import events
from proactive.agents import require_agent_in
from proactive.agents.runtimes import StepLog
from proactive.clock import iso, parse_iso
from proactive.errors import Conflict, ServiceUnavailable
from proactive.events import Bus
from proactive.ids import new_id
from proactive.models.runs import FINAL_STATUSES, RunCreate, RunRecord, RunStatus, SourceType
from proactive.observability import logger, metrics
from proactive.queue import MAX_DELAY_SECONDS, Message, QueueError, RunQueue, delay_until, run_message
from proactive.store import ConditionFailed, Store
from proactive.store.requests import IDEMPOTENCY_MAX_WAIT_SECONDS

# DynamoDB items are limited to 400 KB; keep agent output well inside that.
MAX_OUTPUT_CHARS = 100_000
# A call waiting for the first call with its Idempotency-Key (`Prefer: wait=N`, at most
# IDEMPOTENCY_MAX_WAIT_SECONDS) looks again after 50 ms, then twice as long each time, up to half a
# second.
IDEMPOTENCY_FIRST_PAUSE = 0.05
IDEMPOTENCY_MAX_PAUSE = 0.5


def new_run(
    *,
    workspace_id: str,
    agent_id: str,
    task: str,
    source_type: SourceType,
    source_id: str | None,
    now: datetime,
    scheduled_for: datetime | None = None,
    run_id: str | None = None,
    status: RunStatus = RunStatus.QUEUED,
    **extra: Any,
) -> RunRecord:
    """A run record (not yet stored). `extra` may carry `payload`: the data that started it."""
    return RunRecord.model_validate(
        {
            "id": run_id or new_id("run"),
            "workspace_id": workspace_id,
            "agent_id": agent_id,
            "source_type": source_type.value,
            "source_id": source_id,
            "scheduled_for": scheduled_for or now,
            "status": status.value,
            "attempts": 0,
            "created_at": now,
            "started_at": None,
            "finished_at": now if status in FINAL_STATUSES else None,
            "task": task,
            "output": None,
            "error": None,
            "reason": None,
            "steps": [],
            "usage": None,
            **extra,
        }
    )


def enqueue_new(store: Store, queue: RunQueue, bus: Bus, run: RunRecord, now: datetime) -> RunRecord:
    """Store a run and queue it. If the queue refuses it, the run is marked failed (so it is not
    left `queued` forever) and the caller gets a 503 to retry."""
    store.runs.create(run)
    try:
        queue.send([run_message(run.id)])
    except (QueueError, BotoCoreError, ClientError) as exc:
        finish(store, queue, bus, run, RunStatus.FAILED, now, error=f"could not queue the run: {exc}")
        raise ServiceUnavailable("the run queue is unavailable; nothing was started, try again") from exc
    logger.info("run queued", extra={"run_id": run.id, "source_type": run.source_type})
    return run


def delegate(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    data: RunCreate,
    *,
    requested_by: str,
    now: datetime,
    run_id: str | None = None,
) -> RunRecord:
    """Queue a one-time background task and return its run at once."""
    require_agent_in(store, data.agent_id, data.workspace_id)
    run = new_run(
        run_id=run_id,
        workspace_id=data.workspace_id,
        agent_id=data.agent_id,
        task=data.task,
        source_type=SourceType.MANUAL,
        source_id=requested_by,
        now=now,
    )
    return enqueue_new(store, queue, bus, run, now)


def get_run(store: Store, run_id: str, workspaces: frozenset[str]) -> RunRecord:
    return store.runs.owned(run_id, workspaces)


def finish(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    run: RunRecord,
    status: RunStatus,
    now: datetime,
    *,
    condition: Any = None,
    **fields: Any,
) -> RunRecord:
    """Record the run's outcome, conditional on it being as read (and on `condition`), and
    publish `run.finished` for a success or a final failure. ConditionFailed otherwise."""
    changes = {"status": status.value, "finished_at": iso(now), "lease_until": None, **fields}
    if status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
        # An event not yet delivered (a start that could not be told) goes first. The end is
        # recorded only when someone may act on it: otherwise the run is not written again to
        # clear it.
        earlier = [t for t in run.pending_events if t != events.RUN_FINISHED]
        ending = bus.wanted(store, {**run.as_stored(), **changes}, events.RUN_FINISHED)
        if earlier or ending:
            changes.update(events.pending(*earlier, *ending.get(events.PENDING, [])))
    guard = Attr("status").eq(run.status)
    final = store.runs.update(run.id, changes, condition=guard if condition is None else guard & condition)
    # Counted once: only the write that made the run final gets here (a repeat fails its guard).
    store.run_stats.count(final, now=now)
    if run.occurrence_key and run.holds_slot and run.source_id:
        store.schedules.release_slot(run.source_id, run.id, unless_lapsing=True)
    logger.info("run finished", extra={"run_id": run.id, "status": status.value, "attempts": final.attempts})
    metrics.add_metric(name=f"Runs{status.value.capitalize()}", unit="Count", value=1)
    bus.flush(store, queue, store.runs, final, now)
    return final


def abandon(store: Store, queue: RunQueue, bus: Bus, run_id: str, now: datetime, reason: str) -> None:
    """A run whose queue message was set aside after failing every receive: failed, saying why,
    so it is not left queued or running forever (and whoever hears of failures hears of it)."""
    for _ in range(5):
        run = store.runs.get(run_id)
        if run is None or run.status in FINAL_STATUSES:
            return
        steps = StepLog(run.steps)
        steps.add("attempt_failed", error=reason, retry_at=None)
        try:
            finish(
                store,
                queue,
                bus,
                run,
                RunStatus.FAILED,
                now,
                error=run.error or reason,
                reason=reason,
                steps=steps.steps,
            )
            return
        except ConditionFailed:
            continue


def cancel(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    run_id: str,
    workspaces: frozenset[str],
    *,
    by: str,
    now: datetime,
) -> RunRecord:
    """Cancel a run. One queued, waiting to retry or waiting for a callback is cancelled at once;
    one whose attempt is executing is cancelled when that attempt returns (its output is kept in
    the steps, not as the result). A finished run is a 409."""
    for _ in range(5):
        run = get_run(store, run_id, workspaces)
        if run.status in FINAL_STATUSES:
            raise Conflict(f"run {run_id} has already finished ({run.status}); nothing to cancel")
        steps = StepLog(run.steps)
        steps.add("cancelled", by=by)
        try:
            if run.status == "queued" or run.waiting_for:
                return finish(
                    store,
                    queue,
                    bus,
                    run,
                    RunStatus.CANCELLED,
                    now,
                    reason=f"cancelled by {by}",
                    steps=steps.steps,
                    # It waits for nothing any more.
                    waiting_for=None,
                    callback_deadline=None,
                    retry_at=None,
                )
            return store.runs.update(
                run_id,
                {"cancel_requested": True, "cancel_requested_by": by},
                condition=Attr("status").eq(RunStatus.RUNNING.value) & Attr("waiting_for").not_exists(),
            )
        except ConditionFailed:
            continue  # it moved on between the read and the write: look again
    raise Conflict(f"run {run_id} is changing too fast to cancel; try again")


def replay(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    run_id: str,
    workspaces: frozenset[str],
    *,
    now: datetime,
    new_run_id: str | None = None,
) -> RunRecord:
    """A new run with the same agent, task and payload as `run_id`, linked both ways
    (`replay_of` on the new one, `replays` on the original)."""
    original = get_run(store, run_id, workspaces)
    require_agent_in(store, original.agent_id, original.workspace_id)
    run = new_run(
        run_id=new_run_id,
        workspace_id=original.workspace_id,
        agent_id=original.agent_id,
        task=original.task,
        source_type=SourceType.REPLAY,
        source_id=run_id,
        now=now,
        payload=original.payload,
        replay_of=run_id,
    )
    enqueue_new(store, queue, bus, run, now)
    store.runs.update(run_id, append={"replays": [run.id]})
    return run


def with_idempotency(
    store: Store,
    workspace_id: str,
    idempotency_key: str | None,
    fingerprint: str,
    now: datetime,
    create: Callable[[str], RunRecord | None],
    *,
    wait_seconds: float = 0.0,
) -> RunRecord | None:
    """Make a run once per `Idempotency-Key`: the same key within 24 hours gives back the first
    call's run rather than making another; the same key for a different request is a 422.
    `create(run_id)` makes the run (None: it made none, and the key is given back).

    A call made while the first is still being handled answers 409, unless `wait_seconds`: then
    it looks again, with a short back-off, until the first call's run is stored (and answers it)
    or the first call gave the key back (and makes the run itself, as the first call would
    have), or the time is up (409)."""
    from proactive.errors import InvalidInput

    run_id = new_id("run")
    if idempotency_key is None:
        return create(run_id)
    deadline = time.monotonic() + max(0.0, wait_seconds)
    pause = IDEMPOTENCY_FIRST_PAUSE
    while True:
        taken = store.requests.claim(workspace_id, idempotency_key, fingerprint, run_id, now)
        if taken is None:  # the key is this call's
            break
        if taken.get("fingerprint") != fingerprint:
            raise InvalidInput(
                "this Idempotency-Key was used in the last 24 hours for a different request",
                field="Idempotency-Key",
            )
        first = store.runs.get(taken["run_id"])
        if first is not None:
            return first
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Conflict(
                "the first request with this Idempotency-Key is still being handled; try again, or send "
                f"`Prefer: wait=<seconds>` (up to {IDEMPOTENCY_MAX_WAIT_SECONDS}) to wait for its answer"
            )
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, IDEMPOTENCY_MAX_PAUSE)
    try:
        made = create(run_id)
    except BaseException:
        store.requests.release(workspace_id, idempotency_key, run_id)
        raise
    if made is None:
        store.requests.release(workspace_id, idempotency_key, run_id)
    return made


def requeue(run: Mapping[str, Any], now: datetime) -> Message | None:
    """The message that takes up a run again after its queue was lost (the local stack's
    restart): the attempt it waits for, the callback timer it waits on, or the take-over of an
    attempt that was cut off once its lease lapses. None for a run that waits for nothing.
    `run` is what the stored item says of its waiting (`dev.persistence`), not a whole run."""
    attempts = int(run.get("attempts") or 0)
    if run.get("status") == "queued":
        due = parse_iso(run.get("retry_at") or run["scheduled_for"])
        return run_message(str(run["id"]), delay_until(due, now), attempt=attempts + 1)
    if run.get("status") != "running":
        return None
    wake = min(MAX_DELAY_SECONDS, delay_until(parse_iso(run["lease_until"]), now))
    if run.get("waiting_for"):
        until = iso(now) + f"+{wake}"
        return run_message(str(run["id"]), wake, attempt=attempts, wake="callback", until=until)
    return run_message(str(run["id"]), wake)
