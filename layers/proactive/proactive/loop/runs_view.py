"""Analyses and goal actions as the API starts and shows them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from proactive.clock import iso
from proactive.errors import ServiceUnavailable
from proactive.ids import new_id
from proactive.loop import machine
from proactive.store import Store

STEPS = ("forecast", "detect", "patterns", "set_goals", "plan")


def begin(store: Store, workspace_id: str, analysis_id: str, now: datetime, *, trigger: str) -> None:
    """Record an analysis as started (once: whoever records it again finds it there)."""
    store.analyses.create(
        {
            "id": analysis_id,
            "workspace_id": workspace_id,
            "created_at": iso(now),
            "analysed_at": iso(now),
            "trigger": trigger,
            "status": "running",
        }
    )


def record_step(store: Store, analysis_id: str, step: str, summary: Mapping[str, Any]) -> dict[str, Any]:
    """Record a step's summary on the analysis (a step run again writes the same)."""
    store.analyses.update(analysis_id, {f"step_{step}": summary_text(summary)})
    return dict(summary)


def read_step(item: Mapping[str, Any], step: str) -> dict[str, Any]:
    """What `record_step` recorded for `step` on the analysis (empty when it has not run)."""
    text = item.get(f"step_{step}")
    return dict(json.loads(text)) if text else {}


def timeline_entry(now: datetime, event: str, detail: str) -> dict[str, str]:
    """One line of a goal action's timeline: when, what, and the detail."""
    return {"at": iso(now), "event": event, "detail": detail}


def summary_text(summary: Mapping[str, Any]) -> str:
    return json.dumps(summary, separators=(",", ":"), default=str)


def start(store: Store, workspace_id: str, now: datetime) -> dict[str, Any]:
    """Start an analysis of the workspace now (the state machine records it as its first step;
    it is recorded here too, so the answer can be read back at once)."""
    analysis_id = new_id("analysis")
    begin(store, workspace_id, analysis_id, now, trigger="manual")
    try:
        machine.start(analysis_id, workspace_id, "manual", iso(now))
    except ServiceUnavailable as exc:
        store.analyses.update(analysis_id, {"status": "failed", "finished_at": iso(now), "error": str(exc)})
        raise
    return present(store.analyses.get(analysis_id) or {})


def present(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": item["id"],
        "workspace_id": item["workspace_id"],
        "trigger": item.get("trigger", "manual"),
        "status": item.get("status", "running"),
        "analysed_at": item["analysed_at"],
        "finished_at": item.get("finished_at"),
        "steps": {step: read_step(item, step) for step in STEPS if item.get(f"step_{step}")},
        "result": _result(item),
        "error": item.get("error"),
    }


def _result(item: Mapping[str, Any]) -> dict[str, Any] | None:
    text = item.get("result")
    return dict(json.loads(text)) if text else None


def present_action(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: item.get(name) for name in _ACTION_FIELDS} | {"timeline": list(item.get("timeline") or [])}


_ACTION_FIELDS = (
    *("id", "workspace_id", "goal_id", "analysis_id", "action_id", "action_name", "action_kind"),
    *("status", "plan", "approval", "run_id", "acted_at", "result", "impact", "outcome", "error"),
    *("timeline", "created_at"),
)
