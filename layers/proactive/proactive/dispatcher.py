"""One dispatcher tick: find what is due in the window and hand it to the queue.

The tick never scans: for each shard of the sparse due index it queries `due_at <= window end`,
re-reads those items consistently (the index lags writes), and dispatches each through its
kind's registered function (`proactive.wiring`), several at once (each item's claim is its own
conditional write, so they do not interfere). A tick may cover every shard, or one: with
`DISPATCH_FANOUT=lambda` the scheduled invocation hands each shard to an invocation of its own,
so the work of one tick grows with the number of shards, not with one function's send rate.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from proactive.context import Context
from proactive.observability import logger, metrics
from proactive.schedules import window_end
from proactive.settings import get_settings
from proactive.wiring import DUE_KINDS

COUNTS = ("queued", "missed", "requeued", "checks")


@dataclass
class TickSummary:
    now: str
    due: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "due": self.due,
            **{k: self.counts[k] for k in COUNTS},
            "errors": self.errors,
        }


def tick(
    ctx: Context,
    now: datetime,
    *,
    wall_now: datetime | None = None,
    shards: Iterable[int] | None = None,
) -> TickSummary:
    """Dispatch everything due by the end of the window in `shards` (default: all of them)."""
    summary = TickSummary(now=now.isoformat())
    until = window_end(now)

    def dispatch(item: dict[str, Any]) -> Mapping[str, int] | str:
        kind = DUE_KINDS.get(item["kind"])
        try:
            if kind is None:
                raise LookupError(f"nothing is registered to dispatch {item['kind']!r} items")
            return kind.dispatch(ctx, item, now, wall_now)
        except Exception as exc:
            # One broken item must not stop the others; it stays due and is retried next tick.
            logger.exception("dispatch failed", extra={"item_id": item.get("id"), "kind": item.get("kind")})
            return f"{item.get('kind')} {item.get('id')}: {type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(max_workers=get_settings().dispatch_concurrency) as pool:
        for shard in range(ctx.store.due.shards) if shards is None else shards:
            refs = list(ctx.store.due.due(shard, until))
            summary.due += len(refs)
            for outcome in pool.map(dispatch, ctx.store.due.read(refs)):
                if isinstance(outcome, str):
                    summary.errors.append(outcome)
                else:
                    summary.counts.update(outcome)
    metrics.add_metric(name="DueItems", unit="Count", value=summary.due)
    metrics.add_metric(name="OccurrencesQueued", unit="Count", value=summary.counts["queued"])
    metrics.add_metric(name="OccurrencesMissed", unit="Count", value=summary.counts["missed"])
    logger.info("tick", extra=summary.as_dict())
    return summary


def fan_out(lambda_client: Any, function_name: str, time: str, shards: int) -> int:
    """Start one asynchronous invocation of the dispatcher per shard, all for the same tick."""

    def invoke(shard: int) -> None:
        lambda_client.invoke(
            FunctionName=function_name,
            InvocationType="Event",
            Payload=json.dumps({"time": time, "shard": shard}).encode(),
        )

    with ThreadPoolExecutor(max_workers=min(16, shards)) as pool:
        list(pool.map(invoke, range(shards)))
    logger.info("tick fanned out", extra={"time": time, "shards": shards})
    return shards
