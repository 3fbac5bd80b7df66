"""Fire lateness in the local stack: run start minus scheduled time, over a few hundred
occurrences of every-minute schedules."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from tests.localstack import running_stack

SCHEDULES = int(os.environ.get("BENCH_LATENESS_SCHEDULES", "150"))
MINUTES = int(os.environ.get("BENCH_LATENESS_MINUTES", "2"))
POLLERS = "8"
WS = "ws-bench"


def _create_schedules(c: httpx.Client) -> list[str]:
    agent = c.post("/api/agents", json={"workspace_id": WS, "name": "bench-agent"}).json()
    ids = []
    for i in range(SCHEDULES):
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


def _lateness(c: httpx.Client) -> list[float]:
    late: list[float] = []
    cursor = None
    while True:
        params = {"limit": 200, "status": "succeeded", **({"cursor": cursor} if cursor else {})}
        page = c.get("/api/runs", params=params).json()
        for run in page["items"]:
            delta = datetime.fromisoformat(run["started_at"]) - datetime.fromisoformat(run["scheduled_for"])
            late.append(delta.total_seconds())
        cursor = page["next_cursor"]
        if not cursor:
            return sorted(late)


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_stack(Path(tmp) / "stack.log", "--pollers", POLLERS) as stack,
        stack.client(WS) as c,
    ):
        ids = _create_schedules(c)
        # Let every schedule fire MINUTES times, then pause them and collect.
        time.sleep(60 * MINUTES + 5)
        for sid in ids:
            c.post(f"/api/proactive/schedules/{sid}/pause")
        time.sleep(5)
        late = _lateness(c)
    p99 = late[min(len(late) - 1, int(len(late) * 0.99))]
    print(
        f"[lateness] {len(late)} occurrences of {SCHEDULES} every-minute schedules, {POLLERS} worker pollers"
    )
    print(
        f"[lateness] run start - scheduled time: median {statistics.median(late) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {late[-1] * 1000:.0f} ms, min {late[0] * 1000:.0f} ms"
    )
