"""The goal loop on its own: while a workspace's loop runs autonomously (with auto analysis), its
settings item sits in the due index at `next_analysis_at`, and each tick that finds it due
claims that slot (moving the item to the next one, conditional on nobody having moved it) and
queues one analysis for it. The worker runs the analysis; the message's id names the workspace
and the slot, so a redelivered message does not analyse twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr

from proactive.clock import iso, parse_iso
from proactive.observability import logger
from proactive.queue import Message, RunQueue, delay_until
from proactive.schedules import window_end
from proactive.store import ConditionFailed, Store


def dispatch(
    store: Store, queue: RunQueue, item: Mapping[str, Any], now: datetime, *, wall_now: datetime | None = None
) -> int:
    """Claim the workspace's due analysis and queue it (exactly once per slot)."""
    current = item.get("next_analysis_at")
    if not current:
        return 0
    slot = parse_iso(current)
    if slot > window_end(now):
        return 0
    interval = timedelta(minutes=int(item["agent"]["analysis_interval_minutes"]))
    following = slot + interval
    while following <= now:
        following += interval  # after downtime: one analysis now, not one per slot missed
    try:
        store.loop_settings.update(
            item["workspace_id"],
            {"next_analysis_at": iso(following), **store.due.attributes(item["workspace_id"], following)},
            condition=Attr("next_analysis_at").eq(current),
        )
    except ConditionFailed:
        logger.info(
            "goal loop settings changed during dispatch", extra={"workspace_id": item["workspace_id"]}
        )
        return 0
    queue.send([Message("analysis", f"{item['workspace_id']}#{current}", delay_until(slot, wall_now or now))])
    return 1


def perform(
    store: Store, queue: RunQueue, analysis_id: str, now_fn: Callable[[], datetime], extra: Mapping[str, Any]
) -> dict[str, Any]:
    """Run the analysis a message asks for, unless the loop was turned off meanwhile."""
    workspace_id, _, slot = analysis_id.rpartition("#")
    settings = store.loop_settings.get(workspace_id)
    if not settings or not settings["agent"]["autonomous_mode"]:
        return {"analysis_id": analysis_id, "status": "skipped", "reason": "the goal loop is not on"}
    if settings.get("last_analysis_at") and settings["last_analysis_at"] >= slot:
        return {"analysis_id": analysis_id, "status": "done"}  # this slot's analysis already ran
    from proactive.loop import analysis  # numpy and the forecaster: only where an analysis runs

    decided = analysis.analyse(store, workspace_id, now_fn())
    return {"analysis_id": analysis_id, "status": "analysed", "created": len(decided["created"])}
