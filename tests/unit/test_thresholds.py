"""Thresholds a user would recognise: just above a metric's normal range, firing once per spike,
and mostly before the failures that followed the spikes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from proactive.analytics.thresholds import Threshold, backtest_threshold, threshold_for

NOW = datetime(2024, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
WEEK = timedelta(days=7)
START = NOW - WEEK
SPIKES = (300, 900, 1400, 1900)  # indices of the first point of each spike, three points long


def _latency(seed: int = 0) -> list[tuple[datetime, float]]:
    """A week of five-minute points between 45 and 55, with four spikes to 120."""
    values = 50 + np.random.default_rng(seed).uniform(-5, 5, 2016)
    for first in SPIKES:
        values[first : first + 3] = 120
    return [(START + STEP * (i + 1), float(v)) for i, v in enumerate(values)]


def _at(index: int) -> datetime:
    return START + STEP * (index + 1)


# Failures half an hour after the first three spikes, and one that no spike announced.
FAILURES = [_at(first) + timedelta(minutes=30) for first in SPIKES[:3]] + [_at(1700)]


def _threshold() -> Threshold:
    threshold = threshold_for(_latency())
    assert threshold is not None
    return threshold


def test_the_threshold_sits_above_the_normal_range_and_below_the_spikes() -> None:
    threshold = _threshold()

    assert threshold.direction == "above"
    assert 55 < threshold.value < 120
    assert threshold.median == pytest.approx(50, abs=0.5)
    assert (threshold.points, threshold.beyond, threshold.k) == (2016, 12, 3.5)
    assert threshold.describe("latency") == (
        f"latency above {threshold.value:.4g} is unusual: its median is {threshold.median:.4g}, "
        "and 12 of 2016 points lay beyond"
    )


def test_the_backtest_counts_each_spike_once_and_the_fires_before_failures() -> None:
    backtest = backtest_threshold(
        _latency(), _threshold(), FAILURES, now=NOW, window=WEEK, lead=timedelta(hours=1)
    )

    assert backtest.fires == tuple(_at(first) for first in SPIKES)
    assert backtest.fire_count == 4
    assert backtest.warnings == tuple(_at(first) for first in SPIKES[:3])
    assert backtest.warning_count == 3
    assert (backtest.failures, backtest.failures_warned) == (4, 3)


def test_the_sentence_has_the_numbers() -> None:
    threshold = _threshold()

    backtest = backtest_threshold(
        _latency(), threshold, FAILURES, now=NOW, window=WEEK, lead=timedelta(hours=1)
    )

    assert backtest.describe("latency") == (
        f"An alert on latency above {threshold.value:.4g} would have fired 4 times in the last 7 days; "
        "3 of those fires came within 1 hour before a failure, and 3 of the 4 failures had one"
    )


def test_a_shorter_lead_warns_of_fewer_failures() -> None:
    backtest = backtest_threshold(
        _latency(), _threshold(), FAILURES, now=NOW, window=WEEK, lead=timedelta(minutes=20)
    )

    assert (backtest.fire_count, backtest.warning_count, backtest.failures_warned) == (4, 0, 0)


def test_a_stretch_that_began_before_the_window_does_not_fire_in_it() -> None:
    window = NOW - _at(SPIKES[1] + 1)

    backtest = backtest_threshold(
        _latency(), _threshold(), [], now=NOW, window=window, lead=timedelta(hours=1)
    )

    assert backtest.fires == (_at(SPIKES[2]), _at(SPIKES[3]))
    assert backtest.describe("latency").endswith("0 of those fires came within 1 hour before a failure")


def test_dips_give_a_threshold_below() -> None:
    points = [(t, 100 - v) for t, v in _latency()]

    threshold = threshold_for(points)

    assert threshold is not None
    assert threshold.direction == "below"
    assert -20 < threshold.value < 45
    backtest = backtest_threshold(points, threshold, [], now=NOW, window=WEEK, lead=timedelta(hours=1))
    assert backtest.fire_count == 4


def test_a_mostly_zero_count_with_bursts_still_gets_a_threshold() -> None:
    points = [(_at(i), 0.0) for i in range(500)]
    for i in (100, 101, 300, 450):
        points[i] = (_at(i), 40.0)

    threshold = threshold_for(points)

    assert threshold is not None
    assert threshold.direction == "above"
    assert 0 < threshold.value < 40
    backtest = backtest_threshold(points, threshold, [], now=NOW, window=WEEK, lead=timedelta(hours=1))
    assert backtest.fires == (_at(100), _at(300), _at(450))


def test_no_threshold_without_enough_varied_points() -> None:
    assert threshold_for([(_at(i), 7.0) for i in range(100)]) is None
    assert threshold_for(_latency()[:10]) is None
    assert threshold_for([(_at(i), float("nan")) for i in range(100)]) is None


def test_a_chosen_direction_is_kept() -> None:
    threshold = threshold_for(_latency(), direction="below")

    assert threshold is not None
    assert (threshold.direction, threshold.beyond) == ("below", 0)
    assert threshold.value < 45
    with pytest.raises(ValueError, match="direction"):
        threshold_for(_latency(), direction="sideways")  # type: ignore[arg-type]
