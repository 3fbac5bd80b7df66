"""The catch-up rule: which of a schedule's due occurrences are queued and which are recorded as
missed, decided apart from any I/O (`proactive.schedules.dispatch` reads, asks, and writes).

An occurrence is due when it fires by the end of the current window. A due occurrence that fired
before the cutoff (`missed_after_seconds` ago) was missed, during downtime; the others are on
time and always queued. What becomes of the missed ones is the schedule's `catch_up` policy:

- `all`: each is queued, oldest first, ahead of those on time;
- `latest`: the latest one is queued, ahead of those on time, and the others are recorded as
  missed. Which one is the latest is known only once the occurrences reach the cutoff: while a
  chunk holds missed occurrences only and more follow it, all of its own are recorded as missed;
- `skip` (and any other): each is recorded as missed, none is run.

At most `limit` occurrences are planned at once (a bounded chunk, so a schedule that was down for
long catches up over several ticks); `next_fire` is where the next chunk or tick starts, None
when the schedule never fires again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class CatchUpPlan:
    """`queue`: occurrences to run, in the order to queue them; `miss`: occurrences to record as
    missed, oldest first; `next_fire`: the first occurrence not planned (None: there is none)."""

    queue: list[datetime] = field(default_factory=list)
    miss: list[datetime] = field(default_factory=list)
    next_fire: datetime | None = None


def plan(
    first: datetime,
    next_after: Callable[[datetime], datetime | None],
    *,
    end: datetime,
    cutoff: datetime,
    policy: str,
    limit: int,
) -> CatchUpPlan:
    """Plan the occurrences from `first` (the schedule's next fire) that are due by `end`, each
    following the last by `next_after`, at most `limit` of them; those before `cutoff` were
    missed and follow `policy` (`all`, `latest` or `skip`)."""
    fires: list[datetime] = []
    nxt: datetime | None = first
    while nxt is not None and nxt <= end and len(fires) < limit:
        fires.append(nxt)
        nxt = next_after(nxt)
    # The latest missed occurrence is only known once this chunk reaches the cutoff.
    missed_complete = nxt is None or nxt >= cutoff
    missed = [f for f in fires if f < cutoff]
    on_time = [f for f in fires if f >= cutoff]
    if policy == "all":
        return CatchUpPlan(queue=missed + on_time, miss=[], next_fire=nxt)
    if policy == "latest" and missed and missed_complete:
        return CatchUpPlan(queue=[missed[-1], *on_time], miss=missed[:-1], next_fire=nxt)
    return CatchUpPlan(queue=on_time, miss=missed, next_fire=nxt)
