"""Metric ingestion: points per second through the service for a batch of 1,000 points in shuffled
order (validated one by one, scored in time order, the detector state written conditionally,
the points in batch writes; moto in-process), and the AWS calls one batch costs."""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import tests.conftest  # noqa: F401  (safe fake-AWS environment)
from tests.bench.common import CallCounter, quiet, spread

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
BATCH = 1000
# Batches per run, each continuing the metric where the last one ended; the first warms up and a
# run's figure is the median of the others.
BATCHES = 4


def _batch(start: datetime, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    points = [
        {
            "metric_name": "cpu_usage",
            "value": 50 + rng.gauss(0, 5),
            "timestamp": (start + timedelta(minutes=i)).isoformat(),
        }
        for i in range(BATCH)
    ]
    rng.shuffle(points)
    return points


def _measure(attempt: int) -> tuple[float, dict[str, float]]:
    from proactive import series
    from proactive.store import Store
    from tests.mockaws import mocked_aws

    with mocked_aws(f"bench-series-{attempt}"):
        store = Store()
        counter = CallCounter(store.table.client)
        start = datetime.now(UTC) - timedelta(minutes=BATCH * BATCHES + 10)
        rates: list[float] = []
        for n in range(BATCHES):
            body = {"metrics": _batch(start + timedelta(minutes=BATCH * n), seed=attempt * 100 + n)}
            counter.reset()
            t0 = time.perf_counter()
            submission = series.parse_metrics(body)
            stored = series.record_metrics(store, "ws-bench", submission.accepted, datetime.now(UTC))
            elapsed = time.perf_counter() - t0
            assert len(stored) == BATCH, len(stored)
            if n:
                rates.append(BATCH / elapsed)
        return statistics.median(rates), dict(counter.calls)


def main() -> None:
    quiet()
    rates: list[float] = []
    calls: dict[str, float] = {}
    for attempt in range(RUNS):
        rate, calls = _measure(attempt)
        rates.append(rate)
    per = ", ".join(f"{op} {n:g}" for op, n in sorted(calls.items()))
    print(
        f"[series] one metric, batches of {BATCH} points in shuffled order through the service "
        f"(moto in-process): {spread(rates, ' points/s')}; AWS calls per batch: {per}"
    )
