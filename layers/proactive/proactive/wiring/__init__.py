"""What can come due, and what the worker can be asked to do: each kind registered once.

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

Adding a kind means writing its module and adding one line below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from proactive import autonomy, runs, schedules
from proactive.loop import cycle
from proactive.monitors import checks
from proactive.notifications import attempts
from proactive.queue import Message, RunQueue
from proactive.store import Store
from proactive.webhooks import deliveries

Dispatch = Callable[[Store, RunQueue, Mapping[str, Any], datetime, datetime | None], Mapping[str, int]]
# (store, queue, item id, clock, the message's other fields) -> a summary of what was done
Perform = Callable[[Store, RunQueue, str, Callable[[], datetime], Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class DueKind:
    kind: str
    dispatch: Dispatch


# (store, queue, item id, now, why) -> None: settle work whose message was set aside for good
Abandon = Callable[[Store, RunQueue, str, datetime, str], None]
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


def _schedule(
    store: Store, queue: RunQueue, item: Mapping[str, Any], now: datetime, wall_now: datetime | None
) -> dict[str, int]:
    result = schedules.dispatch(store, queue, item, now, wall_now=wall_now)
    return {"queued": len(result.queued), "missed": len(result.missed), "requeued": len(result.requeued)}


def _monitor(
    store: Store, queue: RunQueue, item: Mapping[str, Any], now: datetime, wall_now: datetime | None
) -> dict[str, int]:
    return {"checks": int(checks.dispatch(store, queue, item, now, wall_now=wall_now))}


def _autonomy(
    store: Store, queue: RunQueue, item: Mapping[str, Any], now: datetime, wall_now: datetime | None
) -> dict[str, int]:
    return {"queued": autonomy.dispatch(store, queue, item, now, wall_now=wall_now)}


def _goal_loop(
    store: Store, queue: RunQueue, item: Mapping[str, Any], now: datetime, wall_now: datetime | None
) -> dict[str, int]:
    return {"started": cycle.dispatch(store, queue, item, now, wall_now=wall_now)}


def _run(
    store: Store, queue: RunQueue, run_id: str, now_fn: Callable[[], datetime], extra: Mapping[str, Any]
) -> dict[str, Any]:
    return runs.execute(store, queue, run_id, now_fn=now_fn, message=extra)


def _delivery(
    store: Store, queue: RunQueue, delivery_id: str, now_fn: Callable[[], datetime], extra: Mapping[str, Any]
) -> dict[str, Any]:
    return deliveries.process(store, queue, delivery_id, now_fn)


def _check(
    store: Store, queue: RunQueue, check_id: str, now_fn: Callable[[], datetime], extra: Mapping[str, Any]
) -> dict[str, Any]:
    return checks.run_check(store, queue, check_id, now_fn())


DUE_KINDS: dict[str, DueKind] = {
    k.kind: k
    for k in (
        DueKind("schedule", _schedule),
        DueKind("monitor", _monitor),
        DueKind("autonomy", _autonomy),
        DueKind("loop_settings", _goal_loop),
    )
}

WORK_KINDS: dict[str, WorkKind] = {
    k.kind: k
    for k in (
        # A run's attempt guards itself; the timer of a callback wait re-sends itself, so a
        # second delivery of one would double the timer's messages: it keeps its record.
        WorkKind("run", _run, runs.abandon, runs.requeue, guards_itself=lambda extra: "wake" not in extra),
        WorkKind("delivery", _delivery, requeue=deliveries.requeue, guards_itself=lambda extra: True),
        WorkKind("check", _check, requeue=checks.requeue),
        WorkKind("notification", attempts.perform, attempts.abandon, attempts.requeue),
    )
}


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
