"""Routines: an activity that recurs at a time of day on a set of weekdays, read in local time.

A routine is what a person would write as a cron: "weekdays at 09:00 New York time". Times are
read in the workspace's zone, so a habit kept at 09:00 local holds across a daylight saving change
(read in UTC it would jump by an hour). Everything is computed from the instants given and `now`.

The method, step by step:

* Times of day. Each activity in the window becomes minutes since local midnight, mapped to an
  angle (a day is one turn), so 23:55 and 00:05 lie ten minutes apart. The mean time is the
  circular mean; the spread is the circular standard deviation, sqrt(-2 ln R) of a turn in
  minutes, where R is the mean resultant length.
* Clusters. The times are smoothed with a Gaussian kernel (15 minutes); its peaks, at least 45
  minutes apart, are the candidate times, densest first, and each activity belongs to the nearest
  peak within an hour. The first candidate that makes a routine (below) is kept and its
  activities set aside, and the search runs again on the rest: activity at 09:00 and at 17:30
  makes two routines.
* Not noise. Around a candidate, the times within three hours either side are stretched to a
  full turn and the Rayleigh test asks whether they are spread evenly over those six hours (the
  p-value from Zar's small-sample formula). It is multiplied by 4, for the four such quarters of
  a day a search could pick, and must stay under `significance` (1%). On uniformly random times
  it rejects in 1 to 2% of searches, before the gates below. Being local, the test sees a
  routine amid other activity, and sees nothing in activity evenly spaced an hour, two or three
  apart (no time of day stands out); at four hours or more each time is a routine of its own.
* Time and tolerance. An activity matches a fire within +/- max(15 minutes, 2 x spread), at most
  an hour, where the spread here is robust (1.4826 x the median absolute deviation from the
  cluster's median time) so that strays in the cluster's hour do not widen it. A routine's time
  is the circular mean of the cluster's times within that tolerance, rounded to the coarsest of
  an hour, half an hour, a quarter and 5 minutes that lies within a quarter of the tolerance of
  it (5 minutes always does): the cron reads like one a person wrote.
* Weekdays. A daily cron at that time is back-tested and each weekday gets its hit rate (the share
  of its days with an activity within tolerance). The set is the k weekdays with the highest
  rates, k chosen to maximise F1 = 2 hits_in_set / (hits_in_set + days_in_set + all_hits), which
  counts fires without an activity and activities without a fire against it alike; on a tie the
  larger set wins. Monday to Friday at 23 of 25 weekdays and no weekend thus gives "1-5".
* Back-test. The routine's cron runs in the zone over the window (fires at least one tolerance
  before `now`, whose outcome is known). precision = fires with an activity / fires; recall =
  activities caught by a fire / activities within tolerance of the time of day on any day.
* Gates. A routine needs an activity on at least `min_occurrences` of its fires, a precision
  whose Wilson lower bound (95%) is at least `min_precision` (one half: 5 of 5 fires pass, 6 of 8
  do not), and must stand out from what surrounds it: the activities within tolerance of its
  time must be at least twice as dense as in the denser of the arcs one tolerance wide just
  before and just after, so steady activity through working hours, or its edge, is no routine.
* Confidence is the smaller of the Wilson lower bounds (95%) of precision and recall: high only
  when the cron fires when the activity happens and the activity happens when the cron fires, on
  enough days to be sure of it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from proactive.analytics.associations import wilson_lower_bound
from proactive.lib.cron import CronSchedule, load_zone

_Array = npt.NDArray[np.float64]
_Bools = npt.NDArray[np.bool_]
_Ints = npt.NDArray[np.int64]

# Minutes in a day: one turn of the circle.
_TURN = 1440
_KERNEL_MINUTES = 15.0
_PEAK_SEPARATION = 45
_CAPTURE_MINUTES = 60.0
_MIN_TOLERANCE = 15.0
_MAX_TOLERANCE = 60.0
# Rounding steps for a routine's time, coarsest first.
_ROUND_STEPS = (60, 30, 15, 5)
# The Rayleigh test looks this far either side of a candidate time: a quarter of the day.
_NEIGHBOURHOOD_MINUTES = 180.0
_CONTRAST = 2.0
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
# Day sets with a name: how to say them, and what to count them in.
_NAMED_DAYS = {
    _EVERY_DAY: ("every day", "days"),
    (0, 1, 2, 3, 4): ("weekdays", "weekdays"),
    (5, 6): ("weekends", "weekend days"),
}


@dataclass(frozen=True)
class Routine:
    """A time of day, on a set of weekdays, at which an activity recurs, with its back-test.

    `cron` (minute hour * * day-of-week) is read in `zone`; `minute_of_day` is its local time and
    `weekdays` its days (0 Monday). `mean_time`, `earliest` and `latest` ("09:04") and
    `spread_minutes` describe the matched activities; `tolerance_minutes` is how far an activity
    may lie from a fire and still match it. `rayleigh_p` is the local uniformity test's p-value
    (corrected for the quarters of the day) for the times that remained when it was taken.
    `occurrences` counts the activities within tolerance of the time of day on any day and
    `matched_activities` those a fire caught (recall is their ratio). `fires` counts the cron's
    fires in the window and `matched_fires` those with an activity (precision is their ratio);
    `days_expected` and `days_seen` are the same counts read as days, one fire a day.
    `confidence` is the smaller Wilson lower bound (95%) of precision and recall. `evidence`
    indexes the matched activities in the instants given.
    """

    cron: str
    zone: str
    minute_of_day: int
    weekdays: tuple[int, ...]
    mean_time: str
    earliest: str
    latest: str
    spread_minutes: float
    tolerance_minutes: float
    rayleigh_p: float
    occurrences: int
    matched_activities: int
    days_seen: int
    days_expected: int
    precision: float
    recall: float
    matched_fires: int
    fires: int
    confidence: float
    evidence: tuple[int, ...]

    @property
    def days_text(self) -> str:
        """The weekdays in words: "every day", "weekdays", "weekends", "Mondays and Thursdays"."""
        return _NAMED_DAYS.get(self.weekdays, (_plural_days(self.weekdays),))[0]

    def describe(self, subject: str) -> str:
        """One sentence with the numbers, such as: You ran report-agent on 23 of the last 25 weekdays
        between 08:58 and 09:14 New York time."""
        days = _NAMED_DAYS.get(self.weekdays, ("", _plural_days(self.weekdays)))[-1]
        return (
            f"You ran {subject} on {self.days_seen} of the last {self.days_expected} {days} "
            f"between {self.earliest} and {self.latest} {zone_text(self.zone)}"
        )


def recurring_times(
    instants: Sequence[datetime],
    zone: str,
    now: datetime,
    *,
    window_days: float = 35,
    min_occurrences: int = 5,
    min_precision: float = 0.5,
    significance: float = 0.01,
) -> list[Routine]:
    """The routines among `instants` in the `window_days` before `now`, read in `zone`.

    `instants` are aware datetimes in any order; a routine's `evidence` indexes into them. Most
    confident first. Raises CronError (a ValueError) for an unknown zone and ValueError for a
    naive datetime. The module docstring gives the method.
    """
    _require_aware(now, "now")
    search = _Search(
        zone=zone,
        tz=load_zone(zone),
        start=now - timedelta(days=window_days),
        now=now,
        min_occurrences=min_occurrences,
        min_precision=min_precision,
    )
    history = _read(instants, search)
    left = np.ones(history.index.size, dtype=np.bool_)
    routines: list[Routine] = []
    while np.count_nonzero(left) >= min_occurrences:
        found = _first_routine(history, left, search, significance)
        if found is None:
            break
        routine, used = found
        routines.append(routine)
        left &= ~used
    return sorted(routines, key=lambda r: (-r.confidence, r.minute_of_day))


def rayleigh_p_value(minutes: Sequence[float] | _Array) -> float:
    """The Rayleigh test's p-value that times of day (minutes since midnight) are spread evenly.

    Zar's approximation, close to exact from five values on: p = exp(sqrt(1 + 4n + 4(n^2 - R^2))
    - (1 + 2n)), with R the length of the sum of the n unit vectors.
    """
    angles = np.asarray(minutes, dtype=np.float64) * (2 * math.pi / _TURN)
    n = angles.size
    if n == 0:
        return 1.0
    r = math.hypot(float(np.cos(angles).sum()), float(np.sin(angles).sum()))
    return min(1.0, math.exp(math.sqrt(1 + 4 * n + 4 * (n * n - r * r)) - (1 + 2 * n)))


def circular_mean(minutes: Sequence[float] | _Array) -> float:
    """The mean time of day, in minutes since midnight in [0, 1440), read on the circle."""
    angles = np.asarray(minutes, dtype=np.float64) * (2 * math.pi / _TURN)
    angle = math.atan2(float(np.sin(angles).mean()), float(np.cos(angles).mean()))
    # A tiny negative angle would otherwise come back as 1440.
    return (angle * _TURN / (2 * math.pi)) % _TURN % _TURN


def circular_spread(minutes: Sequence[float] | _Array) -> float:
    """The circular standard deviation of times of day, in minutes (infinite for no direction)."""
    angles = np.asarray(minutes, dtype=np.float64) * (2 * math.pi / _TURN)
    resultant = math.hypot(float(np.sin(angles).mean()), float(np.cos(angles).mean()))
    if resultant <= 0:
        return math.inf
    return math.sqrt(max(0.0, -2 * math.log(min(1.0, resultant)))) * _TURN / (2 * math.pi)


def zone_text(zone: str) -> str:
    """A zone as a person names it: "New York time" for America/New_York; "UTC" stays."""
    if zone.upper() in {"UTC", "ETC/UTC", "Z", "GMT", "ETC/GMT"}:
        return "UTC"
    return zone.rsplit("/", 1)[-1].replace("_", " ") + " time"


@dataclass(frozen=True)
class _Search:
    zone: str
    tz: ZoneInfo
    start: datetime
    now: datetime
    min_occurrences: int
    min_precision: float


@dataclass(frozen=True)
class _History:
    """The activities in the window: index in the input, epoch seconds, local minute of the day."""

    index: _Ints
    seconds: _Array
    minutes: _Array


def _require_aware(instant: datetime, what: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware datetimes")


def _read(instants: Sequence[datetime], search: _Search) -> _History:
    index: list[int] = []
    seconds: list[float] = []
    minutes: list[float] = []
    for i, instant in enumerate(instants):
        _require_aware(instant, "instants")
        if not search.start < instant <= search.now:
            continue
        local = instant.astimezone(search.tz)
        index.append(i)
        seconds.append(instant.timestamp())
        minutes.append(local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60)
    return _History(
        index=np.array(index, dtype=np.int64),
        seconds=np.array(seconds, dtype=np.float64),
        minutes=np.array(minutes, dtype=np.float64),
    )


def _local_p(minutes: _Array, peak: float) -> float:
    """The Rayleigh test on the times within three hours of `peak`, stretched to a full turn, x 4."""
    offset = _signed(minutes, peak)
    inside = offset[np.abs(offset) <= _NEIGHBOURHOOD_MINUTES]
    quarters = _TURN / (2 * _NEIGHBOURHOOD_MINUTES)
    return min(1.0, quarters * rayleigh_p_value(inside * quarters))


def _centre(minutes: _Array) -> tuple[float, float]:
    """A cluster's time and tolerance, read robustly so strays in its hour do not move or widen it.

    The centre is the median time and the spread 1.4826 x the median absolute deviation from it
    (a standard deviation for normal data); the time is the circular mean within tolerance.
    """
    rough = circular_mean(minutes)
    centre = rough + float(np.median(_signed(minutes, rough)))
    deviations = np.abs(_signed(minutes, centre))
    tolerance = min(_MAX_TOLERANCE, max(_MIN_TOLERANCE, 2 * 1.4826 * float(np.median(deviations))))
    return circular_mean(minutes[deviations <= tolerance]), tolerance


def _signed(minutes: _Array, minute: float) -> _Array:
    """Minutes from `minute` to each time of day, the short way round (negative before it)."""
    return np.asarray((minutes - minute + _TURN / 2) % _TURN - _TURN / 2, dtype=np.float64)


def _rounded(mean: float, tolerance: float) -> int:
    """The coarsest round time within a quarter of the tolerance of `mean`."""
    for step in _ROUND_STEPS:
        nearest = round(mean / step) * step
        if abs(nearest - mean) <= tolerance / 4 or step == _ROUND_STEPS[-1]:
            return int(nearest) % _TURN
    raise AssertionError("unreachable")


def _distance(minutes: _Array, minute: float) -> _Array:
    """Minutes between each time of day and `minute`, the short way round the clock."""
    gap = np.abs(minutes - minute) % _TURN
    return np.asarray(np.minimum(gap, _TURN - gap), dtype=np.float64)


def _peaks(minutes: _Array) -> list[int]:
    """Minutes of the day where the smoothed density of times peaks, densest first."""
    counts = np.bincount(np.floor(minutes).astype(np.int64) % _TURN, minlength=_TURN)
    offsets = np.arange(_TURN)
    kernel = np.exp(-0.5 * (np.minimum(offsets, _TURN - offsets) / _KERNEL_MINUTES) ** 2)
    density = np.fft.irfft(np.fft.rfft(counts.astype(np.float64)) * np.fft.rfft(kernel), n=_TURN)
    shifts = range(-_PEAK_SEPARATION, _PEAK_SEPARATION + 1)
    highest_near = np.stack([np.roll(density, shift) for shift in shifts]).max(axis=0)
    # A peak has at least half an activity's weight: the rest is the kernel's rounding noise.
    tops = np.flatnonzero((density >= highest_near - 1e-9) & (density > 0.5)).tolist()
    peaks: list[int] = []
    for top in sorted(tops, key=lambda m: (-float(density[m]), m)):
        if all(float(_distance(np.array([top]), peak)[0]) > _PEAK_SEPARATION for peak in peaks):
            peaks.append(top)
    return peaks


def _first_routine(
    history: _History, left: _Bools, search: _Search, significance: float
) -> tuple[Routine, _Bools] | None:
    """The densest cluster of the remaining times that makes a routine, and the activities it used."""
    peaks = _peaks(history.minutes[left])
    if not peaks:
        return None
    distance = np.stack([_distance(history.minutes, peak) for peak in peaks])
    nearest = distance.argmin(axis=0)
    for rank, peak in enumerate(peaks):
        cluster = left & (nearest == rank) & (distance[rank] <= _CAPTURE_MINUTES)
        if np.count_nonzero(cluster) < search.min_occurrences:
            continue
        p_value = _local_p(history.minutes[left], peak)
        if p_value >= significance:
            continue
        found = _routine(history, left, cluster, p_value, search)
        if found is not None:
            routine, activities = found
            return routine, cluster | activities
    return None


def _routine(
    history: _History, left: _Bools, cluster: _Bools, p_value: float, search: _Search
) -> tuple[Routine, _Bools] | None:
    """The routine at `cluster`'s time, with the activities near that time, if it passes the gates."""
    mean, tolerance = _centre(history.minutes[cluster])
    minute = _rounded(mean, tolerance)
    if not _stands_out(history, left, minute, tolerance):
        return None
    around = left & (_distance(history.minutes, minute) <= tolerance)
    times = history.seconds[around]
    weekdays = _weekdays(times, minute, tolerance, search)
    if not weekdays:
        return None
    cron = _cron(minute, weekdays)
    fires = _fires(cron, tolerance, search)
    matched_fires = int(np.count_nonzero(_near(fires, times, tolerance * 60)))
    if (
        matched_fires < search.min_occurrences
        or wilson_lower_bound(matched_fires, fires.size) < search.min_precision
    ):
        return None
    matched = np.zeros_like(around)
    matched[np.flatnonzero(around)[_near(times, fires, tolerance * 60)]] = True
    minutes = history.minutes[matched]
    matched_mean = circular_mean(minutes)
    signed = _signed(minutes, matched_mean)
    caught, occurrences = int(np.count_nonzero(matched)), int(np.count_nonzero(around))
    routine = Routine(
        cron=cron,
        zone=search.zone,
        minute_of_day=minute,
        weekdays=weekdays,
        mean_time=_clock(matched_mean),
        earliest=_clock(matched_mean + float(signed.min())),
        latest=_clock(matched_mean + float(signed.max())),
        spread_minutes=round(circular_spread(minutes), 1),
        tolerance_minutes=round(tolerance, 1),
        rayleigh_p=p_value,
        occurrences=occurrences,
        matched_activities=caught,
        days_seen=matched_fires,
        days_expected=fires.size,
        precision=matched_fires / fires.size,
        recall=caught / occurrences,
        matched_fires=matched_fires,
        fires=fires.size,
        confidence=min(
            wilson_lower_bound(matched_fires, fires.size), wilson_lower_bound(caught, occurrences)
        ),
        evidence=tuple(int(i) for i in np.sort(history.index[matched])),
    )
    return routine, around


