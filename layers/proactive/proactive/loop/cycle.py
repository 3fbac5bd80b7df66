"""The goal loop on its own: while a workspace's loop runs autonomously, its settings item sits in
the due index at `next_analysis_at`, and the tick that finds that slot reached starts the state
machine's execution for it, then moves the item to the next slot (conditional on nobody having
moved it).

The execution's name is derived from the workspace and the slot, so starting it again (a second
tick, a retried one, two dispatchers racing) starts nothing new. It is started before the slot
moves: if Step Functions refuses, the slot stays, and the next tick tries again; nothing is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr

from proactive.clock import iso, parse_iso
from proactive.errors import ServiceUnavailable
from proactive.ids import derived_id
from proactive.loop import machine, runs_view
from proactive.observability import logger
from proactive.queue import RunQueue
from proactive.store import ConditionFailed, Store


def slot_analysis_id(workspace_id: str, slot: str) -> str:
    """The analysis (and execution name) of a workspace's slot: the same for every tick."""
    return derived_id("analysis", f"{workspace_id}|{slot}")


def dispatch(
    store: Store, queue: RunQueue, item: Mapping[str, Any], now: datetime, *, wall_now: datetime | None = None
) -> int:
    """Start the workspace's analysis once its slot is reached; how many were started (0 or 1)."""
    current = item.get("next_analysis_at")
    if not current:
        return 0
    slot = parse_iso(current)
    if slot > (wall_now or now):
        return 0  # the tick after the slot starts it: an analysis reads the points up to its time
    workspace_id = item["workspace_id"]
    analysis_id = slot_analysis_id(workspace_id, current)
    runs_view.begin(store, workspace_id, analysis_id, slot, trigger="schedule")
    try:
        machine.start(analysis_id, workspace_id, "schedule", current)
    except ServiceUnavailable as exc:
        logger.error("goal loop analysis not started; the next tick tries again", extra={"error": str(exc)})
        store.analyses.update(
            analysis_id, {"status": "failed", "error": f"not started ({exc}); the next tick tries again"}
        )
        return 0
    interval = timedelta(minutes=int(item["agent"]["analysis_interval_minutes"]))
    following = slot + interval
    while following <= now:
        following += interval  # after downtime: one analysis now, not one per slot missed
    try:
        store.loop_settings.update(
            workspace_id,
            {"next_analysis_at": iso(following), **store.due.attributes(workspace_id, following)},
            condition=Attr("next_analysis_at").eq(current),
        )
    except ConditionFailed:
        logger.info("goal loop settings changed during dispatch", extra={"workspace_id": workspace_id})
    return 1
