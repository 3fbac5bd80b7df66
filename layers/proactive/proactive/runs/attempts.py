"""The worker's side of a run: each attempt, and what follows it.

A message asks for one attempt of a run (`attempt`, 1 when it does not say). The attempt takes
the run (a conditional write with a lease, so one caller at a time), runs the agent, and then:

- output: the run succeeds, with its usage and steps;
- the agent will call back: the run waits (`waiting_for: "callback"`), and a timer message fails
  the attempt if nothing arrives in time;
- a failure that may pass (a timeout, a 429 or 5xx, an overloaded model): the next attempt is
  queued with exponential back-off and full jitter (or after the agent's Retry-After), never by
  sleeping here; after the agent's `max_attempts` the run fails;
- a failure that cannot pass (a 4xx, a bad key, an unknown model): the run fails at once.

A cancel asked for while the attempt ran wins over its outcome.
"""

from __future__ import annotations

import contextvars
import math
import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr

from proactive import events
from proactive.agents import runtime_for
from proactive.agents.runtimes import (
    AgentResult,
    RunContext,
    StepLog,
    StreamEvent,
    ToolContext,
    Usage,
    prepare_context,
)
from proactive.clock import iso, utcnow
from proactive.errors import AgentError
from proactive.events import Bus
from proactive.models.runs import FINAL_STATUSES, RunRecord, RunStatus
from proactive.notifications import targets
from proactive.observability import logger
from proactive.queue import LEAD_SECONDS, MAX_DELAY_SECONDS, RunQueue, run_message
from proactive.runs import slots
from proactive.runs.records import MAX_OUTPUT_CHARS, finish
from proactive.settings import get_settings
from proactive.store import ConditionFailed, Store

# A message arrives up to LEAD_SECONDS + 1 early (SQS delays are whole seconds, and the work is
# handed over a little ahead of its time); the worker waits that out.
MAX_EARLY_WAIT = timedelta(seconds=LEAD_SECONDS + 2)
# When the worker's invocation must be done with this attempt (time.monotonic()), if it says.
ATTEMPT_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "attempt_deadline", default=None
)

# Told what the agent produces as it produces it, during an attempt made in this context (a
# streamed conversation turn answered in the request).
ATTEMPT_STREAM: contextvars.ContextVar[StreamEvent | None] = contextvars.ContextVar(
    "attempt_stream", default=None
)


class RunRetry(Exception):
    """The message should be tried again later (another delivery holds the run)."""


def _public(run: RunRecord) -> dict[str, Any]:
    return {"run_id": run.id, "status": run.status}


