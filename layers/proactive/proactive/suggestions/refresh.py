"""Mining a workspace now: read its recent history, find its patterns, bring its suggestions up
to date and record what was found. The worker does it daily per workspace (the due kind
`mining`); `POST /api/proactive/suggestions/refresh` does it at once."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from proactive.clock import iso
from proactive.observability import logger
from proactive.store import ConditionFailed, Store
from proactive.suggestions import MINING_INTERVAL, enroll, history, lifecycle, mining


@dataclass(frozen=True)
class Mined:
    patterns: int
    open: int
    took_ms: int


def refresh(store: Store, workspace_id: str, now: datetime) -> Mined:
    """Mine the workspace's recent history now and bring its suggestions up to date."""
    started = time.perf_counter()
    seen = history.read(store, workspace_id, now)
    found = mining.mine(seen, now)
    existing = store.suggestions.all_in(workspace_id)
    plan = lifecycle.reconcile(existing, found.candidates, now)
    for suggestion in plan.writes:
        if suggestion.version:
            store.suggestions.update(suggestion.id, suggestion.as_stored(), expect_version=suggestion.version)
        else:
            store.suggestions.put(suggestion)
    linked = {c.pattern_id: c.id for c in found.candidates}
    took_ms = int((time.perf_counter() - started) * 1000)
    patterns = [{**p, "suggestion_id": linked.get(p["id"])} for p in found.patterns]
    _record_mining(store, workspace_id, now, patterns, seen.sizes(), took_ms, seen.until - seen.since)
    logger.info(
        "suggestions mined",
        extra={"workspace_id": workspace_id, "patterns": len(patterns), "took_ms": took_ms, **seen.sizes()},
    )
    return Mined(len(patterns), plan.open, took_ms)


def _record_mining(
    store: Store,
    workspace_id: str,
    now: datetime,
    patterns: list[dict[str, Any]],
    sizes: Mapping[str, int],
    took_ms: int,
    window: timedelta,
) -> None:
    found = {
        "next_fire_at": iso(now + MINING_INTERVAL),
        "mined_at": now,
        "patterns": patterns,
        "history": dict(sizes),
        "took_ms": took_ms,
        "window_days": window.days,
    }
    try:
        store.minings.reschedule(workspace_id, found, due_at=now + MINING_INTERVAL)
    except ConditionFailed:  # mined before it was enrolled
        enroll(store, workspace_id, now)
        store.minings.reschedule(workspace_id, found, due_at=now + MINING_INTERVAL)


def perform(store: Store, workspace_id: str, now: datetime) -> dict[str, Any]:
    """The worker's mining of one workspace (its daily slot)."""
    mined = refresh(store, workspace_id, now)
    return {"patterns": mined.patterns, "open": mined.open, "took_ms": mined.took_ms}
