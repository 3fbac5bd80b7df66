"""Impact against the counterfactual forecast, the bandit's posterior update, and how goals end."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proactive.analytics.forecast import Forecast, ForecastPoint
from proactive.loop.goals import Evidence, Goal
from proactive.loop.impact import goal_outcome, measure, update_statistics
from proactive.loop.planner import ActionStats
from proactive.loop.rules import GoalType, Target

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0
STEP = 300.0
CPU = Target("cpu_usage", "<=", 80.0)


def rising_forecast(start: float = 70.0, per_hour: float = 4.0, hours: float = 6.0) -> Forecast:
    """The forecast made before the action: CPU rising from `start` by `per_hour`."""
    points = []
    for k in range(1, int(hours * 12) + 1):
        value = start + per_hour * k / 12
        points.append(ForecastPoint(NOW + k * STEP, value, value - 3, value + 3))
    return Forecast("holt", STEP, None, {"holt": 0.7}, {"holt": 1.0}, points)


def observed(values: list[float] | np.ndarray, start: float = NOW + STEP) -> list[tuple[float, float]]:
    return [(start + k * STEP, float(v)) for k, v in enumerate(values)]


def test_impact_is_measured_against_what_the_forecast_expected_without_the_action() -> None:
    # Given a forecast of CPU rising from 70 by 4 an hour, and CPU held around 72 for 4 h after the action
    before = rising_forecast()
    after = observed(72 + np.random.default_rng(0).normal(0, 1, 48))

    # When the impact is measured
    impact = measure(before, after, CPU)

    # Then it is an improvement on the forecast's median of about 78 over those hours
    assert impact.expected == pytest.approx(70 + 4 * 24.5 / 12, abs=0.01)
    assert impact.observed == pytest.approx(72, abs=0.5)
    assert impact.relative_change == pytest.approx((impact.observed - impact.expected) / impact.expected)
    assert impact.gain == -impact.relative_change
    assert impact.gain > 0.05
    assert impact.improved
    assert impact.p_value < 1e-6
    assert impact.points == 48
    assert "the holt forecast made before the action expected" in impact.description

    # And against the level before the action (70), the same hours would look like a regression
    naive = measure(observed([70.0] * 12, start=NOW - HOUR), after, CPU)
    assert naive.expected == 70.0
    assert naive.gain < 0
    assert not naive.improved


def test_a_metric_that_follows_the_forecast_shows_no_improvement() -> None:
    before = rising_forecast()
    noise = np.random.default_rng(1).normal(0, 1, 48)
    after = [(p.timestamp, p.value + float(e)) for p, e in zip(before.points[:48], noise, strict=True)]

    impact = measure(before, after, CPU)

    assert abs(impact.gain) < 0.02
    assert not impact.improved
    assert impact.p_value > 0.05


def test_points_outside_the_forecast_are_not_compared() -> None:
    before = rising_forecast(hours=1)
    after = observed([60.0] * 24)  # two hours of points against a one-hour forecast

    assert measure(before, after, CPU).points == 12
    with pytest.raises(ValueError, match="within the forecast"):
        measure(before, observed([60.0] * 3, start=NOW + 5 * HOUR), CPU)


@settings(max_examples=100, deadline=None)
@given(shift=st.floats(0.5, 30), floor=st.booleans())
def test_moving_below_the_forecast_is_a_gain_for_a_ceiling_and_a_loss_for_a_floor(
    shift: float, floor: bool
) -> None:
    before = rising_forecast()
    after = [(p.timestamp, p.value - shift) for p in before.points]
    target = Target("free_memory", ">=", 10.0) if floor else CPU

    impact = measure(before, after, target)

    assert impact.relative_change < 0
    assert (impact.gain < 0) if floor else (impact.gain > 0)
    assert impact.improved is not floor


def test_the_posterior_counts_and_mean_impact_are_updated() -> None:
    stats = ActionStats(successes=3, failures=1, impact_sum=0.3, impact_count=2)
    impact = measure(rising_forecast(), observed([75.0] * 48), CPU)

    won = update_statistics(stats, impact, success=True)
    lost = update_statistics(stats, None, success=False)

    assert (won.successes, won.failures, won.impact_count) == (4, 1, 3)
    assert won.impact_sum == pytest.approx(0.3 + impact.gain)
    assert won.mean_impact == pytest.approx((0.3 + impact.gain) / 3)
    assert lost == ActionStats(3, 2, 0.3, 2)


def cpu_goal(**changes: object) -> Goal:
    base = Goal(
        id="goal-1",
        type=GoalType.BOTTLENECK_PREVENTION,
        metric="cpu_usage",
        rule="threshold cpu_usage <= 80",
        resource="cpu_usage",
        target=CPU,
        severity="medium",
        priority=60.0,
        priority_label="high",
        title="Prevent cpu_usage bottleneck",
        description="",
        evidence=Evidence("predicted_breach", ""),
        due_at=NOW + 2 * HOUR,
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW + 8 * HOUR,
    )
    return replace(base, **changes)


ACTED = NOW + 10 * 60
# After ten minutes' settling, an hour's window: from NOW + 20 min to NOW + 80 min.
WINDOW_END = ACTED + 600 + HOUR


def minutes(values: list[float], start: float = ACTED) -> list[tuple[float, float]]:
    """One point every five minutes from `start`."""
    return [(start + k * STEP, v) for k, v in enumerate(values)]


@pytest.mark.parametrize(
    ("values", "now", "acted_at", "expected"),
    [
        # Held under 80 for the whole hour after settling.
        ([70.0] * 20, WINDOW_END, ACTED, "achieved"),
        # One stray point above 80 is noise.
        ([70.0] * 8 + [85.0] + [70.0] * 11, WINDOW_END, ACTED, "achieved"),
        # Two in a row is a breach, even before the window is over.
        ([70.0] * 8 + [85.0, 86.0] + [70.0] * 2, ACTED + 3600, ACTED, "failed"),
        # Above 80 while the action settles does not count.
        ([90.0, 90.0] + [70.0] * 18, WINDOW_END, ACTED, "achieved"),
        # A breach after the window does not undo what the window showed.
        ([70.0] * 20 + [95.0] * 6, WINDOW_END + 1800, ACTED, "achieved"),
        # The window is not over yet.
        ([70.0] * 10, ACTED + 3000, ACTED, "active"),
        # Not acted on, and past its expiry.
        ([70.0] * 10, NOW + 8 * HOUR, None, "expired"),
        # Not acted on, before expiry, even in breach: the action may still come.
        ([90.0] * 10, NOW + HOUR, None, "active"),
        # Acted on, but no data for the window before expiry.
        ([], NOW + 8 * HOUR, ACTED, "expired"),
    ],
)
def test_goal_outcome(values: list[float], now: float, acted_at: float | None, expected: str) -> None:
    assert goal_outcome(cpu_goal(), minutes(values), now, acted_at=acted_at) == expected


def test_a_finished_goal_keeps_its_status() -> None:
    assert (
        goal_outcome(cpu_goal(status="failed"), minutes([70.0] * 20), WINDOW_END, acted_at=ACTED) == "failed"
    )


def test_the_hold_window_and_breach_length_are_settable() -> None:
    values = minutes([70.0] * 8 + [85.0] + [70.0] * 3)

    assert goal_outcome(cpu_goal(), values, ACTED + HOUR, acted_at=ACTED, breach_points=1) == "failed"
    assert goal_outcome(cpu_goal(), values, ACTED + HOUR, acted_at=ACTED, hold_seconds=1200) == "achieved"
