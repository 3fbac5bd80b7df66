"""One analysis through the goal loop's state machine (moto executes the ASL in-process, its Tasks
run by the real handler): a workspace with five metrics of two days at one-minute steps, a rule
on each looking a day ahead. The figures: the wall time from the trigger to the analysis closed,
the time in each step's handler (what Lambda would bill), and the state machine's own share."""

from __future__ import annotations

import os
import random
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import tests.conftest  # noqa: F401  (safe fake-AWS environment)
from tests.bench.common import quiet, spread

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
METRICS = 5
MINUTES = 2 * 24 * 60


def _points(metric: str, start: datetime, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "metric_name": metric,
            "value": 40 + 20 * ((i % 1440) / 1440) + rng.gauss(0, 2),
            "timestamp": (start + timedelta(minutes=i)).isoformat(),
        }
        for i in range(MINUTES)
    ]


def _measure(attempt: int) -> tuple[float, dict[str, float]]:
    from proactive import series
    from proactive.dev import state_machine
    from proactive.loop import runs_view
    from proactive.loop import settings as loop_settings
    from proactive.store import Store
    from tests.mockaws import mocked_aws

    with mocked_aws(f"bench-goal-loop-{attempt}", goal_loop=True):
        store = Store()
        now = datetime.now(UTC)
        start = now - timedelta(minutes=MINUTES)
        for n in range(METRICS):
            points = _points(f"metric_{n}", start, seed=attempt * 10 + n)
            for offset in range(0, len(points), 1000):
                batch = series.parse_metrics({"metrics": points[offset : offset + 1000]})
                series.record_metrics(store, "ws-bench", batch.accepted, now)
        rules = [f"metric_{n} <= 95 horizon_hours=24" for n in range(METRICS)]
        loop_settings.update(store, "ws-bench", {"rules": rules}, now)

        spent: dict[str, float] = defaultdict(float)
        handler = state_machine._targets[state_machine.FUNCTION_NAME]

        def timed(event: dict[str, Any]) -> Any:
            t0 = time.perf_counter()
            try:
                return handler(event)
            finally:
                spent[str(event.get("step"))] += time.perf_counter() - t0

        state_machine.install(timed)
        t0 = time.perf_counter()
        analysis = runs_view.start(store, "ws-bench", datetime.now(UTC))
        while (store.analyses.get(analysis["id"]) or {}).get("status") == "running":
            time.sleep(0.01)
        wall = time.perf_counter() - t0
        assert store.analyses.get(analysis["id"])["status"] == "succeeded"  # type: ignore[index]
        return wall, dict(spent)


def main() -> None:
    quiet()
    walls: list[float] = []
    steps: dict[str, list[float]] = defaultdict(list)
    for attempt in range(RUNS):
        wall, spent = _measure(attempt)
        walls.append(wall)
        for name, seconds in spent.items():
            steps[name].append(seconds)
    # The three analysis steps run side by side (a Parallel state): the longest of them counts.
    handlers = [
        sum(steps[name][i] for name in ("load", "set_goals", "plan", "report"))
        + max(steps[name][i] for name in ("forecast", "detect", "patterns"))
        for i in range(RUNS)
    ]
    machine = [w - h for w, h in zip(walls, handlers, strict=True)]
    per_step = ", ".join(
        f"{name} {statistics.median(times) * 1000:.0f} ms" for name, times in sorted(steps.items())
    )
    print(
        f"[goal loop] one analysis of {METRICS} metrics x {MINUTES} points, a day ahead, no actions "
        f"(moto executes the ASL in-process): trigger to closed {spread(walls, ' s', digits=2)}; "
        f"in the handlers, on the critical path, {spread(handlers, ' s', digits=2)} "
        f"(median per step: {per_step}); the state machine's own time {spread(machine, ' s', digits=2)}"
    )