def _stands_out(history: _History, left: _Bools, minute: int, tolerance: float) -> bool:
    """Whether activity within tolerance of `minute` is twice as dense as in the denser flank."""
    offset = _distance(history.minutes, minute)
    flank = left & (offset > tolerance) & (offset <= 2 * tolerance)
    after = _signed(history.minutes, minute) > 0
    denser_flank = max(np.count_nonzero(flank & after), np.count_nonzero(flank & ~after))
    # The arc within tolerance is twice as wide as a flank.
    return bool(np.count_nonzero(left & (offset <= tolerance)) >= _CONTRAST * 2 * denser_flank)


def _weekdays(times: _Array, minute: int, tolerance: float, search: _Search) -> tuple[int, ...]:
    """The weekday set that maximises F1 for a cron at `minute` (see the module docstring)."""
    fires = _fires(_cron(minute, _EVERY_DAY), tolerance, search)
    if fires.size == 0:
        return ()
    hit = _near(fires, times, tolerance * 60)
    day = np.array([datetime.fromtimestamp(f, search.tz).weekday() for f in fires.tolist()], dtype=np.int64)
    days = np.bincount(day, minlength=7)
    hits = np.bincount(day, weights=hit.astype(np.float64), minlength=7)
    total = float(hits.sum())
    if total == 0:
        return ()
    rate = hits / np.maximum(days, 1)
    order = sorted(range(7), key=lambda w: (-float(rate[w]), w))
    best, best_f1 = 7, -1.0
    for k in range(1, 8):
        chosen = order[:k]
        in_set = float(hits[chosen].sum())
        f1 = 2 * in_set / (in_set + float(days[chosen].sum()) + total)
        if f1 >= best_f1 - 1e-12:
            best, best_f1 = k, f1
    return tuple(sorted(order[:best]))


