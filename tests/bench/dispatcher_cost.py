"""The dispatcher: what a tick reads, and how fast one shard dispatches.

1. A tick over 100,000 schedules of which 100 are due, beside a full table scan. DynamoDB bills
   and scales by items read, so that is the figure that matters; moto answers an index query by
   walking the whole table, so its wall times say little about DynamoDB's.
2. The per-shard dispatch rate: one shard with 1,000 occurrences due in its window. The calls per
   occurrence are counted exactly; with DynamoDB's and SQS's per-call latency they give the rate
   one shard's invocation sustains in AWS, the figure the README's capacity model uses.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import tests.conftest  # noqa: F401  (safe fake-AWS environment)
from tests.bench.common import CallCounter, quiet, spread

TOTAL = int(os.environ.get("BENCH_SCHEDULES", "100000"))
DUE = 100
REPEATS = int(os.environ.get("BENCH_RUNS", "3"))
SHARD_DUE = int(os.environ.get("BENCH_SHARD_DUE", "1000"))
# Per-call latency in AWS, from inside the region (DynamoDB: single-digit milliseconds for
# single-item reads and writes; SQS: a SendMessageBatch takes longer). Assumptions of the model,
# stated once: the measured call counts are multiplied by these.
LATENCY_MS = {
    "PutItem": 6.0,
    "UpdateItem": 6.0,
    "GetItem": 4.0,
    "BatchGetItem": 8.0,
    "Query": 8.0,
    "SendMessageBatch": 15.0,
}
# Each shard's invocation has 55 s (its timeout) to hand one minute's occurrences to SQS.
TICK_BUDGET_SECONDS = 55
# A DynamoDB partition (the due index's shard partition among them) takes 1,000 writes a second.
PARTITION_WRITES_PER_SECOND = 1000
TARGET = 1_000_000


def _schedule(i: int, due_at: datetime, now: datetime) -> dict[str, Any]:
    from proactive.clock import iso

    return {
        "id": f"sched-{i:08d}",
        "workspace_id": f"ws-{i % 50}",
        "name": f"s{i}",
        "agent_id": "agent-bench",
        "task_description": "Generate daily metrics report",
        "cron_expression": "* * * * *",
        "timezone": "UTC",
        "is_active": True,
        "catch_up": "latest",
        "overlap": "allow",
        "next_fire_at": iso(due_at),
        "created_at": iso(now),
        "updated_at": iso(now),
    }


def _load(store: Any, count: int, due: int, now: datetime) -> None:
    items = []
    for i in range(count):
        due_at = now + timedelta(minutes=1) if i < due else now + timedelta(hours=1, seconds=i % 86_400)
        body = _schedule(i, due_at, now)
        items.append(store.schedules.item(body, store.due.attributes(body["id"], due_at)))
    store.table.put_many(items)


def _tick_against_scan() -> None:
    from proactive import dispatcher, wiring
    from proactive.context import Context
    from proactive.queue import RunQueue
    from proactive.store import Store
    from tests.mockaws import mocked_aws

    with mocked_aws("bench-runs"):
        store, queue = Store(), RunQueue()
        now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        _load(store, TOTAL, DUE, now)
        counter = CallCounter(store.table.client)
        tick_times, tick_reads = [], []
        for minute in range(REPEATS):
            counter.reset()
            t0 = time.perf_counter()
            summary = dispatcher.tick(Context(store, queue, wiring.bus()), now + timedelta(minutes=minute))
            tick_times.append(time.perf_counter() - t0)
            tick_reads.append(counter.items_read)
            assert (summary.due, summary.counts["queued"]) == (DUE, DUE), summary
        counter.reset()
        t0 = time.perf_counter()
        for _ in store.table.client.get_paginator("scan").paginate(
            TableName=store.table.name, Select="COUNT"
        ):
            pass
        scan_time = time.perf_counter() - t0
        scan_reads = counter.items_read
    tick_read = statistics.median(tick_reads)
    print(
        f"[dispatcher] {TOTAL:,} schedules, {DUE} due: a tick reads {tick_read:,.0f} items "
        f"(a full scan: {scan_reads:,}, {scan_reads / tick_read:,.0f}x more); "
        f"tick {spread(tick_times, ' ms', 1000)} in moto, scan {scan_time * 1000:,.0f} ms"
    )


def _shard_rate() -> None:
    from proactive import dispatcher, wiring
    from proactive.context import Context
    from proactive.queue import RunQueue
    from proactive.settings import get_settings
    from proactive.store import Store
    from tests.mockaws import mocked_aws

    times, per_occurrence = [], {}
    for run in range(REPEATS):
        with mocked_aws(f"bench-shard-{run}", DUE_SHARDS="1"):
            store, queue = Store(), RunQueue()
            now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
            _load(store, SHARD_DUE, SHARD_DUE, now)
            counter = CallCounter(store.table.client, queue._sqs)
            t0 = time.perf_counter()
            summary = dispatcher.tick(Context(store, queue, wiring.bus()), now)
            times.append(time.perf_counter() - t0)
            assert summary.counts["queued"] == SHARD_DUE, summary
            per_occurrence = {op: n / SHARD_DUE for op, n in counter.calls.items()}
            concurrency = get_settings().dispatch_concurrency
    sequential_ms = sum(LATENCY_MS[op] * n for op, n in per_occurrence.items())
    rate = concurrency * 1000 / sequential_ms
    per_tick = rate * TICK_BUDGET_SECONDS
    shards_for_time = math.ceil(TARGET / per_tick)
    # Each occurrence rewrites its item's due-index entry: one write to its shard's partition.
    shards_for_writes = math.ceil(TARGET / 60 / PARTITION_WRITES_PER_SECOND)
    calls = ", ".join(f"{op} {n:.2f}" for op, n in sorted(per_occurrence.items()))
    print(f"[dispatcher] calls per occurrence dispatched: {calls}")
    print(
        f"[dispatcher] one shard in moto: {SHARD_DUE / statistics.median(times):,.0f} occurrences/s "
        f"(tick {spread(times, ' s', 1, 2)}, {concurrency} at once)"
    )
    print(
        f"[dispatcher] model for AWS: {sequential_ms:.0f} ms of calls per occurrence, "
        f"{concurrency} at once -> "
        f"{rate:,.0f} occurrences/s per shard, {per_tick:,.0f} per tick; "
        f"{TARGET:,} due in one minute need {max(shards_for_time, shards_for_writes)} shards "
        f"({shards_for_time} for time, {shards_for_writes} for due-index writes)"
    )


def main() -> None:
    quiet()
    _tick_against_scan()
    _shard_rate()
