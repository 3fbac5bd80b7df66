"""Runs: one record for every execution, whatever started it, and the worker's state machine.

queued -> running -> succeeded | failed, with `missed` and `cancelled` for occurrences that
were recorded but not executed. A failed agent call goes back to `queued` and is retried by
the queue until `run_max_attempts`, then the run is `failed` with the last error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import BotoCoreError, ClientError

from proactive import events
from proactive.agents import RunContext, require_agent_in, runtime_for
from proactive.clock import iso, parse_iso, utcnow
from proactive.errors import DomainError, ServiceUnavailable
from proactive.ids import new_id
from proactive.models.runs import FINAL_STATUSES, RunCreate, RunStatus, SourceType
from proactive.observability import logger, metrics
from proactive.queue import LEAD_SECONDS, QueueError, RunQueue, run_message
from proactive.settings import get_settings
from proactive.store import ConditionFailed, Store

# DynamoDB items are limited to 400 KB; keep agent output well inside that.
MAX_OUTPUT_CHARS = 100_000
# A message arrives up to LEAD_SECONDS + 1 early (SQS delays are whole seconds, and the work is
# handed over a little ahead of its time); the worker waits that out.
MAX_EARLY_WAIT = timedelta(seconds=LEAD_SECONDS + 2)


class RunRetry(Exception):
    """The run should be attempted again: the message goes back to the queue."""


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
) -> dict[str, Any]:
    run: dict[str, Any] = {
        "id": run_id or new_id("run"),
        "workspace_id": workspace_id,
        "agent_id": agent_id,
        "source_type": source_type.value,
        "source_id": source_id,
        "scheduled_for": iso(scheduled_for or now),
        "status": status.value,
        "attempts": 0,
        "created_at": iso(now),
        "started_at": None,
        "finished_at": iso(now) if status in FINAL_STATUSES else None,
        "task": task,
        "output": None,
        "error": None,
        "reason": None,
    }
    run.update(extra)
    return run


def enqueue_new(store: Store, queue: RunQueue, run: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Store a run and queue it. If the queue refuses it, the run is marked failed (so it is not
    left `queued` forever) and the caller gets a 503 to retry."""
    store.runs.create(run)
    try:
        queue.send([run_message(run["id"])])
    except (QueueError, BotoCoreError, ClientError) as exc:
        _finish(store, queue, run, RunStatus.FAILED, now, error=f"could not queue the run: {exc}")
        raise ServiceUnavailable("the run queue is unavailable; nothing was started, try again") from exc
    logger.info("run queued", extra={"run_id": run["id"], "source_type": run["source_type"]})
    return run


def delegate(
    store: Store, queue: RunQueue, data: RunCreate, *, requested_by: str, now: datetime
) -> dict[str, Any]:
    """Queue a one-time background task and return its run at once."""
    require_agent_in(store, data.agent_id, data.workspace_id)
    run = new_run(
        workspace_id=data.workspace_id,
        agent_id=data.agent_id,
        task=data.task,
        source_type=SourceType.MANUAL,
        source_id=requested_by,
        now=now,
    )
    return enqueue_new(store, queue, run, now)


def get_run(store: Store, run_id: str, workspaces: frozenset[str]) -> dict[str, Any]:
    return store.runs.owned(run_id, workspaces)


def _finish(
    store: Store,
    queue: RunQueue,
    run: Mapping[str, Any],
    status: RunStatus,
    now: datetime,
    **fields: Any,
) -> dict[str, Any]:
    """Record the run's outcome and publish `run.finished` (for a success or a final failure)."""
    changes = {"status": status.value, "finished_at": iso(now), **fields}
    if status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
        changes.update(events.pending(events.RUN_FINISHED))
    final = store.runs.update(run["id"], changes, condition=Attr("status").eq(run["status"]))
    if run.get("occurrence_key") and run.get("holds_slot"):
        store.schedules.release_slot(run["source_id"], run["id"])
    logger.info(
        "run finished",
        extra={"run_id": run["id"], "status": status.value, "attempts": final.get("attempts", 0)},
    )
    metrics.add_metric(name=f"Runs{status.value.capitalize()}", unit="Count", value=1)
    events.flush(store, queue, store.runs, final, now)
    return final


