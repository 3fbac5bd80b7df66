"""Thresholds for a metric: where its normal range ends, and how an alert there would have done.

`threshold_for` draws the line k robust standard deviations from the median: median +/- k x
1.4826 x MAD, where MAD is the median absolute deviation from the median (1.4826 makes it a
standard deviation for normal data) and k = 3.5, the cut of Iglewicz and Hoaglin's modified
z-score. Median and MAD ignore spikes, so however tall they are (and however many, under half the
points), the line sits just beyond the normal range. When over half the values are equal the MAD
is 0 and 1.2533 x the mean absolute deviation from the median (the same scale for normal data)
stands in for it; a metric with no spread at all gets no threshold. With direction "auto" the
side is the one with more points beyond k scales (where the anomalies are), and on a tie (none
beyond, say) the one whose extreme lies farther from the median.

`backtest_threshold` replays the points against a threshold. The condition fires when the value
crosses into it after having been out of it, so a stretch of consecutive points beyond the
threshold fires once, at its first point (the very first point fires if already beyond). A fire
is an early warning when a failure follows it within `lead` (at the fire's instant or later); a
failure was warned of when a fire came within `lead` before it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt

from proactive.analytics.associations import duration_text

Direction = Literal["above", "below"]

_NORMAL_MAD = 1.4826
_NORMAL_MEAN_DEVIATION = 1.2533
_DEFAULT_K = 3.5


@dataclass(frozen=True)
class Threshold:
    """A line `k` robust standard deviations (`scale`) from the `median` on the `direction` side.

    `points` counts the values it was drawn from and `beyond` those past the line.
    """

    value: float
    direction: Direction
    median: float
    scale: float
    k: float
    points: int
    beyond: int

    def crossed(self, value: float) -> bool:
        """Whether `value` is past the line."""
        return value > self.value if self.direction == "above" else value < self.value

    def describe(self, subject: str) -> str:
        """One sentence with the numbers, such as: cpu above 61.8 is unusual: its median is 50,
        and 12 of 2016 points lay beyond."""
        return (
            f"{subject} {self.direction} {self.value:.4g} is unusual: its median is {self.median:.4g}, "
            f"and {self.beyond} of {self.points} points lay beyond"
        )


@dataclass(frozen=True)
class ThresholdBacktest:
    """How an alert on `threshold` would have fired over the `window` before `now`.

    `fires` are the instants it would have fired and `warnings` those of them followed by a
    failure within `lead`; `fire_count` and `warning_count` count them. `failures` counts the
    failures in the window and `failures_warned` those with a fire within `lead` before them.
    """

    threshold: Threshold
    window: timedelta
    lead: timedelta
    fires: tuple[datetime, ...]
    warnings: tuple[datetime, ...]
    fire_count: int
    warning_count: int
    failures: int
    failures_warned: int

    def describe(self, subject: str) -> str:
        """One sentence with the numbers, such as: An alert on cpu above 61.8 would have fired 4
        times in the last 7 days; 3 of those fires came within 1 hour before a failure, and 3 of
        the 3 failures had one."""
        times = "once" if self.fire_count == 1 else f"{self.fire_count} times"
        text = (
            f"An alert on {subject} {self.threshold.direction} {self.threshold.value:.4g} would have "
            f"fired {times} in the last {duration_text(self.window)}; {self.warning_count} of those "
            f"fires came within {duration_text(self.lead)} before a failure"
        )
        if self.failures:
            text += f", and {self.failures_warned} of the {self.failures} failures had one"
        return text


def threshold_for(
    points: Sequence[tuple[datetime, float]],
    *,
    direction: Direction | Literal["auto"] = "auto",
    k: float = _DEFAULT_K,
    min_points: int = 20,
) -> Threshold | None:
    """A robust threshold for the metric's (instant, value) points; None for too few points
    (under `min_points` finite values) or none that differ. The module docstring gives the rule."""
    if direction not in ("above", "below", "auto"):
        raise ValueError(f"direction must be 'above', 'below' or 'auto', not {direction!r}")
    values = np.array([value for _, value in points if math.isfinite(value)], dtype=np.float64)
    if values.size < max(min_points, 1):
        return None
    median = float(np.median(values))
    deviations = np.abs(values - median)
    scale = _NORMAL_MAD * float(np.median(deviations))
    if scale == 0:
        scale = _NORMAL_MEAN_DEVIATION * float(deviations.mean())
    if scale == 0:
        return None
    side = _side(values, median, k * scale) if direction == "auto" else direction
    value = median + k * scale if side == "above" else median - k * scale
    beyond = values > value if side == "above" else values < value
    return Threshold(
        value=value,
        direction=side,
        median=median,
        scale=scale,
        k=k,
        points=int(values.size),
        beyond=int(np.count_nonzero(beyond)),
    )


def backtest_threshold(
    points: Sequence[tuple[datetime, float]],
    threshold: Threshold,
    failures: Sequence[datetime],
    *,
    now: datetime,
    window: timedelta,
    lead: timedelta,
) -> ThresholdBacktest:
    """Replay `points` (instant, value) against `threshold` over the `window` before `now`.

    Points after `now` and non-finite values are ignored; the points before the window only say
    whether its first point enters the condition or was already in it.
    """
    for instant in [now, *failures, *(t for t, _ in points)]:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError("instants must be timezone-aware datetimes")
    start = now - window
    ordered = sorted((t, v) for t, v in points if t <= now and math.isfinite(v))
    fires: list[datetime] = []
    was_beyond = False
    for instant, value in ordered:
        beyond = threshold.crossed(value)
        if beyond and not was_beyond and instant > start:
            fires.append(instant)
        was_beyond = beyond
    failed = sorted(failures)
    warnings = [fire for fire in fires if _within(failed, fire, fire + lead)]
    in_window = [failure for failure in failed if start < failure <= now]
    warned = [failure for failure in in_window if _within(fires, failure - lead, failure)]
    return ThresholdBacktest(
        threshold=threshold,
        window=window,
        lead=lead,
        fires=tuple(fires),
        warnings=tuple(warnings),
        fire_count=len(fires),
        warning_count=len(warnings),
        failures=len(in_window),
        failures_warned=len(warned),
    )


def _side(values: npt.NDArray[np.float64], median: float, reach: float) -> Direction:
    """The side with more values beyond `reach` of the median; on a tie, the one reaching farther."""
    above = int(np.count_nonzero(values > median + reach))
    below = int(np.count_nonzero(values < median - reach))
    if above != below:
        return "above" if above > below else "below"
    return "above" if float(values.max()) - median >= median - float(values.min()) else "below"


def _within(ordered: Sequence[datetime], low: datetime, high: datetime) -> bool:
    """Whether some instant of `ordered` (sorted) lies in [low, high]."""
    at = bisect.bisect_left(ordered, low)
    return at < len(ordered) and ordered[at] <= high
