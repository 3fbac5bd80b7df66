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

from proactive.queue import RunQueue

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
    """Queue again the work the table says is waiting (each work kind says what of its own is
    waiting, and for when). Work is idempotent, so a piece that did finish is left alone."""
    from boto3.dynamodb.types import TypeDeserializer

    from proactive.wiring import WORK_KINDS

    plain = TypeDeserializer()
    messages = []
    for raw in _items(client, table_name):
        kind = WORK_KINDS.get(raw.get("kind", {}).get("S", ""))
        if kind is None or kind.requeue is None:
            continue
        item = {k: plain.deserialize(v) for k, v in raw.items() if k in _WAITING_FIELDS}
        message = kind.requeue(item, now)
        if message is not None:
            messages.append(message)
    queue.send(messages)
    return len(messages)


# What says whether a piece of work is waiting and for when (the rest of an item is not read).
_WAITING_FIELDS = frozenset(
    {
        "kind",
        "status",
        "id",
        "scheduled_for",
        "run_id",
        "attempts",
        "retry_at",
        "waiting_for",
        "lease_until",
        "next_attempt_at",
    }
)


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


def settle_analyses(client: Any, table_name: str, now: datetime) -> int:
    """Record as ended (`failed`, saying why) the analyses whose execution was under way when the
    stack stopped: moto kept the execution in memory, so nothing would ever end them and they
    would show `running` for good. How many."""
    from boto3.dynamodb.conditions import Attr

    from proactive.clock import iso
    from proactive.store import ConditionFailed, Store

    store = Store(table_name, client=client)
    settled = 0
    for raw in _items(client, table_name):
        if raw.get("kind", {}).get("S") != "analysis" or raw.get("status", {}).get("S") != "running":
            continue
        reason = "the local stack stopped while this analysis was under way; its execution is gone"
        try:
            store.analyses.update(
                raw["id"]["S"],
                {"status": "failed", "finished_at": iso(now), "error": reason},
                condition=Attr("status").eq("running"),
            )
        except ConditionFailed:  # it ended meanwhile
            continue
        settled += 1
    return settled
