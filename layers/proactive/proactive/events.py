"""Platform events (a run finished, a monitor became failing or recovered, an occurrence was
missed) and the bus that delivers them to their subscribers.

Publishing is an outbox on the item the event is about: the write that changes the item also
records the event's type in its `pending_events`, so the change and the event cannot part. The
events are then delivered to every subscriber and cleared. Whoever meets the item again with
events still pending (a redelivered queue message, the next check of a monitor, the next tick)
delivers them again. Subscribers must therefore be idempotent; they are, because everything
they create has an id derived from the event (a chained run's id names the trigger and the run).

The subscribers are named by the platform's wiring (`proactive.wiring`), which builds the bus
(`Bus`) that each function's context carries and hands to the work it does; this module knows
none of them. A subscriber may say, from the event alone (and at most a read), whether it may act
on it (`may_act`). A run's end that no subscriber may act on is not recorded (`Bus.wanted`): a
plain run with no one to tell and nothing chained to it is not written again just to clear the
event.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr

from proactive.observability import logger
from proactive.queue import RunQueue
from proactive.store import ConditionFailed, Store
from proactive.store.entities import Entities, field_of

if TYPE_CHECKING:
    from proactive.models.common import Record

PENDING = "pending_events"

RUN_STARTED = "run.started"  # a run's first attempt started (published only when someone is told)
RUN_FINISHED = "run.finished"  # a run succeeded or failed, after its last attempt
OCCURRENCE_MISSED = "occurrence.missed"  # a schedule occurrence was recorded as missed
MONITOR_FAILING = "monitor.failing"  # a monitor's checks failed `monitor_failure_threshold` times
MONITOR_RECOVERED = "monitor.recovered"  # a failing monitor's check succeeded again
EVENT_TYPES = frozenset({RUN_STARTED, RUN_FINISHED, OCCURRENCE_MISSED, MONITOR_FAILING, MONITOR_RECOVERED})
# Events were recorded in a workspace (`POST /api/autonomous/events`): the subject is
# `{workspace_id, events: [{id, event_type, timestamp, metadata}]}`, those that happened lately.
EVENTS_RECORDED = "events.recorded"


@dataclass(frozen=True)
class Event:
    """Something that happened to `subject` (the item as it was written)."""

    type: str
    subject: Mapping[str, Any]


# (store, queue, the bus the event came by, the event, now): what a subscriber does with an
# event; what it starts publishes its own events on the same bus.
Deliver = Callable[[Store, RunQueue, "Bus", Event, datetime], None]
# Whether a subscriber may act on an event. It may say yes when it will not (that costs a
# delivery that does nothing), never no when it would (that loses the event).
MayAct = Callable[[Store, Event], bool]


def _always(store: Store, event: Event) -> bool:
    return True


@dataclass(frozen=True)
class Subscription:
    name: str
    types: frozenset[str]
    deliver: Deliver
    may_act: MayAct = _always


def pending(*types: str) -> dict[str, list[str]]:
    """The attribute that records events in the same write as the change they report."""
    unknown = set(types) - EVENT_TYPES
    if unknown:
        raise ValueError(f"unknown event type(s) {sorted(unknown)}")
    return {PENDING: list(types)}


@dataclass(frozen=True)
class Bus:
    """Delivers events to `subscriptions`, each to those whose types include the event's."""

    subscriptions: tuple[Subscription, ...]

    def wanted(self, store: Store, subject: Mapping[str, Any], *types: str) -> dict[str, list[str]]:
        """`pending` for those of `types` some subscriber may act on, about `subject` as it is
        being written (nothing, when none are)."""
        kept = [
            t
            for t in types
            if any(s.may_act(store, Event(t, subject)) for s in self.subscriptions if t in s.types)
        ]
        return pending(*kept) if kept else {}

    def deliver(self, store: Store, queue: RunQueue, events: Sequence[Event], now: datetime) -> None:
        """Hand each event to its subscribers. A subscriber's failure is raised after the others
        have had theirs, so the caller leaves the events pending and they are delivered again."""
        failed: list[Exception] = []
        for event in events:
            for subscription in self.subscriptions:
                if event.type not in subscription.types:
                    continue
                try:
                    subscription.deliver(store, queue, self, event, now)
                except Exception as exc:
                    logger.exception(
                        "event subscriber failed; the event stays pending",
                        extra={
                            "event": event.type,
                            "subscriber": subscription.name,
                            "subject": event.subject.get("id"),
                        },
                    )
                    failed.append(exc)
        if failed:
            raise failed[0]

    def flush(
        self,
        store: Store,
        queue: RunQueue,
        entities: Entities[Any],
        item: Mapping[str, Any] | Record,
        now: datetime,
    ) -> None:
        """Deliver the events pending on `item` (a record, or a stored item), then clear them.
        Each event's subject is the item as stored. Safe to repeat."""
        types = field_of(item, PENDING) or []
        if not types:
            return
        subject = item if isinstance(item, Mapping) else item.as_stored()
        self.deliver(store, queue, [Event(t, subject) for t in types], now)
        # Cleared by another delivery meanwhile, or the item is gone: either way nothing is pending.
        with contextlib.suppress(ConditionFailed):
            entities.update(subject["id"], remove=(PENDING,), condition=Attr(PENDING).exists())
