"""Notifications: how many one worker sends per second to a Discord receiver on loopback (each
rendered, sent, answered and recorded; moto in-process), and the AWS calls each one costs."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import tests.conftest  # noqa: F401  (safe fake-AWS environment)
from tests.bench.common import CallCounter, quiet, spread

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PER_MEASURE = 200


def _measure(attempt: int) -> tuple[float, dict[str, float]]:
    from proactive import events
    from proactive.dev.local import LocalContext, load_handler, sqs_event
    from proactive.notifications import outbox
    from proactive.queue import RunQueue
    from proactive.store import Store
    from tests.fakes import DiscordWebhook
    from tests.mockaws import mocked_aws

    with mocked_aws(f"bench-notify-{attempt}") as res, DiscordWebhook() as discord:
        store, queue = Store(), RunQueue()
        now = datetime.now(UTC)
        store.channels.put(
            {
                "id": "chan-bench",
                "workspace_id": "ws",
                "name": "bench",
                "type": "discord",
                "config": {"webhook_url": discord.url},
                "is_active": True,
                "created_at": "2026-01-01T00:00:00.000000Z",
                "updated_at": "2026-01-01T00:00:00.000000Z",
            }
        )
        records = []
        for i in range(PER_MEASURE):
            run = {
                "id": f"run-bench-{attempt}-{i}",
                "workspace_id": "ws",
                "agent_id": "agent-x",
                "source_type": "schedule",
                "source_id": "sched-1",
                "source_name": "Daily Report",
                "status": "succeeded",
                "attempts": 1,
                "task": "Generate the daily report",
                "started_at": "2026-01-01T00:00:00.000000Z",
                "finished_at": "2026-01-01T00:00:03.000000Z",
                "output": f"Report {i}: revenue up 4%, 3 anomalies explained. " * 20,
                "notify": [{"channel_id": "chan-bench", "on": ["success"]}],
            }
            event = events.Event(events.RUN_FINISHED, run)
            captured: list[str] = []
            original = queue.send
            queue.send = lambda messages, _c=captured: _c.extend(m.id for m in messages)  # type: ignore[method-assign]
            outbox.on_event(store, queue, event, now)
            queue.send = original  # type: ignore[method-assign]
            records += [
                {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": f'{{"notification_id": "{nid}"}}'}
                for nid in captured
            ]
        worker = load_handler("worker", instance=f"_bench_notify_{attempt}")
        counter = CallCounter(worker.ctx.store.table.client, worker.ctx.queue._sqs)
        t0 = time.perf_counter()
        for start in range(0, len(records), 10):
            result = worker.handler(
                sqs_event(records[start : start + 10], res["queue_arn"]), LocalContext("WorkerFunction", 300)
            )
            assert result["batchItemFailures"] == [], result
        elapsed = time.perf_counter() - t0
        assert len(discord.messages) == PER_MEASURE, len(discord.messages)
        return PER_MEASURE / elapsed, {op: n / PER_MEASURE for op, n in counter.calls.items()}


def main() -> None:
    quiet()
    rates, calls = [], {}
    for attempt in range(RUNS):
        rate, calls = _measure(attempt)
        rates.append(rate)
    per = ", ".join(f"{op} {n:.2f}" for op, n in sorted(calls.items()))
    print(
        f"[notifications] one worker, {PER_MEASURE} notifications in batches of 10 to a Discord receiver on "
        f"loopback (moto in-process): {spread(rates, ' sent/s')}; AWS calls per notification: {per}"
    )
