"""Run duration percentiles estimated from the hourly histograms' fixed log-scale buckets."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable

import pytest

from proactive.store.run_stats import (
    FIRST_EDGE,
    LAST,
    PER_DECADE,
    _added,
    bounds,
    bucket_of,
    edge,
    percentile,
)

# One bucket's width as a ratio: the most an estimate may be off by.
WIDTH = 10 ** (1 / PER_DECADE)


def _histogram(durations: list[float]) -> Counter[int]:
    return Counter(bucket_of(d) for d in durations)


def _exact(durations: list[float], q: float) -> float:
    ordered = sorted(durations)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def test_every_duration_falls_in_the_bucket_whose_bounds_hold_it() -> None:
    rng = random.Random(7)
    samples = [0.0, 0.001, FIRST_EDGE, 0.5, 1.0, 59.9, 3600.0, 86_400.0, edge(LAST), 10**6]
    samples += [10 ** rng.uniform(-3, 6) for _ in range(2000)]
    samples += [edge(i) for i in range(LAST + 1)]  # exactly on the edges: the upper bucket
    for seconds in samples:
        low, high = bounds(bucket_of(seconds))
        assert low <= seconds < high, seconds
    assert bucket_of(0.0) == 0
    assert bucket_of(10**9) == LAST + 1


def test_no_duration_counted_has_no_percentile() -> None:
    assert percentile({}, 0.5) is None
    assert percentile({3: 0}, 0.95) is None


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng: rng.lognormvariate(math.log(2.0), 0.8),  # a few seconds, skewed
        lambda rng: rng.uniform(0.2, 0.4),  # narrow: within two buckets
        lambda rng: rng.expovariate(1 / 30),  # half a minute on average, a long tail
        lambda rng: 10 ** rng.uniform(-1, 4),  # spread over five decades
    ],
)
@pytest.mark.parametrize("q", [0.5, 0.95])
def test_the_estimate_is_within_one_bucket_of_the_exact_percentile(
    draw: Callable[[random.Random], float], q: float
) -> None:
    rng = random.Random(11)
    durations = [draw(rng) for _ in range(5000)]
    estimate = percentile(_histogram(durations), q)
    exact = _exact(durations, q)
    assert estimate is not None
    assert exact / WIDTH <= estimate <= exact * WIDTH, (estimate, exact)


def test_one_duration_is_estimated_within_its_bucket() -> None:
    low, high = bounds(bucket_of(12.0))
    for q in (0.5, 0.95):
        estimate = percentile(_histogram([12.0]), q)
        assert estimate is not None
        assert low <= estimate <= high


def test_percentiles_rise_with_q_and_the_histograms_of_hours_add_up() -> None:
    rng = random.Random(3)
    first = [rng.uniform(1, 5) for _ in range(300)]
    second = [rng.uniform(20, 60) for _ in range(100)]
    summed = _histogram(first) + _histogram(second)
    assert summed == _histogram(first + second)
    p50, p95 = percentile(summed, 0.5), percentile(summed, 0.95)
    assert p50 is not None
    assert p95 is not None
    assert 1 / WIDTH <= p50 <= 5 * WIDTH
    assert 20 / WIDTH <= p95 <= 60 * WIDTH
    assert p50 < p95


def test_the_first_and_the_last_buckets() -> None:
    # Under the first edge: linear from 0; past the last: its lower edge (it has no upper one).
    assert percentile({0: 4}, 0.5) == pytest.approx(FIRST_EDGE / 2)
    assert percentile({LAST + 1: 3}, 0.95) == edge(LAST)


@pytest.mark.parametrize("cost", [math.inf, math.nan, -1.0, "0.5"])
def test_a_cost_the_table_cannot_hold_or_that_is_no_cost_adds_nothing(cost: object) -> None:
    from datetime import UTC, datetime

    from proactive.models.runs import RunRecord

    at = datetime(2026, 12, 7, 9, tzinfo=UTC)
    run = RunRecord(
        id="run-1",
        workspace_id="ws-1",
        agent_id="a-1",
        source_type="manual",
        status="succeeded",
        created_at=at,
        started_at=at,
        finished_at=at,
        task="t",
        usage={"input_tokens": 3, "cost_usd": cost},
    )
    added = _added(run)
    assert "agent#a-1#cost_usd" not in added
    assert added["agent#a-1#input_tokens"] == 3
