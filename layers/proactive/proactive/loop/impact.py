"""What an executed action changed, how the action's record learns from it, and how a goal ends.

Impact compares the metric after the action with the counterfactual: what the forecast made
before the action expected without it, read at the same instants (or, given the points before
the action instead of a forecast, their median: the metric staying where it was). Each side is
summarised by its median, which one spike does not move. `relative_change` is the observed
median's change from the expected one; `gain` is that change in the target's favour (positive
is better: lower for a ceiling, higher for a floor). A one-sided sign test asks whether the
points fell on the good side of the counterfactual more often than chance would put them; the
action improved things when the gain is positive and the test's p-value is at most
`significance`. The test takes the points as independent, which consecutive points of a metric
are not quite, so its p-value is optimistic for densely sampled metrics.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from proactive.analytics.forecast import Forecast
from proactive.loop.goals import Goal, GoalStatus
from proactive.loop.planner import ActionStats
from proactive.loop.rules import Target
from proactive.loop.timing import HOUR, Point

# Points in the hold window must reach this share of it for the target to count as held.
_MIN_COVERAGE = 0.9


@dataclass(frozen=True)
class Impact:
    """An action's measured effect on its goal's metric (see the module docstring)."""

    expected: float
    observed: float
    relative_change: float
    gain: float
    improved: bool
    p_value: float
    points: int
    description: str


def measure(
    before: Forecast | Sequence[Point],
    after_points: Sequence[Point],
    target: Target,
    *,
    significance: float = 0.05,
) -> Impact:
    """The impact of an action from the metric's points after it, against `before`.

    `before` is the forecast made before the action, or the points before it. Points after the
    last forecast point (or before its first step) are not compared. ValueError when nothing can be.
    """
    after = sorted((t, v) for t, v in after_points if math.isfinite(t) and math.isfinite(v))
    if isinstance(before, Forecast):
        if not before.points:
            raise ValueError("the forecast before the action has no points")
        times = np.array([p.timestamp for p in before.points])
        values = np.array([p.value for p in before.points])
        after = [(t, v) for t, v in after if times[0] - before.step_seconds <= t <= times[-1]]
        expected_at = [float(x) for x in np.interp([t for t, _ in after], times, values)]
        basis = f"the {before.method} forecast made before the action"
    else:
        earlier = [v for _, v in before if math.isfinite(v)]
        if not earlier:
            raise ValueError("there are no points before the action to compare with")
        expected_at = [float(statistics.median(earlier))] * len(after)
        basis = "its level before the action"
    if not after:
        raise ValueError("no point after the action falls within the forecast's time span")
    observed_values = [v for _, v in after]
    expected = float(statistics.median(expected_at))
    observed = float(statistics.median(observed_values))
    # Relative to the expected value; where that is zero, the absolute change stands in.
    relative = (observed - expected) / abs(expected) if expected != 0 else observed - expected
    gain = -relative if target.upper else relative
    differences = [v - e for v, e in zip(observed_values, expected_at, strict=True) if v != e]
    good = sum(1 for d in differences if (d < 0) == target.upper)
    p_value = _sign_test(good, len(differences))
    improved = gain > 0 and p_value <= significance
    direction = "lower" if relative < 0 else "higher"
    verdict = "improved" if improved else "not shown to improve"
    description = (
        f"{target.metric} had a median of {observed:.4g} over {len(after)} points after the action, where "
        f"{basis} expected {expected:.4g}: {abs(relative):.1%} {direction}, "
        f"{'towards' if gain > 0 else 'away from'} {target}; {good} of {len(differences)} points were on "
        f"the better side (sign test p = {p_value:.3g}): {verdict}."
    )
    return Impact(expected, observed, relative, gain, improved, p_value, len(after), description)


def _sign_test(successes: int, trials: int) -> float:
    """P(at least `successes` heads in `trials` fair coin tosses)."""
    if trials == 0:
        return 1.0
    log_all = math.lgamma(trials + 1) + trials * math.log(0.5)
    total = sum(
        math.exp(log_all - math.lgamma(k + 1) - math.lgamma(trials - k + 1))
        for k in range(successes, trials + 1)
    )
    return min(1.0, total)


def update_statistics(stats: ActionStats, impact: Impact | None, success: bool) -> ActionStats:
    """The action's record after one more outcome: its Beta posterior counts and, when the impact
    was measured, its gain added to the mean impact."""
    return ActionStats(
        successes=stats.successes + int(success),
        failures=stats.failures + int(not success),
        impact_sum=stats.impact_sum + (impact.gain if impact is not None else 0.0),
        impact_count=stats.impact_count + (impact is not None),
    )


def goal_outcome(
    goal: Goal,
    latest_points: Sequence[Point],
    now: float,
    *,
    acted_at: float | None = None,
    hold_seconds: float = HOUR,
    settle_seconds: float = 600.0,
    breach_points: int = 2,
) -> GoalStatus:
    """Where the goal stands at `now`.

    After the action (at `acted_at`) and a settling time, the target must hold over a window of
    `hold_seconds`: "failed" once `breach_points` consecutive points in that window miss it (one
    stray point is noise), "achieved" once the window is over and its points cover it without that. Otherwise
    "expired" from `expires_at`, else "active". Only the window counts, so the answer does not
    depend on how late it is asked; a goal that is no longer active keeps its status.
    """
    if goal.status != "active":
        return goal.status
    if acted_at is not None:
        start = acted_at + settle_seconds
        end = start + hold_seconds
        window = sorted((t, v) for t, v in latest_points if start <= t <= min(end, now))
        run = 0
        for _, value in window:
            run = 0 if goal.target.holds(value) else run + 1
            if run >= breach_points:
                return "failed"
        if now >= end and window and window[-1][0] >= start + _MIN_COVERAGE * hold_seconds:
            return "achieved"
    return "expired" if now >= goal.expires_at else "active"
