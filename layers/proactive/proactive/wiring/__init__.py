"""The platform's wiring: everything that is looked up by kind or by name, registered once here.

Every function's handler, the API app and the local stack build their context with the event bus
of the subscribers below (`bus()`) where they start; nothing below this module imports it. The
modules it names know nothing of one another through it: each registration imports its
capability only when first used, so a function loads only what its work needs (the API function
never loads the goal loop's analytics to answer about an agent).

- Due kinds and work kinds (below): what the dispatcher and the worker look up.
- Event subscribers (`SUBSCRIPTIONS`, which `bus()` delivers to): what happens when a run ends,
  a monitor fails or recovers, an occurrence is missed. `events` delivers to them and knows
  none of them.
- Agent runtimes, and run context sources (what an agent must know about the source of its run
  beyond the task: a conversation's history): in `proactive.wiring.agents`, installed by the
  functions that run or configure agents only (the API, the worker, the goal loop), so that the
  others (ingest, the dispatcher, dead letters) load none of the agents' modules, and cannot
  reach the model providers' SDKs even through an import they would never make.
- The work that needs the full layer's analytics (a workspace's mining for suggestions, with
  numpy): in `proactive.wiring.mining`, installed by the worker. The dispatcher hands the mining
  over (`DUE_KINDS`) without reaching what performs it.

- A due kind is an item kind in the due index (schedule, monitor, ...) with the function that
  hands what is due of one such item to the queue. The dispatcher looks kinds up here.
- A work kind is a queue message kind (`{"<kind>_id": ...}`: run, delivery, check, ...) with the
  function that performs it. The worker looks kinds up here, and is idempotent on
  `<kind>#<id>`: each id is one occurrence (a run, a delivery, a check slot). Work that guards
  itself against a second delivery of its message, even one at the same time, has no key
  (`guards_itself`), and the worker keeps no idempotency record of it: a record is two writes
  for every message. A run's attempt does (its start is a conditional write that one delivery
  wins, and a finished run, or an attempt already made, is left alone), and so does a delivery
  (its run's id is derived from it, and the run guards itself).

Adding a kind, a subscriber, a context source or a runtime means writing its module and adding
one line below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from proactive.context import Context
from proactive.events import (
    EVENT_TYPES,
    EVENTS_RECORDED,
    RUN_FINISHED,
    RUN_STARTED,
    Bus,
    Event,
    Subscription,
)
from proactive.notifications import targets
from proactive.queue import Message, RunQueue
from proactive.store import Store

# (context, the due item, the tick's time, the wall clock's) -> a summary of what was handed over
Dispatch = Callable[[Context, Mapping[str, Any], datetime, datetime | None], Mapping[str, int]]
# (context, item id, the message's other fields) -> a summary of what was done
Perform = Callable[[Context, str, Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class DueKind:
    kind: str
    dispatch: Dispatch


# (context, item id, why) -> None: settle work whose message was set aside for good
Abandon = Callable[[Context, str, str], None]
# (the stored item, now) -> the message that takes it up again, or None if it waits for nothing;
# used where a queue can be lost with the work in it (the local stack's restart)
Requeue = Callable[[Mapping[str, Any], datetime], Message | None]


@dataclass(frozen=True)
class WorkKind:
    kind: str
    perform: Perform
    abandon: Abandon | None = None
    requeue: Requeue | None = None
    # Which messages of the kind (told by their other fields) carry work that guards itself
    # against a second delivery, also at the same time: they get no idempotency key.
    guards_itself: Callable[[Mapping[str, Any]], bool] | None = None

    @property
    def field(self) -> str:
        """The message body's key for this kind's id."""
        return f"{self.kind}_id"

    def idempotency_key(self, item_id: str, extra: Mapping[str, Any]) -> str | None:
        """One key per piece of work: the item, and what tells this message's work from another
        for the same item (a run's second attempt is not its first). None for work that guards
        itself (`guards_itself`): the worker keeps no record of it."""
        if self.guards_itself is not None and self.guards_itself(extra):
            return None
        return "#".join([self.kind, item_id, *(f"{k}={extra[k]}" for k in sorted(extra))])


# Each registration imports its capability when first used (see the module's docstring).


def _schedule(
    ctx: Context, item: Mapping[str, Any], now: datetime, wall_now: datetime | None
) -> dict[str, int]:
    from proactive import schedules

    schedule = ctx.store.schedules.read(item)
    result = schedules.dispatch(ctx.store, ctx.queue, ctx.bus, schedule, now, wall_now=wall_now)
    return {"queued": len(result.queued), "missed": len(result.missed), "requeued": len(result.requeued)}


def _monitor(
    ctx: Context, item: Mapping[str, Any], now: datetime, wall_now: datetime | None
) -> dict[str, int]:
    from proactive.monitors import checks

    monitor = ctx.store.monitors.read(item)
    return {"checks": int(checks.dispatch(ctx.store, ctx.queue, monitor, now, wall_now=wall_now))}


def _autonomy(
    ctx: Context, item: Mapping[str, Any], now: datetime, wall_now: datetime | None
) -> dict[str, int]:
    from proactive import autonomy

    return {"queued": autonomy.dispatch(ctx.store, ctx.queue, item, now, wall_now=wall_now)}


def _goal_loop(
    ctx: Context, item: Mapping[str, Any], now: datetime, wall_now: datetime | None
) -> dict[str, int]:
    from proactive.loop import cycle

    return {"started": cycle.dispatch(ctx.store, ctx.queue, item, now, wall_now=wall_now)}


def _mining(
    ctx: Context, item: Mapping[str, Any], now: datetime, wall_now: datetime | None
) -> dict[str, int]:
    from proactive import suggestions
    from proactive.schedules import window_end

    return {"queued": suggestions.dispatch(ctx.store, ctx.queue, item, now, window_end(now))}


def _run(ctx: Context, run_id: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    from proactive import runs

    return runs.execute(ctx.store, ctx.queue, ctx.bus, run_id, now_fn=ctx.clock, message=extra)


def _abandon_run(ctx: Context, run_id: str, why: str) -> None:
    from proactive import runs

    runs.abandon(ctx.store, ctx.queue, ctx.bus, run_id, ctx.now(), why)


def _requeue_run(run: Mapping[str, Any], now: datetime) -> Message | None:
    from proactive import runs

    return runs.requeue(run, now)


def _delivery(ctx: Context, delivery_id: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    from proactive.webhooks import deliveries

    return deliveries.process(ctx.store, ctx.queue, ctx.bus, delivery_id, ctx.clock)


def _requeue_delivery(delivery: Mapping[str, Any], now: datetime) -> Message | None:
    from proactive.webhooks import deliveries

    return deliveries.requeue(delivery, now)


def _check(ctx: Context, check_id: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    from proactive.monitors import checks

    return checks.run_check(ctx.store, ctx.queue, ctx.bus, check_id, ctx.now())


def _requeue_check(check: Mapping[str, Any], now: datetime) -> Message | None:
    from proactive.monitors import checks

    return checks.requeue(check, now)


def _notification(ctx: Context, notification_id: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    from proactive.notifications import attempts

    return attempts.perform(ctx.store, ctx.queue, notification_id, ctx.clock, extra)


def _abandon_notification(ctx: Context, notification_id: str, why: str) -> None:
    from proactive.notifications import attempts

    attempts.abandon(ctx.store, ctx.queue, notification_id, ctx.now(), why)


def _requeue_notification(notification: Mapping[str, Any], now: datetime) -> Message | None:
    from proactive.notifications import attempts

    return attempts.requeue(notification, now)


DUE_KINDS: dict[str, DueKind] = {
    k.kind: k
    for k in (
        DueKind("schedule", _schedule),
        DueKind("monitor", _monitor),
        DueKind("autonomy", _autonomy),
        DueKind("loop_settings", _goal_loop),
        DueKind("mining", _mining),
    )
}

WORK_KINDS: dict[str, WorkKind] = {
    k.kind: k
    for k in (
        # A run's attempt guards itself; the timer of a callback wait re-sends itself, so a
        # second delivery of one would double the timer's messages: it keeps its record.
        WorkKind("run", _run, _abandon_run, _requeue_run, guards_itself=lambda extra: "wake" not in extra),
        WorkKind("delivery", _delivery, requeue=_requeue_delivery, guards_itself=lambda extra: True),
        WorkKind("check", _check, requeue=_requeue_check),
        WorkKind("notification", _notification, _abandon_notification, _requeue_notification),
    )
}


# Event subscribers.


def _chain(store: Store, queue: RunQueue, bus: Bus, event: Event, now: datetime) -> None:
    from proactive import triggers

    triggers.chain(store, queue, bus, event, now)


def _chained(store: Store, event: Event) -> bool:
    """A run's end may fire event triggers when its workspace has any listening for runs."""
    return store.triggers.any_listening(str(event.subject["workspace_id"]), "run.")


def _reply(store: Store, queue: RunQueue, bus: Bus, event: Event, now: datetime) -> None:
    from proactive.conversations import turns

    turns.on_run_finished(store, queue, event, now)


def _goal_action_run(store: Store, queue: RunQueue, bus: Bus, event: Event, now: datetime) -> None:
    from proactive.loop import action_execution

    action_execution.on_run_finished(store, queue, event, now)


def _recorded(store: Store, queue: RunQueue, bus: Bus, event: Event, now: datetime) -> None:
    from proactive import triggers

    triggers.on_recorded(store, queue, bus, event, now)


def _listening_for_recorded(store: Store, event: Event) -> bool:
    from proactive.triggers import RECORDED_PREFIX

    return store.triggers.any_listening(str(event.subject["workspace_id"]), RECORDED_PREFIX)


def _notify(store: Store, queue: RunQueue, bus: Bus, event: Event, now: datetime) -> None:
    from proactive.notifications import outbox

    outbox.on_event(store, queue, event, now)


# The moment of a run's end its notify plan names, by the run's status.
_MOMENTS = {"succeeded": "success", "failed": "failure"}


def _told(store: Store, event: Event) -> bool:
    """A run's start or end is told when the run's plan (settled when it first started) names a
    channel for that moment; a run with no plan yet, and any other event, may be told."""
    if event.type not in (RUN_STARTED, RUN_FINISHED) or event.subject.get("notify") is None:
        return True
    moment = "start" if event.type == RUN_STARTED else _MOMENTS.get(str(event.subject.get("status")))
    return moment is not None and bool(targets.wants(event.subject["notify"], moment))


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription("trigger chaining", frozenset({RUN_FINISHED}), _chain, _chained),
    Subscription(
        "conversation replies",
        frozenset({RUN_FINISHED}),
        _reply,
        lambda store, event: event.subject.get("source_type") == "conversation",
    ),
    Subscription(
        "goal loop actions",
        frozenset({RUN_FINISHED}),
        _goal_action_run,
        lambda store, event: event.subject.get("source_type") == "goal",
    ),
    Subscription("notifications", EVENT_TYPES, _notify, _told),
    Subscription("recorded event triggers", frozenset({EVENTS_RECORDED}), _recorded, _listening_for_recorded),
)


def register_work(kind: WorkKind) -> None:
    """Add a work kind that only the functions with the full layer perform (`wiring.mining`).
    Calling it again with the same kind changes nothing."""
    WORK_KINDS[kind.kind] = kind


@cache
def bus() -> Bus:
    """The bus that delivers events to the subscribers above: each function builds its context
    with it where it starts."""
    return Bus(SUBSCRIPTIONS)


def work_in(message: Any) -> tuple[WorkKind, str, dict[str, Any]] | None:
    """The one registered kind of work a message body names, its id and the message's other
    fields; None if it names none, or more than one."""
    if not isinstance(message, dict):
        return None
    named = [
        (kind, message[kind.field])
        for kind in WORK_KINDS.values()
        if isinstance(message.get(kind.field), str)
    ]
    if len(named) != 1:
        return None
    kind, item_id = named[0]
    extra = {k: v for k, v in message.items() if k != kind.field and isinstance(v, str | int)}
    return kind, item_id, extra