def _fires(cron: str, tolerance: float, search: _Search) -> _Array:
    """The cron's fires in the window, up to one tolerance before `now` (as epoch seconds)."""
    until = search.now - timedelta(minutes=tolerance)
    schedule = CronSchedule(cron, search.zone)
    return np.array([fire.timestamp() for fire in schedule.between(search.start, until)], dtype=np.float64)


def _near(points: _Array, others: _Array, tolerance: float) -> _Bools:
    """Whether each of `points` lies within `tolerance` of one of `others`."""
    if others.size == 0 or points.size == 0:
        return np.zeros(points.size, dtype=np.bool_)
    ordered = np.sort(others)
    at = np.searchsorted(ordered, points)
    before = ordered[np.clip(at - 1, 0, ordered.size - 1)]
    after = ordered[np.clip(at, 0, ordered.size - 1)]
    return np.asarray((np.abs(points - before) <= tolerance) | (np.abs(after - points) <= tolerance))


def _cron(minute: int, weekdays: tuple[int, ...]) -> str:
    hour, minute_of_hour = divmod(minute, 60)
    return f"{minute_of_hour} {hour} * * {_day_of_week_field(weekdays)}"


def _day_of_week_field(weekdays: tuple[int, ...]) -> str:
    """Cron's day-of-week field (0 Sunday) for weekdays counted from Monday: "1-5", "0,6", "*"."""
    if len(set(weekdays)) == 7:
        return "*"
    days = sorted((w + 1) % 7 for w in set(weekdays))
    runs: list[list[int]] = [[days[0]]]
    for day in days[1:]:
        if day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(f"{run[0]}-{run[-1]}" if len(run) > 2 else ",".join(map(str, run)) for run in runs)


def _plural_days(weekdays: tuple[int, ...]) -> str:
    names = [_DAY_NAMES[w] + "s" for w in weekdays]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _clock(minute: float) -> str:
    whole = round(minute) % _TURN
    return f"{whole // 60:02d}:{whole % 60:02d}"
