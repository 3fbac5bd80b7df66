"""Recurring patterns: events that happen at the same hour most days, and metrics that peak at one.

An hour counts as a pattern when the event (or the metric's daily peak) falls in it on at least
`min_occurrences` days and on significantly more days than chance would give. The chance model
spreads each day's events uniformly over the 24 hours (or a day's peak over its observed hours);
the number of days that hit a given hour then follows a Poisson-binomial law, and its tail
probability is tested at 1%, Bonferroni-corrected for the number of hours tried.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from proactive.analytics.forecast import Numbers

_Array = npt.NDArray[np.float64]
_Ints = npt.NDArray[np.int64]

_SIGNIFICANCE = 0.01
_DAY = 86_400
_HOUR = 3_600
_WEEK = 7 * _DAY
# Day-of-week slots are tried only once the events span this many days.
_MIN_DAYS_FOR_WEEKDAYS = 14
# A metric's day counts only when at least half its hours have data.
_MIN_HOURS_PER_DAY = 12
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Pattern:
    """A recurring hour (or weekday and hour) for one event type or metric.

    `days_observed` counts the days in which the hour was observed (weeks, for a weekday
    pattern). `confidence` is the share of those on which the pattern occurred, discounted by the
    probability that chance alone would produce as many.
    """

    kind: Literal["recurring_event", "metric_peak"]
    subject: str
    hour_of_day: int
    day_of_week: int | None
    occurrences: int
    days_observed: int
    confidence: float
    description: str


def recurring_events(
    events: Sequence[tuple[float, str]],
    *,
    now: float,
    min_occurrences: int = 3,
    time_window_hours: float = 168,
    timezone: str = "UTC",
) -> list[Pattern]:
    """Hours of the day (in `timezone`) at which an event type recurs, within the window before `now`.

    `events` are (epoch seconds, event type); the log is taken to start at its earliest event
    or the window's start, whichever is later. An event counts towards the nearest whole hour, so
    13:50 and 14:10 both mean "around 14:00". Once the events span two weeks, weekday-and-hour
    slots are tried too, and one replaces the daily pattern at its hour when it is at least twice
    as regular. Most confident first.
    """
    zone = _zone(timezone)
    start = now - time_window_hours * _HOUR
    kept = [(t, kind) for t, kind in events if start < t <= now and math.isfinite(t)]
    if not kept:
        return []
    grid = _event_grid(kept, start, now, zone)
    patterns: list[Pattern] = []
    for type_id, name in enumerate(grid.types):
        patterns.extend(_type_patterns(grid, type_id, name, min_occurrences, timezone))
    return sorted(patterns, key=_order)


@dataclass(frozen=True)
class _EventGrid:
    """Events on a grid of local days and hours: the chance model and the hits of each type.

    Days are counted from `first_day` (local days since the epoch) over `span` days; `weekday`
    is each of those days' weekday (0 Monday). `hit_probability[type, day]` is the chance that
    the type's events that day fall in a given hour; `hit_type`, `hit_day` and `hit_hour` list the
    distinct (type, day, hour) hit. `observed_from` and `observed_to` bound the log in local
    seconds.
    """

    types: list[str]
    span: int
    weekday: _Ints
    hit_probability: _Array
    hit_type: _Ints
    hit_day: _Ints
    hit_hour: _Ints
    observed_from: float
    observed_to: float


def _event_grid(kept: list[tuple[float, str]], start: float, now: float, zone: ZoneInfo) -> _EventGrid:
    type_ids: dict[str, int] = {}
    ids = np.fromiter((type_ids.setdefault(kind, len(type_ids)) for _, kind in kept), np.int64, len(kept))
    times = np.fromiter((t for t, _ in kept), np.float64, len(kept))
    # Rounding to the nearest hour: shift by half an hour, then floor.
    shifted = _local_seconds(times, zone) + _HOUR / 2
    days = np.floor(shifted / _DAY).astype(np.int64)
    hours = ((shifted - days * _DAY) // _HOUR).astype(np.int64)

    first_day = int(days.min())
    span = int(days.max()) - first_day + 1
    n_types = len(type_ids)
    day_index = days - first_day

    # Events per type per day give the chance model; distinct (type, day, hour) give the hits.
    per_day = np.bincount(ids * span + day_index, minlength=n_types * span).reshape(n_types, span)
    hits = np.unique((ids * span + day_index) * 24 + hours)
    hit_type, hit_rest = np.divmod(hits, span * 24)
    hit_day, hit_hour = np.divmod(hit_rest, 24)
    return _EventGrid(
        types=list(type_ids),
        span=span,
        weekday=(np.arange(first_day, first_day + span) + 3) % 7,  # 1970-01-01 was a Thursday.
        hit_probability=np.asarray(1 - (23 / 24) ** per_day, dtype=np.float64),
        hit_type=hit_type,
        hit_day=hit_day,
        hit_hour=hit_hour,
        observed_from=float(_local_seconds(np.array([max(start, float(times.min()))]), zone)[0]),
        observed_to=float(_local_seconds(np.array([now]), zone)[0]),
    )


def _type_patterns(
    grid: _EventGrid, type_id: int, name: str, min_occurrences: int, timezone: str
) -> list[Pattern]:
    """The patterns of one event type: per hour, the daily pattern or the weekday ones replacing it."""
    mine = grid.hit_type == type_id
    chances = grid.hit_probability[type_id]
    daily = np.bincount(grid.hit_hour[mine], minlength=24)
    weekly = np.bincount(
        grid.weekday[grid.hit_day[mine]] * 24 + grid.hit_hour[mine], minlength=7 * 24
    ).reshape(7, 24)
    tails = _tail_probabilities(chances)
    patterns: list[Pattern] = []
    for hour in range(24):
        found: list[Pattern] = []
        if daily[hour] >= min_occurrences and tails[daily[hour]] <= _SIGNIFICANCE / 24:
            observed = _instants(grid.observed_from, grid.observed_to, hour * _HOUR, _DAY)
            found.append(
                _event_pattern(
                    name, hour, None, int(daily[hour]), observed, float(tails[daily[hour]]), timezone
                )
            )
        if grid.span < _MIN_DAYS_FOR_WEEKDAYS:
            patterns.extend(found)
            continue
        weekdays = _weekday_patterns(grid, name, hour, weekly[:, hour], chances, min_occurrences, timezone)
        # A weekday slot replaces the daily pattern when it is at least twice as regular: the
        # event belongs to that weekday rather than to every day.
        daily_regularity = found[0].occurrences / found[0].days_observed if found else 0.0
        weekdays = [p for p in weekdays if p.occurrences / p.days_observed >= 2 * daily_regularity]
        patterns.extend(weekdays or found)
    return patterns


def _weekday_patterns(
    grid: _EventGrid,
    name: str,
    hour: int,
    per_weekday: _Ints,
    chances: _Array,
    min_occurrences: int,
    timezone: str,
) -> list[Pattern]:
    """The weekdays on which the event type significantly recurs at `hour` (`per_weekday` hits)."""
    weekdays = []
    for dow in np.flatnonzero(per_weekday >= min_occurrences).tolist():
        occurrences = int(per_weekday[dow])
        p_value = float(_tail_probabilities(chances[grid.weekday == dow])[occurrences])
        if p_value > _SIGNIFICANCE / (7 * 24):
            continue
        # Local day 0 (1970-01-01) was a Thursday, so weekday w first falls on day (w - 3) mod 7.
        offset = ((dow - 3) % 7) * _DAY + hour * _HOUR
        observed = _instants(grid.observed_from, grid.observed_to, offset, _WEEK)
        weekdays.append(_event_pattern(name, hour, dow, occurrences, observed, p_value, timezone))
    return weekdays


def metric_peaks(
    timestamps: Numbers,
    values: Numbers,
    *,
    now: float,
    subject: str,
    min_occurrences: int = 3,
    time_window_hours: float = 168,
    timezone: str = "UTC",
) -> list[Pattern]:
    """Hours of the day (in `timezone`) in which the metric `subject` peaks on most days.

    Each day's peak is the hour with the highest mean value; days with fewer than 12 hours of
    data, or no single highest hour (a flat metric), are left out. Most confident first.
    """
    zone = _zone(timezone)
    t = np.asarray(timestamps, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.ndim != 1 or t.shape != v.shape:
        raise ValueError("timestamps and values must be sequences of the same length")
    start = now - time_window_hours * _HOUR
    keep = np.isfinite(t) & np.isfinite(v) & (t > start) & (t <= now)
    t, v = t[keep], v[keep]
    if t.size == 0:
        return []
    peak_hours, observed_hours, chances = _daily_peaks(t, v, zone)
    if not peak_hours:
        return []
    counts = np.bincount(np.asarray(peak_hours), minlength=24)
    patterns = []
    for hour in np.flatnonzero(counts >= min_occurrences).tolist():
        # Only the days that saw this hour could have peaked in it.
        seen = np.array([hour in hours for hours in observed_hours])
        occurrences = int(counts[hour])
        days_observed = int(seen.sum())
        p_value = float(_tail_probabilities(np.asarray(chances)[seen])[occurrences])
        if p_value > _SIGNIFICANCE / 24:
            continue
        patterns.append(_peak_pattern(subject, hour, occurrences, days_observed, p_value, timezone))
    return sorted(patterns, key=_order)


def _daily_peaks(t: _Array, v: _Array, zone: ZoneInfo) -> tuple[list[int], list[_Ints], list[float]]:
    """Per day with a clear peak and enough data: its peak hour, the hours it observed, and the
    chance it would peak in any one of them under no pattern."""
    local = _local_seconds(t, zone)
    slots, inverse = np.unique(np.floor(local / _HOUR).astype(np.int64), return_inverse=True)
    means = np.bincount(inverse, weights=v) / np.bincount(inverse)
    slot_days, slot_hours = np.divmod(slots, 24)

    peak_hours: list[int] = []
    observed_hours: list[_Ints] = []
    chances: list[float] = []
    # Slots are sorted, so each day's hours are one contiguous run.
    boundaries = np.flatnonzero(np.diff(slot_days)) + 1
    for day_means, day_hours in zip(
        np.split(means, boundaries), np.split(slot_hours, boundaries), strict=True
    ):
        if day_means.size < _MIN_HOURS_PER_DAY:
            continue
        top_two = np.partition(day_means, -2)[-2:]
        if top_two[1] <= top_two[0]:
            continue
        peak_hours.append(int(day_hours[int(np.argmax(day_means))]))
        observed_hours.append(day_hours)
        chances.append(1 / day_means.size)
    return peak_hours, observed_hours, chances


def _peak_pattern(
    subject: str, hour: int, occurrences: int, days_observed: int, p_value: float, timezone: str
) -> Pattern:
    return Pattern(
        kind="metric_peak",
        subject=subject,
        hour_of_day=hour,
        day_of_week=None,
        occurrences=occurrences,
        days_observed=days_observed,
        confidence=_confidence(occurrences, days_observed, p_value),
        description=(
            f"{subject} peaks around {hour:02d}:00 {timezone} "
            f"on {occurrences} of the last {days_observed} days"
        ),
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Paris'") from exc


def _offset_seconds(instant: float, zone: ZoneInfo) -> float:
    offset = datetime.fromtimestamp(instant, UTC).astimezone(zone).utcoffset()
    return (offset or timedelta(0)).total_seconds()


def _local_seconds(times: _Array, zone: ZoneInfo) -> _Array:
    """Wall-clock seconds since the local epoch: UTC instants plus the zone's offset at each.

    Offsets are looked up once per UTC hour; only in an hour where the offset changes (a
    daylight saving transition) is each instant looked up on its own.
    """
    hours, inverse = np.unique(np.floor(times / _HOUR), return_inverse=True)
    at_start = np.array([_offset_seconds(h * _HOUR, zone) for h in hours.tolist()])
    at_end = np.array([_offset_seconds(h * _HOUR + _HOUR - 1, zone) for h in hours.tolist()])
    offsets = at_start[inverse]
    for i in np.flatnonzero((at_start != at_end)[inverse]).tolist():
        offsets[i] = _offset_seconds(float(times[i]), zone)
    return np.asarray(times + offsets, dtype=np.float64)


def _instants(first: float, last: float, offset: float, period: float) -> int:
    """How many instants offset + k * period (k an integer) lie in [first, last]."""
    return max(0, math.floor((last - offset) / period) - math.ceil((first - offset) / period) + 1)


def _tail_probabilities(chances: _Array) -> _Array:
    """P(at least k successes) for k = 0..n, over independent trials with these chances."""
    pmf = np.zeros(chances.size + 1)
    pmf[0] = 1.0
    for chance in chances.tolist():
        if chance <= 0:
            continue
        shifted = pmf[:-1] * chance
        pmf *= 1 - chance
        pmf[1:] += shifted
    return np.asarray(np.cumsum(pmf[::-1])[::-1], dtype=np.float64)


def _confidence(occurrences: int, observed: int, p_value: float) -> float:
    return min(1.0, occurrences / max(observed, 1)) * (1 - p_value)


def _event_pattern(
    subject: str, hour: int, dow: int | None, occurrences: int, observed: int, p_value: float, zone: str
) -> Pattern:
    # An event just before `now` can count towards a slot whose hour has not quite come yet.
    observed = max(observed, occurrences)
    if dow is None:
        when = f"on {occurrences} of the last {observed} days"
    else:
        when = f"on {_WEEKDAYS[dow]}s in {occurrences} of the last {observed} weeks"
    return Pattern(
        kind="recurring_event",
        subject=subject,
        hour_of_day=hour,
        day_of_week=dow,
        occurrences=occurrences,
        days_observed=observed,
        confidence=_confidence(occurrences, observed, p_value),
        description=f"{subject} happens around {hour:02d}:00 {zone} {when}",
    )


def _order(pattern: Pattern) -> tuple[float, str, int, int]:
    return (
        -pattern.confidence,
        pattern.subject,
        -1 if pattern.day_of_week is None else pattern.day_of_week,
        pattern.hour_of_day,
    )
