"""Pattern finding on a week of history: ten thousand events of thirty types at random times, with
a daily deploy among them, in a time zone with daylight saving. The figure: the time
`recurring_events` takes (it runs in the goal loop's analysis, once per workspace)."""

from __future__ import annotations

import os
import time

import numpy as np

from proactive.analytics.patterns import recurring_events
from tests.bench.common import spread

RUNS = int(os.environ.get("BENCH_RUNS", "3")) * 3
NOW = 1_780_000_000.0  # a fixed instant, so every run reads the same week
EVENTS = 10_000


def _history() -> list[tuple[float, str]]:
    rng = np.random.default_rng(2)
    events = [
        (NOW - float(t), f"type-{k}")
        for t, k in zip(rng.uniform(0, 7 * 86_400, EVENTS), rng.integers(0, 30, EVENTS), strict=True)
    ]
    # A deploy at 09:00 (Paris) every day of the week.
    day = 86_400.0
    start = NOW - (NOW % day) - 7 * day + 8 * 3600
    events += [(start + i * day, "deploy") for i in range(7)]
    return events


def main() -> None:
    events = _history()
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        recurring_events(events, now=NOW, timezone="Europe/Paris")
        times.append(time.perf_counter() - started)
    print(
        f"[patterns] recurring_events over {len(events):,} events of a week: {spread(times, ' ms', 1000, 1)}"
    )


if __name__ == "__main__":
    main()
