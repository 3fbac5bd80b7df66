"""One analysis through the goal loop's state machine (moto executes the ASL in-process, its Tasks
run by the real handler): a workspace with five metrics of six hours at one-minute steps, a rule
on each looking a day ahead. The figures: the wall time from the trigger to the analysis closed,
the time in each step's handler (what Lambda would bill; here mostly moto answering the queries
for the points, which DynamoDB answers in a page or two), and the state machine's own share."""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.client import BaseClient

import tests.conftest  # noqa: F401  (safe fake-AWS environment)
from tests.bench.common import quiet, spread

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
METRICS = 5
MINUTES = 6 * 60


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


def _measure(attempt: int) -> tuple[float, dict[str, float], dict[str, float]]:
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
        in_aws: dict[str, float] = defaultdict(float)
        handler = state_machine._targets[state_machine.FUNCTION_NAME]
        current = threading.local()
        original = BaseClient._make_api_call

        def api_call(self: Any, operation: str, params: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(self, operation, params)
            finally:
                if getattr(current, "step", None):
                    in_aws[current.step] += time.perf_counter() - t0

        def timed(event: dict[str, Any]) -> Any:
            current.step = str(event.get("step"))
            t0 = time.perf_counter()
            try:
                return handler(event)
            finally:
                spent[current.step] += time.perf_counter() - t0
                current.step = None

        state_machine.install(timed)
        BaseClient._make_api_call = api_call  # type: ignore[method-assign]
        try:
            t0 = time.perf_counter()
            analysis = runs_view.start(store, "ws-bench", datetime.now(UTC))
            while "report" not in spent:
                time.sleep(0.005)
            wall = time.perf_counter() - t0
        finally:
            BaseClient._make_api_call = original  # type: ignore[method-assign]
        assert store.analyses.get(analysis["id"])["status"] == "succeeded"  # type: ignore[index]
        return wall, dict(spent), dict(in_aws)


def main() -> None:
    quiet()
    walls: list[float] = []
    steps: dict[str, list[float]] = defaultdict(list)
    computing: dict[str, list[float]] = defaultdict(list)
    for attempt in range(RUNS):
        wall, spent, in_aws = _measure(attempt)
        walls.append(wall)
        for name, seconds in spent.items():
            steps[name].append(seconds)
            computing[name].append(seconds - in_aws.get(name, 0.0))
    # The three analysis steps run side by side (a Parallel state): the longest of them counts.
    handlers = [
        sum(steps[name][i] for name in ("load", "set_goals", "plan", "report"))
        + max(steps[name][i] for name in ("forecast", "detect", "patterns"))
        for i in range(RUNS)
    ]
    machine = [w - h for w, h in zip(walls, handlers, strict=True)]
    per_step = ", ".join(
        f"{name} {statistics.median(computing[name]) * 1000:.0f} ms" for name in sorted(steps)
    )
    print(
        f"[goal loop] one analysis of {METRICS} metrics x {MINUTES} points, a day ahead, no actions "
        f"(moto executes the ASL in-process): trigger to closed {spread(walls, ' s', digits=2)}; in the "
        f"handlers, on the critical path, {spread(handlers, ' s', digits=2)}, mostly moto answering "
        f"queries; each step's own work, without its AWS calls (median): {per_step}; the state "
        f"machine's own time {spread(machine, ' s', digits=2)}"
    )