def execute(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    run_id: str,
    *,
    now_fn: Callable[[], datetime] = utcnow,
    message: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Perform the attempt a message asks for. Safe to call more than once for the same message:
    a finished run is left alone (but for events not yet delivered), an attempt that already
    happened is not made again, and only one caller at a time can hold the run."""
    message = message or {}
    run = store.runs.get(run_id)
    if run is None:
        logger.warning("run no longer exists; message dropped", extra={"run_id": run_id})
        return {"run_id": run_id, "status": "gone"}
    if run.status in FINAL_STATUSES:
        bus.flush(store, queue, store.runs, run, now_fn())
        return _public(run)
    if message.get("wake") == "callback":
        return _callback_timer(store, queue, bus, run, message, now_fn())
    if run.status == "queued" and run.attempts >= int(message.get("attempt") or 1):
        return {"run_id": run_id, "status": "stale"}  # that attempt happened; a later message is queued
    if run.waiting_for:
        return {"run_id": run_id, "status": "waiting"}
    now = now_fn()
    if not run.attempts and run.scheduled_for is not None:
        early = run.scheduled_for - now
        if timedelta(0) < early <= MAX_EARLY_WAIT:
            time.sleep(early.total_seconds())
            now = now_fn()
    if run.status == "running" and run.lease_until is not None and run.lease_until > now:
        raise RunRetry(f"run {run_id} is held by another delivery until {iso(run.lease_until)}")
    return _attempt(store, queue, bus, run, now, now_fn)


def _attempt(
    store: Store, queue: RunQueue, bus: Bus, run: RunRecord, now: datetime, now_fn: Callable[[], datetime]
) -> dict[str, Any]:
    settings = get_settings()
    run_id = run.id
    lease_until = now + timedelta(seconds=settings.run_lease_seconds)
    # A scheduled occurrence first takes its schedule's slot, so a paused schedule or (with
    # overlap=skip) a run still going stops it.
    slot_of, exclusive = slots.occurrence_slot(run)
    if slot_of is not None:
        refused = slots.take(store, queue, bus, run, slot_of, exclusive, now, lease_until)
        if refused is not None:
            return _public(refused)
    steps = StepLog(run.steps, clock=now_fn)
    steps.add("attempt_started", attempt=run.attempts + 1)
    agent = store.agents.get(run.agent_id)
    extra = _first_start(store, run, agent) if not run.attempts else {}
    try:
        run = store.runs.start(
            run_id,
            now=now,
            lease_until=lease_until,
            holds_slot=exclusive,
            steps=steps.steps,
            first=not run.attempts,
            extra=extra,
        )
    except ConditionFailed:
        # Another delivery holds it, or it finished meanwhile. The slot taken for it is given
        # back only in the second case: in the first, it is the other delivery's slot too (both
        # took it for the same run), and that delivery's attempt is going on.
        if slot_of is not None and exclusive and not slots.held_elsewhere(store, run_id, now):
            store.schedules.release_slot(slot_of, run_id)
        return {"run_id": run_id, "status": "taken"}
    run = _tell_started(store, queue, bus, run, now)
    if agent is None or agent["workspace_id"] != run.workspace_id:
        error = f"agent {run.agent_id!r} no longer exists"
        steps.add("attempt_failed", error=error)
        return _public(
            finish(store, queue, bus, run, RunStatus.FAILED, now_fn(), error=error, steps=steps.steps)
        )
    return _public(_run_agent(store, queue, bus, run, agent, steps, now_fn))


def _first_start(store: Store, run: RunRecord, agent: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a run records when it first starts: who is told about it (settled now, and kept on
    it), and the start event when they want it."""
    extra: dict[str, Any] = {"notify": targets.plan(store, run.as_stored(), agent or {})}
    if targets.wants(extra["notify"], "start"):
        extra.update(events.pending(events.RUN_STARTED))
    return extra


def _tell_started(store: Store, queue: RunQueue, bus: Bus, run: RunRecord, now: datetime) -> RunRecord:
    """Tell of the run's start; the run without its pending events once they are told."""
    try:
        bus.flush(store, queue, store.runs, run, now)
        return run.model_copy(update={"pending_events": []})
    except Exception:
        # Telling of the start must never hold the run up: the event stays pending on the run
        # and goes out with its end (`finish` keeps it).
        logger.exception("the run's start could not be told; the run goes on", extra={"run_id": run.id})
        return run


def _run_agent(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    run: RunRecord,
    agent: Mapping[str, Any],
    steps: StepLog,
    now_fn: Callable[[], datetime],
) -> RunRecord:
    """Run the agent on the run's task, and record the attempt's outcome."""
    context = RunContext(
        run_id=run.id,
        workspace_id=run.workspace_id,
        source_type=run.source_type,
        source_id=run.source_id,
        attempt=run.attempts,
        payload=run.payload,
        steps=steps,
        tools=ToolContext(store=store, queue=queue, workspace_id=run.workspace_id, run_id=run.id),
        deadline=ATTEMPT_DEADLINE.get(),
        on_event=ATTEMPT_STREAM.get(),
    )
    try:
        prepare_context(store, run, context)
        result = runtime_for(agent["runtime"]).execute(agent, run.task, context)
    except AgentError as exc:
        return after_failure(store, queue, bus, run, agent, steps, exc, now_fn())
    except Exception as exc:  # a runtime's own fault is recorded like an agent's, and retried
        logger.exception("agent runtime raised", extra={"run_id": run.id})
        failure = AgentError(f"{type(exc).__name__}: {exc}", retryable=True)
        return after_failure(store, queue, bus, run, agent, steps, failure, now_fn())
    return after_success(store, queue, bus, run, agent, steps, result, now_fn())


def max_attempts(agent: Mapping[str, Any]) -> int:
    return int((agent.get("config") or {}).get("max_attempts") or get_settings().run_max_attempts)


def _usage(previous: Mapping[str, Any] | None, usage: Usage | None) -> dict[str, Any] | None:
    """The run's usage so far: this attempt's (succeeded or failed) added to the earlier ones'."""
    if usage is None:
        return dict(previous) if previous else None
    added = usage.as_dict()
    if not previous:
        return added
    total = {
        k: (previous.get(k) or 0) + (added[k] or 0)
        for k in ("requests", "input_tokens", "output_tokens", "tool_calls")
    }
    costs = [c for c in (previous.get("cost_usd"), added["cost_usd"]) if c is not None]
    return {**total, "cost_usd": round(sum(costs), 6) if costs else None}


def after_success(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    run: RunRecord,
    agent: Mapping[str, Any],
    steps: StepLog,
    result: AgentResult,
    now: datetime,
) -> RunRecord:
    """Record an attempt that answered: the output, or a wait for the agent's callback."""
    usage = _usage(run.usage, result.usage)
    if result.waiting_for_callback:
        return _await_callback(store, queue, bus, run, agent, steps, usage, now)
    output = result.output
    if len(output) > MAX_OUTPUT_CHARS:
        output = output[:MAX_OUTPUT_CHARS] + f"\n[output truncated at {MAX_OUTPUT_CHARS} characters]"
    try:
        return finish(
            store,
            queue,
            bus,
            run,
            RunStatus.SUCCEEDED,
            now,
            condition=Attr("cancel_requested").not_exists(),
            output=output,
            error=None,
            usage=usage,
            steps=steps.steps,
        )
    except ConditionFailed:
        return _cancelled_meanwhile(store, queue, bus, run, steps, now, output=output, usage=usage)


def after_failure(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    run: RunRecord,
    agent: Mapping[str, Any],
    steps: StepLog,
    failure: AgentError,
    now: datetime,
) -> RunRecord:
    """Record a failed attempt: queue the next one after a back-off if the failure may pass and
    attempts are left, else fail the run with the reason."""
    settings = get_settings()
    error = failure.message[:4000]
    attempts = run.attempts
    spent = _usage(run.usage, failure.usage)
    usage = {"usage": spent} if spent else {}
    if failure.retryable and attempts < max_attempts(agent):
        delay = retry_delay(
            failure,
            attempts,
            base_seconds=settings.retry_base_seconds,
            cap_seconds=settings.retry_cap_seconds,
        )
        return _retry_later(store, queue, bus, run, steps, now, delay, error=error, usage=usage)
    steps.add("attempt_failed", error=error, retry_at=None)
    try:
        return finish(
            store,
            queue,
            bus,
            run,
            RunStatus.FAILED,
            now,
            condition=Attr("cancel_requested").not_exists(),
            error=error,
            reason=give_up_reason(failure, attempts),
            steps=steps.steps,
            **usage,
        )
    except ConditionFailed:
        return _cancelled_meanwhile(store, queue, bus, run, steps, now, error=error)


def retry_delay(failure: AgentError, attempts: int, *, base_seconds: int, cap_seconds: int) -> float:
    """Seconds until the next attempt: the agent's Retry-After (at most `cap_seconds`), else
    exponential back-off from `base_seconds` with full jitter after `attempts` attempts."""
    if failure.retry_after is not None:
        return min(float(cap_seconds), max(0.0, failure.retry_after))
    ceiling = min(cap_seconds, base_seconds * 2 ** (attempts - 1))
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret


def give_up_reason(failure: AgentError, attempts: int) -> str:
    """Why a failed run is not tried again."""
    return (
        f"gave up after {attempts} attempt(s)"
        if failure.retryable
        else "not retried: the failure cannot pass"
    )


def _retry_later(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    run: RunRecord,
    steps: StepLog,
    now: datetime,
    delay: float,
    *,
    error: str,
    usage: Mapping[str, Any],
) -> RunRecord:
    """Queue the next attempt `delay` seconds from now and put the run back in the queue."""
    attempts = run.attempts
    retry_at = now + timedelta(seconds=delay)
    steps.add("attempt_failed", error=error, retry_at=iso(retry_at))
    # The next attempt's message goes first: if this worker dies before recording the
    # failure, that message still finds the run (its lease lapses) and makes the attempt.
    queue.send([run_message(run.id, min(MAX_DELAY_SECONDS, math.ceil(delay)), attempt=attempts + 1)])
    try:
        queued = store.runs.update(
            run.id,
            {
                "status": RunStatus.QUEUED.value,
                "error": error,
                "retry_at": iso(retry_at),
                "lease_until": None,
                "steps": steps.steps,
                **usage,
            },
            condition=Attr("status").eq(RunStatus.RUNNING.value) & Attr("cancel_requested").not_exists(),
        )
    except ConditionFailed:
        return _cancelled_meanwhile(store, queue, bus, run, steps, now, error=error)
    if run.holds_slot and run.source_id:
        store.schedules.release_slot(run.source_id, run.id)
    logger.warning(
        "run attempt failed; will retry",
        extra={"run_id": run.id, "error": error, "retry_at": iso(retry_at)},
    )
    return queued


def _cancelled_meanwhile(
    store: Store, queue: RunQueue, bus: Bus, run: RunRecord, steps: StepLog, now: datetime, **outcome: Any
) -> RunRecord:
    """The attempt ended after a cancel was asked for: the run is cancelled, and what the attempt
    produced is kept in its steps."""
    current = store.runs.get(run.id)
    if current is None or current.status in FINAL_STATUSES or not current.cancel_requested:
        return current or run
    kept = {k: v for k, v in outcome.items() if v is not None}
    steps.add("cancelled", by=current.cancel_requested_by, discarded=kept)
    return finish(
        store,
        queue,
        bus,
        current,
        RunStatus.CANCELLED,
        now,
        reason=f"cancelled by {current.cancel_requested_by} while its attempt ran",
        steps=steps.steps,
    )


def _await_callback(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    run: RunRecord,
    agent: Mapping[str, Any],
    steps: StepLog,
    usage: Mapping[str, Any] | None,
    now: datetime,
) -> RunRecord:
    timeout = int((agent.get("config") or {}).get("callback_timeout_seconds") or 3600)
    deadline = now + timedelta(seconds=timeout)
    steps.add("waiting_for_callback", until=iso(deadline))
    wake = min(timeout, MAX_DELAY_SECONDS)
    queue.send(
        [
            run_message(
                run.id,
                wake,
                attempt=run.attempts,
                wake="callback",
                until=iso(now + timedelta(seconds=wake)),
            )
        ]
    )
    try:
        return store.runs.update(
            run.id,
            {
                "waiting_for": "callback",
                "callback_deadline": iso(deadline),
                # Held until the callback is due: no other delivery takes the run meanwhile.
                "lease_until": iso(deadline),
                "usage": usage,
                "steps": steps.steps,
            },
            condition=Attr("status").eq(RunStatus.RUNNING.value) & Attr("cancel_requested").not_exists(),
        )
    except ConditionFailed:
        return _cancelled_meanwhile(store, queue, bus, run, steps, now)


def _callback_timer(
    store: Store, queue: RunQueue, bus: Bus, run: RunRecord, message: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The callback's time is up (or, for waits longer than SQS can delay a message, a step
    towards it): fail the attempt if the agent has still not called back."""
    deadline = run.callback_deadline
    if run.waiting_for != "callback" or run.attempts != int(message.get("attempt") or 0) or deadline is None:
        return _public(run)
    if now < deadline:
        wake = min(MAX_DELAY_SECONDS, math.ceil((deadline - now).total_seconds()))
        queue.send(
            [
                run_message(
                    run.id,
                    wake,
                    attempt=run.attempts,
                    wake="callback",
                    until=iso(now + timedelta(seconds=wake)),
                )
            ]
        )
        return {"run_id": run.id, "status": "waiting"}
    agent = store.agents.get(run.agent_id) or {"config": {}}
    steps = StepLog(run.steps)
    failure = AgentError(f"the agent did not call back by {iso(deadline)}", retryable=True)
    waiting = store.runs.update(
        run.id, remove=("waiting_for", "callback_deadline"), condition=Attr("waiting_for").eq("callback")
    )
    return _public(after_failure(store, queue, bus, waiting, agent, steps, failure, now))
