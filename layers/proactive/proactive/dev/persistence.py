"""The local stack's data across restarts: the table saved to a file and loaded again.

moto keeps everything in memory, so the stack saves the table (as DynamoDB's own typed JSON,
one item per line, so nothing is lost in conversion) every minute and when it stops, and loads
it when it starts. The queue is not saved: work that was waiting in it (queued runs, checks and
deliveries) is found in the table and queued again, which is what makes it safe to stop the
stack at any moment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from proactive.clock import iso, parse_iso
from proactive.queue import MAX_DELAY_SECONDS, Message, RunQueue, delay_until, run_message

DATA_FILE = "table.jsonl"


def _items(client: Any, table_name: str) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator("scan").paginate(TableName=table_name):
        yield from page.get("Items", [])


def save(client: Any, table_name: str, folder: Path) -> int:
    """Write every item of the table to `folder` (atomically: a crash keeps the last save)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / DATA_FILE
    partial = target.with_suffix(".partial")
    count = 0
    with partial.open("w", encoding="utf-8") as out:
        for item in _items(client, table_name):
            out.write(json.dumps(item, separators=(",", ":")) + "\n")
            count += 1
    os.replace(partial, target)
    return count


def load(client: Any, table_name: str, folder: Path) -> int:
    """Put every saved item back into the (empty) table; 0 when nothing was saved."""
    source = folder / DATA_FILE
    if not source.exists():
        return 0
    batch: list[dict[str, Any]] = []
    count = 0
    with source.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                batch.append({"PutRequest": {"Item": json.loads(line)}})
                count += 1
            if len(batch) == 25:
                _write(client, table_name, batch)
                batch = []
    if batch:
        _write(client, table_name, batch)
    return count


def _write(client: Any, table_name: str, batch: list[dict[str, Any]]) -> None:
    request = {table_name: batch}
    while request:
        request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


def requeue_unfinished(client: Any, table_name: str, queue: RunQueue, now: datetime) -> int:
    """Queue again the work the table says is waiting: runs queued or running, checks queued,
    deliveries accepted but not yet run. Each is idempotent, so one that did finish is left alone."""
    from boto3.dynamodb.types import TypeDeserializer

    plain = TypeDeserializer()
    messages = []
    for raw in _items(client, table_name):
        item = {
            k: plain.deserialize(v)
            for k, v in raw.items()
            if k
            in (
                "kind",
                "status",
                "id",
                "scheduled_for",
                "run_id",
                "attempts",
                "retry_at",
                "waiting_for",
                "lease_until",
            )
        }
        kind, status, item_id = item.get("kind"), item.get("status"), str(item.get("id"))
        attempts = int(item.get("attempts") or 0)
        if kind == "run" and status == "queued":
            due = parse_iso(item.get("retry_at") or item["scheduled_for"])
            messages.append(run_message(item_id, delay_until(due, now), attempt=attempts + 1))
        elif kind == "run" and status == "running" and item.get("waiting_for"):
            # Waiting for an agent's callback: the timer that ends the wait was in the queue.
            lease = parse_iso(item["lease_until"])
            wake = min(MAX_DELAY_SECONDS, delay_until(lease, now))
            messages.append(
                run_message(item_id, wake, attempt=attempts, wake="callback", until=iso(now) + f"+{wake}")
            )
        elif kind == "run" and status == "running":
            # Its attempt was cut off: the run is taken over once its lease lapses.
            messages.append(
                run_message(item_id, min(MAX_DELAY_SECONDS, delay_until(parse_iso(item["lease_until"]), now)))
            )
        elif (kind == "check" and status == "queued") or (
            kind == "delivery" and status == "accepted" and not item.get("run_id")
        ):
            messages.append(Message(kind, item_id))
    queue.send(messages)
    return len(messages)


def settle_goal_actions(client: Any, table_name: str, now: datetime) -> int:
    """Record as ended the goal actions whose execution was under way when the stack stopped
    (moto keeps executions in memory), so their goals are planned again; how many."""
    from proactive.loop.acting import FINAL
    from proactive.loop.runs_view import timeline_entry
    from proactive.store import Store

    store = Store(table_name, client=client)
    settled = 0
    for raw in _items(client, table_name):
        if raw.get("kind", {}).get("S") != "goalaction" or raw.get("status", {}).get("S") in FINAL:
            continue
        reason = "the local stack stopped while this action was under way; its execution is gone"
        store.goal_actions.update(
            raw["id"]["S"],
            {"status": "error", "error": reason},
            append={"timeline": [timeline_entry(now, "error", reason)]},
        )
        settled += 1
    return settled