def _cancel_occurrence(
    store: Store, queue: RunQueue, run: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """Record why a scheduled occurrence could not take its schedule's slot."""
    schedule = store.schedules.get(run["source_id"])
    if schedule is None:
        reason = "the schedule was deleted before this occurrence ran"
    elif not schedule.get("is_active"):
        reason = "the schedule was paused before this occurrence ran"
    else:
        reason = (
            f"skipped by overlap=skip: run {schedule.get('active_run_id')} of this schedule was still running"
        )
    return _finish(store, queue, run, RunStatus.CANCELLED, now, reason=reason)


def execute(
    store: Store, queue: RunQueue, run_id: str, *, now_fn: Callable[[], datetime] = utcnow
) -> dict[str, Any]:
    """Execute one queued run. Safe to call more than once for the same run: a run that has
    finished is left alone (but for its events, if they were not all delivered), and only one
    caller at a time can hold it."""
    settings = get_settings()
    run = store.runs.get(run_id)
    if run is None:
        logger.warning("run no longer exists; message dropped", extra={"run_id": run_id})
        return {"run_id": run_id, "status": "gone"}
    if run["status"] in FINAL_STATUSES:
        events.flush(store, queue, store.runs, run, now_fn())
        return {"run_id": run_id, "status": run["status"]}
    now = now_fn()
    early = parse_iso(run["scheduled_for"]) - now
    if timedelta(0) < early <= MAX_EARLY_WAIT:
        time.sleep(early.total_seconds())
        now = now_fn()
    if run["status"] == RunStatus.RUNNING and parse_iso(run["lease_until"]) > now:
        raise RunRetry(f"run {run_id} is held by another delivery until {run['lease_until']}")

    lease_until = now + timedelta(seconds=settings.run_lease_seconds)
    # A scheduled occurrence first takes its schedule's slot, so a paused schedule or (with
    # overlap=skip) a run still going stops it.
    slot_of = run["source_id"] if run.get("occurrence_key") else None
    exclusive = slot_of is not None and run.get("overlap", "skip") == "skip"
    if slot_of is not None:
        try:
            store.schedules.take_slot(slot_of, run_id, now=now, lease_until=lease_until, exclusive=exclusive)
        except ConditionFailed:
            return _public(_cancel_occurrence(store, queue, run, now))
    try:
        run = store.runs.start(run_id, now=now, lease_until=lease_until, holds_slot=exclusive)
    except ConditionFailed:
        # Another delivery holds it, or it finished meanwhile; give back what was taken for it.
        if slot_of is not None and exclusive:
            store.schedules.release_slot(slot_of, run_id)
        return {"run_id": run_id, "status": "taken"}
    holds_slot = exclusive
    logger.debug(
        "run started", extra={"run_id": run_id, "attempt": run["attempts"], "agent_id": run["agent_id"]}
    )

    agent = store.agents.get(run["agent_id"])
    if agent is None or agent["workspace_id"] != run["workspace_id"]:
        return _public(
            _finish(
                store,
                queue,
                run,
                RunStatus.FAILED,
                now_fn(),
                error=f"agent {run['agent_id']!r} no longer exists",
            )
        )

    context = RunContext(
        run_id=run_id, source_type=run["source_type"], source_id=run.get("source_id"), attempt=run["attempts"]
    )
    try:
        output = runtime_for(agent["runtime"]).execute(agent, run["task"], context).output
    except Exception as exc:  # an agent's failure is recorded on the run, whatever it is
        error = f"{type(exc).__name__}: {exc}"[:4000]
        if run["attempts"] < settings.run_max_attempts and not isinstance(exc, DomainError):
            store.runs.update(
                run_id,
                {"status": RunStatus.QUEUED.value, "error": error},
                condition=Attr("status").eq(RunStatus.RUNNING.value),
            )
            if holds_slot:
                store.schedules.release_slot(run["source_id"], run_id)
            logger.warning("run attempt failed; will retry", extra={"run_id": run_id, "error": error})
            raise RunRetry(error) from exc
        return _public(_finish(store, queue, run, RunStatus.FAILED, now_fn(), error=error))

    if len(output) > MAX_OUTPUT_CHARS:
        output = output[:MAX_OUTPUT_CHARS] + f"\n[output truncated at {MAX_OUTPUT_CHARS} characters]"
    return _public(_finish(store, queue, run, RunStatus.SUCCEEDED, now_fn(), output=output, error=None))


def _public(run: Mapping[str, Any]) -> dict[str, Any]:
    return {"run_id": run["id"], "status": run["status"]}
