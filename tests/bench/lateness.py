"""Fire lateness in the local stack: run start minus scheduled time, for every-minute schedules.

Two loads, each in several fresh stacks: a steady one (a few runs due each minute) shows what the
dispatch design gives; a burst (hundreds due in the same second, as cron makes them) shows the
local stand-in's throughput, where runs queue behind each other for moto. In AWS the worker
scales out with the queue.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from tests.bench.common import percentile, quiet, spread
from tests.localstack import running_stack

STEADY_SCHEDULES = int(os.environ.get("BENCH_STEADY_SCHEDULES", "25"))
STEADY_MINUTES = int(os.environ.get("BENCH_STEADY_MINUTES", "3"))
BURST_SCHEDULES = int(os.environ.get("BENCH_BURST_SCHEDULES", "200"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
WS = "ws-bench"


def _create_schedules(c: httpx.Client, count: int) -> list[str]:
    agent = c.post("/api/agents", json={"workspace_id": WS, "name": "bench-agent"}).json()
    ids = []
    for i in range(count):
        body = {
            "name": f"bench {i}",
            "workspace_id": WS,
            "agent_id": agent["id"],
            "task_description": "Check the queue depth",
            "cron_expression": "* * * * *",
        }
        resp = c.post("/api/proactive/schedules", json=body)
        resp.raise_for_status()
        ids.append(resp.json()["id"])
    return ids


def _lateness(c: httpx.Client, schedule_ids: list[str]) -> list[float]:
    late: list[float] = []
    wanted = set(schedule_ids)
    cursor = None
    while True:
        params = {"limit": 200, "status": "succeeded", **({"cursor": cursor} if cursor else {})}
        page = c.get("/api/runs", params=params).json()
        for run in page["items"]:
            if run["source_id"] in wanted:
                started, scheduled = (datetime.fromisoformat(run[k]) for k in ("started_at", "scheduled_for"))
                late.append((started - scheduled).total_seconds())
        cursor = page["next_cursor"]
        if not cursor:
            return sorted(late)


def _run_for(c: httpx.Client, count: int, minutes: int) -> list[float]:
    """Create `count` every-minute schedules, let them fire for `minutes`, pause them, collect."""
    ids = _create_schedules(c, count)
    time.sleep(60 * minutes + 5)
    for sid in ids:
        c.post(f"/api/proactive/schedules/{sid}/pause")
    time.sleep(5)
    return _lateness(c, ids)


def _report(name: str, count: int, per_run: list[list[float]]) -> None:
    medians = [statistics.median(late) for late in per_run]
    p99s = [percentile(late, 0.99) for late in per_run]
    pooled = [x for late in per_run for x in late]
    print(
        f"[lateness] {name} ({count} due each minute, {len(pooled)} occurrences in all): "
        f"median {spread(medians, ' ms', 1000)}, p99 {spread(p99s, ' ms', 1000)}; "
        f"all runs pooled: median {statistics.median(pooled) * 1000:.0f} ms, "
        f"p99 {percentile(pooled, 0.99) * 1000:.0f} ms, max {max(pooled) * 1000:.0f} ms"
    )


def main() -> None:
    quiet()
    steady: list[list[float]] = []
    burst: list[list[float]] = []
    for _ in range(RUNS):
        with (
            tempfile.TemporaryDirectory() as tmp,
            running_stack(Path(tmp) / "stack.log") as stack,
            stack.client(WS) as c,
        ):
            steady.append(_run_for(c, STEADY_SCHEDULES, STEADY_MINUTES))
            burst.append(_run_for(c, BURST_SCHEDULES, 1))
    _report("steady", STEADY_SCHEDULES, steady)
    _report("burst", BURST_SCHEDULES, burst)
