"""Associations: an event type regularly followed by a run, and the payload value that tells when.

Each event of a type in the window is "followed" when a run comes within `max_delay` after it
(at the event's instant or later); events closer to `now` than `max_delay` are left out, as their
outcome is not known yet. An event followed by several runs counts once, with the delay to the
first; several events before one run are each followed.

* Rate and confidence. rate = followed / events; confidence is its Wilson lower bound (95%), the
  rate one can rely on given how many events there were.
* Chance. The share of the window's instants that some run follows within `max_delay` (the
  length of the union of the stretches [run - max_delay, run] over the window's): what the rate
  would be if events and runs were unrelated. For runs spread evenly at rate r it is about
  1 - exp(-r x max_delay); bursts of runs cover less, and count for less.
* Lift and significance. lift = rate / chance, and p is the binomial probability of at least as
  many followed events at the chance rate.
* Gates. An association needs at least `min_support` followed events, p under `significance`
  (1%) and a lift of at least `min_lift` (2): unrelated events and runs give a lift near 1, under
  that floor, and a p-value far above it.
* Delay. The median delay to the run and its spread, the median absolute deviation.
* Filter. A top-level payload field with at most 10 distinct scalar values (text, numbers,
  booleans; other values count as absent) offers one equality per value. The filter is the
  equality whose events are followed most reliably (the highest Wilson lower bound) among those
  that pass the gates on their own events and whose bound exceeds the rate among the type's other
  events, so that the value really separates followed events from unfollowed ones. An event type
  whose events as a whole fail the gates is still reported when such a filter exists.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

_Array = npt.NDArray[np.float64]
_Bools = npt.NDArray[np.bool_]

_Z95 = 1.959963984540054
_MAX_VALUES = 10
_UNITS = ((86_400, "day"), (3_600, "hour"), (60, "minute"), (1, "second"))

Scalar = str | int | float | bool
_Key = tuple[str, Scalar]


@dataclass(frozen=True)
class EventFilter:
    """An equality on a payload field that picks out the events a run follows.

    `events` and `followed` count the events with `field` equal to `value` and those a run
    followed; `other_events` and `other_followed` the rest of the type. `confidence` is the Wilson
    lower bound of `rate`; `lift` and `p_value` compare it with chance as for the association.
    `evidence` indexes the followed events with the value in the events given.
    """

    field: str
    value: Scalar
    events: int
    followed: int
    rate: float
    confidence: float
    lift: float
    p_value: float
    other_events: int
    other_followed: int
    evidence: tuple[int, ...]

    @property
    def text(self) -> str:
        """The equality as written in a filter: severity = "high"."""
        return f"{self.field} = {json.dumps(self.value)}"


@dataclass(frozen=True)
class Association:
    """An event type that a run follows within `max_delay` more often than chance.

    `events` and `followed` count the type's events in the window and those followed; `rate` is
    their ratio and `confidence` its Wilson lower bound (95%). `chance` is the rate unrelated runs
    would give, `lift` = rate / chance and `p_value` the binomial test of the rate against chance.
    `median_delay` and `delay_spread` (median absolute deviation) describe the delays to the run.
    `filter` is the payload equality that separates followed events from the others, if any.
    `evidence` indexes the followed events in the events given.
    """

    event_type: str
    max_delay: timedelta
    events: int
    followed: int
    rate: float
    confidence: float
    chance: float
    lift: float
    p_value: float
    median_delay: timedelta
    delay_spread: timedelta
    filter: EventFilter | None
    evidence: tuple[int, ...]

    def describe(self, subject: str) -> str:
        """One sentence with the numbers, such as: You ran triage within 5 minutes after 36 of
        the last 40 alert events with severity = "high" (and 2 of the other 40); the run came a
        median of 3 minutes after the event."""
        delay = f"the run came a median of {duration_text(self.median_delay)} after the event"
        within = f"You ran {subject} within {duration_text(self.max_delay)}"
        found = self.filter
        if found is None:
            return (
                f"{within} after {self.followed} of the last {self.events} {self.event_type} events; {delay}"
            )
        return (
            f"{within} after {found.followed} of the last {found.events} {self.event_type} events "
            f"with {found.text} (and {found.other_followed} of the other {found.other_events}); {delay}"
        )


def associations(
    events: Sequence[tuple[datetime, str, Mapping[str, Any]]],
    runs: Sequence[datetime],
    *,
    max_delay: timedelta,
    now: datetime,
    window: timedelta = timedelta(days=35),
    min_support: int = 5,
    min_lift: float = 2.0,
    significance: float = 0.01,
) -> list[Association]:
    """The event types (time, type, payload) that `runs` follow within `max_delay`, in the window.

    The window is the `window` before `now`. Most confident first (an association's confidence,
    or its filter's when higher). The module docstring gives the method.
    """
    if max_delay <= timedelta(0):
        raise ValueError("max_delay must be positive")
    _require_aware(now, "now")
    start, end = now - window, now - max_delay
    run_times = np.sort(np.array([_seconds(run, "runs") for run in runs if run <= now], dtype=np.float64))
    gates = _Gates(min_support, min_lift, significance)
    chance = _coverage(run_times, start.timestamp(), end.timestamp(), max_delay.total_seconds())
    by_type: dict[str, list[int]] = {}
    for i, (instant, kind, _payload) in enumerate(events):
        _require_aware(instant, "events")
        if start < instant <= end:
            by_type.setdefault(kind, []).append(i)
    found = []
    for kind, indices in by_type.items():
        association = _association(kind, indices, events, run_times, chance, max_delay, gates)
        if association is not None:
            found.append(association)
    return sorted(
        found, key=lambda a: (-max(a.confidence, a.filter.confidence if a.filter else 0), a.event_type)
    )


def wilson_lower_bound(successes: int, trials: int, z: float = _Z95) -> float:
    """The lower end of the Wilson score interval (95% by default) for successes / trials."""
    if trials <= 0:
        return 0.0
    p = successes / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    margin = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, (centre - margin) / (1 + z2 / trials))


def binomial_tail(successes: int, trials: int, chance: float) -> float:
    """P(at least `successes` of `trials` independent trials succeed, each with `chance`)."""
    if successes <= 0 or chance >= 1:
        return 1.0
    if chance <= 0 or successes > trials:
        return 0.0
    log_factorial = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, trials + 1, dtype=np.float64)))))
    k = np.arange(successes, trials + 1)
    log_pmf = (
        log_factorial[trials]
        - log_factorial[k]
        - log_factorial[trials - k]
        + k * math.log(chance)
        + (trials - k) * math.log1p(-chance)
    )
    return min(1.0, float(np.exp(log_pmf).sum()))


def duration_text(duration: timedelta) -> str:
    """A duration in the largest unit that reads well: "90 seconds", "1 minute", "2.5 hours".

    A unit is used when the duration is a whole number of it or at least two of it.
    """
    seconds = duration.total_seconds()
    for size, unit in _UNITS:
        if seconds >= size and (seconds % size == 0 or seconds >= 2 * size):
            return _amount(seconds / size, unit)
    return _amount(seconds, "second")


@dataclass(frozen=True)
class _Gates:
    min_support: int
    min_lift: float
    significance: float

    def passed(self, followed: int, p_value: float, lift: float) -> bool:
        return followed >= self.min_support and p_value < self.significance and lift >= self.min_lift


def _amount(value: float, unit: str) -> str:
    rounded = round(value, 1)
    return f"{rounded:g} {unit}" if rounded == 1 else f"{rounded:g} {unit}s"


def _require_aware(instant: datetime, what: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware datetimes")


def _seconds(instant: datetime, what: str) -> float:
    _require_aware(instant, what)
    return instant.timestamp()


def _coverage(runs: _Array, start: float, end: float, delay: float) -> float:
    """The share of (start, end] that a run follows within `delay` (`runs` sorted)."""
    if end <= start or runs.size == 0:
        return 0.0
    low = np.clip(runs - delay, start, end)
    high = np.clip(runs, start, end)
    # Stretches are equally long and sorted, so each adds what lies past the one before it.
    previous = np.concatenate(([start], high[:-1]))
    return float(np.maximum(0.0, high - np.maximum(low, previous)).sum()) / (end - start)


def _lift(rate: float, chance: float) -> float:
    if chance > 0:
        return rate / chance
    return math.inf if rate > 0 else 0.0


def _delays(times: _Array, runs: _Array) -> _Array:
    """Seconds from each time to the first run at or after it (infinite when none)."""
    if runs.size == 0:
        return np.full(times.size, math.inf)
    at = np.searchsorted(runs, times, side="left")
    next_run = np.where(at < runs.size, runs[np.minimum(at, runs.size - 1)], math.inf)
    return np.asarray(next_run - times, dtype=np.float64)


def _association(
    kind: str,
    indices: list[int],
    events: Sequence[tuple[datetime, str, Mapping[str, Any]]],
    runs: _Array,
    chance: float,
    max_delay: timedelta,
    gates: _Gates,
) -> Association | None:
    times = np.array([events[i][0].timestamp() for i in indices], dtype=np.float64)
    delays = _delays(times, runs)
    followed = delays <= max_delay.total_seconds()
    count, total = int(np.count_nonzero(followed)), len(indices)
    rate = count / total
    p_value = binomial_tail(count, total, chance)
    lift = _lift(rate, chance)
    found = _best_filter([events[i][2] for i in indices], followed, indices, chance, gates)
    if not gates.passed(count, p_value, lift) and found is None:
        return None
    median = float(np.median(delays[followed])) if count else 0.0
    spread = float(np.median(np.abs(delays[followed] - median))) if count else 0.0
    return Association(
        event_type=kind,
        max_delay=max_delay,
        events=total,
        followed=count,
        rate=rate,
        confidence=wilson_lower_bound(count, total),
        chance=chance,
        lift=lift,
        p_value=p_value,
        median_delay=timedelta(seconds=median),
        delay_spread=timedelta(seconds=spread),
        filter=found,
        evidence=tuple(indices[i] for i in np.flatnonzero(followed).tolist()),
    )


def _key(value: object) -> _Key | None:
    """A payload value as a candidate for equality: text, a whole or finite number, a boolean."""
    if isinstance(value, bool | str | int) or (isinstance(value, float) and math.isfinite(value)):
        return (type(value).__name__, value)
    return None


def _best_filter(
    payloads: list[Mapping[str, Any]], followed: _Bools, indices: list[int], chance: float, gates: _Gates
) -> EventFilter | None:
    """The payload equality that best picks out the followed events, or None."""
    best: EventFilter | None = None
    fields = sorted({name for payload in payloads for name in payload if isinstance(name, str)})
    for field in fields:
        keys = [_key(payload[field]) if field in payload else None for payload in payloads]
        values = {key for key in keys if key is not None}
        if len(values) > _MAX_VALUES:
            continue
        for key in sorted(values, key=repr):
            chosen = np.array([k == key for k in keys], dtype=np.bool_)
            if chosen.all():
                continue
            candidate = _filter(field, key[1], chosen, followed, indices, chance)
            if candidate.confidence <= candidate.other_followed / candidate.other_events:
                continue
            if not gates.passed(candidate.followed, candidate.p_value, candidate.lift):
                continue
            if best is None or (candidate.confidence, candidate.followed) > (best.confidence, best.followed):
                best = candidate
    return best


def _filter(
    field: str, value: Scalar, chosen: _Bools, followed: _Bools, indices: list[int], chance: float
) -> EventFilter:
    events, hits = int(np.count_nonzero(chosen)), int(np.count_nonzero(chosen & followed))
    rate = hits / events
    return EventFilter(
        field=field,
        value=value,
        events=events,
        followed=hits,
        rate=rate,
        confidence=wilson_lower_bound(hits, events),
        lift=_lift(rate, chance),
        p_value=binomial_tail(hits, events, chance),
        other_events=int(np.count_nonzero(~chosen)),
        other_followed=int(np.count_nonzero(~chosen & followed)),
        evidence=tuple(indices[i] for i in np.flatnonzero(chosen & followed).tolist()),
    )
