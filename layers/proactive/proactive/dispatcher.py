"""One dispatcher tick: find what is due in the window and hand it to the queue.

The tick never scans: it queries the sparse due index for `due_at <= window end`, re-reads
those items consistently (the index lags writes), and dispatches each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from proactive import monitors, schedules
from proactive.observability import logger, metrics
from proactive.queue import RunQueue
from proactive.store import Store


@dataclass
class TickSummary:
    now: str
    due: int = 0
    queued: int = 0
    missed: int = 0
    requeued: int = 0
    checks: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "due": self.due,
            "queued": self.queued,
            "missed": self.missed,
            "requeued": self.requeued,
            "checks": self.checks,
            "errors": self.errors,
        }


def tick(store: Store, queue: RunQueue, now: datetime, *, wall_now: datetime | None = None) -> TickSummary:
    summary = TickSummary(now=now.isoformat())
    due = list(store.query_due(schedules.window_end(now)))
    summary.due = len(due)
    fresh = store.get_items_consistent([(item["kind"], item["id"]) for item in due])
    for item in fresh:
        try:
            if item["kind"] == "schedule":
                result = schedules.dispatch(store, queue, item, now, wall_now=wall_now)
                summary.queued += len(result.queued)
                summary.missed += len(result.missed)
                summary.requeued += len(result.requeued)
            elif item["kind"] == "monitor":
                summary.checks += int(monitors.dispatch(store, queue, item, now, wall_now=wall_now))
        except Exception as exc:
            # One broken item must not stop the others; it stays due and is retried next tick.
            logger.exception("dispatch failed", extra={"item_id": item.get("id"), "kind": item.get("kind")})
            summary.errors.append(f"{item.get('kind')} {item.get('id')}: {type(exc).__name__}: {exc}")
    metrics.add_metric(name="DueItems", unit="Count", value=summary.due)
    metrics.add_metric(name="OccurrencesQueued", unit="Count", value=summary.queued)
    metrics.add_metric(name="OccurrencesMissed", unit="Count", value=summary.missed)
    logger.info("tick", extra=summary.as_dict())
    return summary
