"""Fire lateness in the local stack: run start minus scheduled time, over a few hundred
occurrences of every-minute schedules.

Two loads: a steady one (a few runs each minute) shows what the dispatch design gives; a burst
(hundreds of runs due in the same second, as cron makes them) shows the local stand-in's
throughput, where runs queue behind each other. In AWS the worker scales out with the queue.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from tests.localstack import running_stack

STEADY_SCHEDULES = int(os.environ.get("BENCH_STEADY_SCHEDULES", "25"))
STEADY_MINUTES = int(os.environ.get("BENCH_STEADY_MINUTES", "4"))
BURST_SCHEDULES = int(os.environ.get("BENCH_BURST_SCHEDULES", "200"))
POLLERS = "8"
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
            if run["source_id"] not in wanted:
                continue
            delta = datetime.fromisoformat(run["started_at"]) - datetime.fromisoformat(run["scheduled_for"])
            late.append(delta.total_seconds())
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


def _report(name: str, late: list[float], count: int) -> None:
    p99 = late[min(len(late) - 1, int(len(late) * 0.99))]
    print(
        f"[lateness] {name}: {len(late)} occurrences ({count} due each minute, {POLLERS} worker pollers): "
        f"median {statistics.median(late) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {late[-1] * 1000:.0f} ms"
    )


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_stack(Path(tmp) / "stack.log", "--pollers", POLLERS) as stack,
        stack.client(WS) as c,
    ):
        steady = _run_for(c, STEADY_SCHEDULES, STEADY_MINUTES)
        burst = _run_for(c, BURST_SCHEDULES, 1)
    _report("steady", steady, STEADY_SCHEDULES)
    _report("burst", burst, BURST_SCHEDULES)
