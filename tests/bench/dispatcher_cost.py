"""A dispatcher tick over 100,000 schedules of which 100 are due, beside a full table scan.

DynamoDB bills and scales by items read, so that is the figure that matters; moto's wall
times are shown too, but moto evaluates index queries by walking the whole table, so its
times say little about DynamoDB's.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import tests.conftest  # noqa: F401  (safe fake-AWS environment)

TOTAL = int(os.environ.get("BENCH_SCHEDULES", "100000"))
DUE = 100
REPEATS = 3


class ReadCounter:
    """Counts items DynamoDB reads for each call, from the responses themselves."""

    def __init__(self, client: Any) -> None:
        self.items = 0
        self.calls = 0
        client.meta.events.register("after-call.dynamodb", self._count)

    def _count(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls += 1
        if model.name in ("Query", "Scan"):
            self.items += int(parsed.get("ScannedCount", 0))
        elif model.name == "BatchGetItem":
            self.items += sum(len(v) for v in parsed.get("Responses", {}).values())
        elif model.name == "GetItem" and "Item" in parsed:
            self.items += 1

    def reset(self) -> None:
        self.items = self.calls = 0


def main() -> None:

    from proactive import dispatcher
    from proactive.clock import iso
    from proactive.queue import RunQueue
    from proactive.store import Store
    from tests.mockaws import mocked_aws

    with mocked_aws("bench-runs"):
        store, queue = Store(), RunQueue()
        now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        started = time.perf_counter()
        with store.table.batch_writer() as batch:
            for i in range(TOTAL):
                due_at = (
                    now + timedelta(minutes=1) if i < DUE else now + timedelta(hours=1, seconds=i % 86_400)
                )
                sid = f"sched-{i:08d}"
                body = {
                    "id": sid,
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
                batch.put_item(
                    Item={
                        "PK": f"SCHEDULE#{sid}",
                        "SK": "SCHEDULE",
                        "kind": "schedule",
                        "GSI1PK": f"WS#{body['workspace_id']}#SCHEDULE",
                        "GSI1SK": f"{body['created_at']}#{sid}",
                        **store.due.attributes(sid, due_at),
                        **body,
                    }
                )
        print(f"[dispatcher] loaded {TOTAL:,} schedules ({DUE} due) in {time.perf_counter() - started:.1f} s")

        counter = ReadCounter(store.table.meta.client)
        tick_times, tick_reads, scan_times, scan_reads = [], [], [], []
        for minute in range(REPEATS):
            # Each tick queues one occurrence of each of the 100 every-minute schedules.
            counter.reset()
            t0 = time.perf_counter()
            summary = dispatcher.tick(store, queue, now + timedelta(minutes=minute))
            tick_times.append(time.perf_counter() - t0)
            tick_reads.append(counter.items)
            assert (summary.due, summary.queued) == (DUE, DUE), summary
        # One full scan, counting only (moto spends most of a scan serialising items, which would
        # flatter the tick): it still reads every item.
        counter.reset()
        t0 = time.perf_counter()
        kwargs: dict[str, Any] = {}
        while True:
            page = store.table.scan(Select="COUNT", **kwargs)
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        scan_times.append(time.perf_counter() - t0)
        scan_reads.append(counter.items)
        tick_read, scan_read = statistics.median(tick_reads), statistics.median(scan_reads)
        print(
            f"[dispatcher] tick: {tick_read:,.0f} items read "
            f"(due index + consistent re-read of the {DUE} due), "
            f"{DUE} runs queued, "
            f"median {statistics.median(tick_times) * 1000:.0f} ms in moto over {REPEATS} runs"
        )
        print(
            f"[dispatcher] full scan baseline: {scan_read:,.0f} items read, "
            f"{scan_times[0] * 1000:.0f} ms in moto (one run)"
        )
        print(
            "[dispatcher] note: moto answers an index query by walking the whole table, so its tick time "
            "grows with table size; DynamoDB's grows with the items read"
        )
        print(
            f"[dispatcher] scan / tick: {scan_read / tick_read:,.0f}x the items read, "
            f"{scan_times[0] / statistics.median(tick_times):,.1f}x the time in moto"
        )
