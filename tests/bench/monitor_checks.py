"""Monitors: checks per second the worker sustains against a loopback JSON source, and the
dispatcher's cost with 10,000 monitors of which 100 are due."""

from __future__ import annotations

import json
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

import tests.conftest  # noqa: F401  (safe fake-AWS environment)
from tests.bench.common import CallCounter, quiet, spread

MONITORS = int(os.environ.get("BENCH_MONITORS", "10000"))
DUE = 100
CHECKS = 300


def main() -> None:
    quiet()
    from proactive import dispatcher, monitors, wiring
    from proactive.agents import create_agent
    from proactive.clock import iso
    from proactive.context import Context
    from proactive.dev.local import LocalContext, load_handler, sqs_event
    from proactive.models.agents import AgentCreate
    from proactive.models.monitors import CheckRecord, MonitorCreate
    from proactive.queue import RunQueue
    from proactive.store import Store
    from tests.mockaws import mocked_aws
    from tests.quotes import running_quote

    with running_quote(price=151) as quote, mocked_aws("bench-monitors") as res:
        url = quote.url
        store, queue = Store(), RunQueue()
        now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        agent = create_agent(store, AgentCreate(workspace_id="ws", name="a"), now)
        base = MonitorCreate(
            name="m",
            agent_id=agent["id"],
            workspace_id="ws",
            condition="value > 150",
            action="Price {value}",
            check_interval=3600,
            source={"type": "http", "url": url, "select": "data.price"},
        )  # type: ignore[arg-type]

        # Checks per second: the worker handler, fed SQS batches of queued checks.
        ids = []
        for i in range(CHECKS):
            mon = monitors.create_monitor(store, base.model_copy(update={"name": f"m{i}"}), now)
            check = CheckRecord(
                id=f"chk-bench-{i}", monitor_id=mon.id, workspace_id="ws", scheduled_for=now, status="queued"
            )
            store.checks.create(check)
            ids.append(check.id)
        worker = load_handler("worker", instance="_bench")
        records = [
            {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": json.dumps({"check_id": cid})}
            for i, cid in enumerate(ids)
        ]
        t0 = time.perf_counter()
        for start in range(0, len(records), 10):
            result = worker.handler(
                sqs_event(records[start : start + 10], res["queue_arn"]), LocalContext("WorkerFunction")
            )
            assert result["batchItemFailures"] == [], result
        elapsed = time.perf_counter() - t0
        fired = sum(1 for cid in ids if getattr(store.checks.get(cid), "fired", False))
        assert fired == CHECKS, fired
        print(
            f"[monitors] worker: {CHECKS / elapsed:.0f} checks/s over {CHECKS} checks "
            "against a loopback source "
            f"(each fired and queued a run; DynamoDB and SQS are moto in-process, one worker)"
        )

        # Dispatcher cost: MONITORS monitors, DUE of them due in this tick.
        items = []
        for i in range(MONITORS):
            mid = f"mon-{i:08d}"
            due_at = now + timedelta(seconds=30) if i < DUE else now + timedelta(hours=1, seconds=i % 3600)
            body = {
                **base.model_dump(),
                "check_interval": 60,
                "id": mid,
                "next_fire_at": iso(due_at),
                "created_at": iso(now),
                "updated_at": iso(now),
                "state": "unknown",
                "trigger_count": 0,
            }
            items.append(store.monitors.item(json.loads(json.dumps(body)), store.due.attributes(mid, due_at)))
        store.table.put_many(items)
        counter = CallCounter(store.table.client)
        times, reads = [], []
        for minute in range(3):
            counter.reset()
            t0 = time.perf_counter()
            summary = dispatcher.tick(Context(store, queue, wiring.bus()), now + timedelta(minutes=minute))
            times.append(time.perf_counter() - t0)
            reads.append(counter.items_read)
            assert summary.counts["checks"] == DUE, summary
        print(
            f"[monitors] dispatcher tick with {MONITORS:,} monitors, {DUE} due: "
            f"{statistics.median(reads):,.0f} items read (the {DUE} due, via the due index, and their "
            f"consistent re-read); a full scan reads {MONITORS + CHECKS:,}+ items: "
            f"{(MONITORS + CHECKS) / statistics.median(reads):,.0f}x more; "
            f"tick {spread(times, ' ms', 1000)} in moto"
        )
