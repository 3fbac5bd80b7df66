"""The event bus: each context carries its own, so what one delivers reaches its subscribers and
no other's, with no registry to reset between tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from proactive import wiring
from proactive.context import Context
from proactive.events import (
    EVENT_TYPES,
    MONITOR_FAILING,
    PENDING,
    RUN_FINISHED,
    Bus,
    Event,
    Subscription,
)
from proactive.queue import RunQueue
from proactive.store import Store

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
RUN = {"id": "run-1", "workspace_id": "ws-1", "status": "succeeded"}


class Heard:
    """A subscriber that remembers what it was handed, and by which bus."""

    def __init__(self) -> None:
        self.events: list[tuple[Bus, Event]] = []

    def __call__(self, store: Store, queue: RunQueue, bus: Bus, event: Event, now: datetime) -> None:
        self.events.append((bus, event))


def context(*subscriptions: Subscription) -> Context:
    return Context(Store(), RunQueue(), Bus(subscriptions), clock=lambda: NOW)


def test_two_contexts_with_different_buses_deliver_to_their_own_subscribers() -> None:
    first, second = Heard(), Heard()
    one = context(Subscription("first", frozenset({RUN_FINISHED}), first))
    other = context(Subscription("second", frozenset({RUN_FINISHED}), second))

    one.bus.deliver(one.store, one.queue, [Event(RUN_FINISHED, RUN)], one.now())

    assert first.events == [(one.bus, Event(RUN_FINISHED, RUN))]
    assert second.events == []

    other.bus.deliver(other.store, other.queue, [Event(RUN_FINISHED, RUN)], other.now())

    assert second.events == [(other.bus, Event(RUN_FINISHED, RUN))]
    assert len(first.events) == 1


def test_a_bus_with_no_subscription_for_a_type_delivers_nothing_and_wants_nothing() -> None:
    heard = Heard()
    ctx = context(Subscription("monitors only", frozenset({MONITOR_FAILING}), heard))
    empty = context()

    ctx.bus.deliver(ctx.store, ctx.queue, [Event(RUN_FINISHED, RUN)], ctx.now())
    empty.bus.deliver(empty.store, empty.queue, [Event(RUN_FINISHED, RUN)], empty.now())

    assert heard.events == []
    assert ctx.bus.wanted(ctx.store, RUN, RUN_FINISHED) == {}
    assert empty.bus.wanted(empty.store, RUN, RUN_FINISHED) == {}


def test_only_the_types_a_subscriber_may_act_on_are_wanted() -> None:
    def told(store: Store, event: Event) -> bool:
        return event.subject.get("status") == "failed"

    ctx = context(Subscription("failures", frozenset({RUN_FINISHED}), Heard(), told))

    assert ctx.bus.wanted(ctx.store, RUN, RUN_FINISHED) == {}
    assert ctx.bus.wanted(ctx.store, {**RUN, "status": "failed"}, RUN_FINISHED) == {PENDING: [RUN_FINISHED]}


def test_a_subscribers_failure_is_raised_after_the_others_had_the_event() -> None:
    def fails(store: Store, queue: RunQueue, bus: Bus, event: Event, now: datetime) -> None:
        raise ConnectionError("the queue did not answer")

    after = Heard()
    ctx = context(
        Subscription("fails", frozenset({RUN_FINISHED}), fails),
        Subscription("after", frozenset({RUN_FINISHED}), after),
    )

    with pytest.raises(ConnectionError):
        ctx.bus.deliver(ctx.store, ctx.queue, [Event(RUN_FINISHED, RUN)], ctx.now())

    assert after.events == [(ctx.bus, Event(RUN_FINISHED, RUN))]


class Items:
    """Stands for an entity's table: records what is cleared."""

    def __init__(self) -> None:
        self.cleared: list[str] = []

    def update(self, item_id: str, **kwargs: Any) -> None:
        assert kwargs["remove"] == (PENDING,)
        self.cleared.append(item_id)


def test_flush_clears_the_pending_events_only_once_they_were_delivered() -> None:
    def fails(store: Store, queue: RunQueue, bus: Bus, event: Event, now: datetime) -> None:
        raise ConnectionError("the queue did not answer")

    heard, items = Heard(), Items()
    pending = {**RUN, PENDING: [RUN_FINISHED]}
    failing = context(Subscription("fails", frozenset({RUN_FINISHED}), fails))
    working = context(Subscription("heard", frozenset({RUN_FINISHED}), heard))

    with pytest.raises(ConnectionError):
        failing.bus.flush(failing.store, failing.queue, items, pending, failing.now())  # type: ignore[arg-type]
    assert items.cleared == []

    working.bus.flush(working.store, working.queue, items, pending, working.now())  # type: ignore[arg-type]
    assert heard.events == [(working.bus, Event(RUN_FINISHED, pending))]
    assert items.cleared == ["run-1"]


def test_the_wirings_bus_is_one_and_has_a_subscriber_for_every_platform_event() -> None:
    assert wiring.bus() is wiring.bus()
    assert wiring.bus().subscriptions == wiring.SUBSCRIPTIONS
    covered = set().union(*(s.types for s in wiring.bus().subscriptions))
    assert covered >= EVENT_TYPES
