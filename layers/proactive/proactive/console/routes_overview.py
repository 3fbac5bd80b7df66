"""The console's overview of a workspace: `/console/{workspace}/`.

For the last 24 hours or 7 days (`?window=24h|7d`): the runs that finished, by status over time
(a chart, with the same figures as a table), the failure rate and the median and 95th percentile
duration (`GET /api/runs/stats`, kept as runs finish, so the page costs the same however many
runs the workspace holds); each agent's runs, tokens and cost; what fires next (schedules and
monitor checks); and the goal loop's active goals, the approvals waiting and the open
suggestions, each counted and the first few shown. Every part is the API's own answer; a part
the API refuses says so, and the rest of the page is still shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from proactive.clock import parse_iso
from proactive.console.web import Looking, Viewer, api, console_router, render
from proactive.errors import DomainError, InvalidInput

router = console_router()

WINDOWS = {"24h": "Last 24 hours", "7d": "Last 7 days"}
STATUSES = ("succeeded", "failed", "cancelled", "missed")
# How many of each list are read (the count shown is "N+" beyond it), and how many are shown.
COUNTED = 20
SHOWN = 5
# What fires next is found among this many schedules and monitors (one page of each).
SCANNED = 100


class Part:
    """One part of the page: the API's answer, or why it could not be had."""

    def __init__(self, value: Any = None, error: str | None = None) -> None:
        self.value = value
        self.error = error


async def _part(asked: Coroutine[Any, Any, Any]) -> Part:
    try:
        return Part(await asked)
    except DomainError as exc:
        return Part(error=exc.message)


def _listed(part: Part) -> dict[str, Any]:
    """A list part as the page shows it: the first few, and how many (`20+` past a page)."""
    if part.error is not None:
        return {"error": part.error, "items": [], "count": "—"}
    items = list((part.value or {}).get("items") or [])
    more = bool((part.value or {}).get("next_cursor"))
    return {"error": None, "items": items[:SHOWN], "count": f"{len(items)}+" if more else str(len(items))}


def _instant(value: Any) -> datetime | None:
    try:
        return parse_iso(str(value)) if value else None
    except ValueError:
        return None


def next_fires(schedules: Part, monitors: Part) -> dict[str, Any]:
    """The next schedule fires and monitor checks, soonest first (active ones only)."""
    found: list[dict[str, Any]] = []
    for part, kind, field in ((schedules, "schedule", "next_run"), (monitors, "monitor", "next_check")):
        for item in (part.value or {}).get("items") or []:
            at = _instant(item.get(field))
            if at is not None and item.get("is_active", True):
                found.append(
                    {"kind": kind, "id": item.get("id"), "name": item.get("name") or item.get("id"), "at": at}
                )
    found.sort(key=lambda f: f["at"])
    errors = [p.error for p in (schedules, monitors) if p.error]
    partial = any((p.value or {}).get("next_cursor") for p in (schedules, monitors))
    return {"items": found[:SHOWN], "errors": errors, "partial": partial}


def chart_data(stats: Mapping[str, Any]) -> dict[str, Any]:
    """What the chart script draws: bucket starts (epoch seconds) and a count per status each."""
    buckets = list(stats.get("buckets") or [])
    return {
        "window": stats.get("window"),
        "bucket_seconds": stats.get("bucket_seconds"),
        "x": [int(parse_iso(b["start"]).timestamp()) for b in buckets],
        "series": {status: [int(b.get(status) or 0) for b in buckets] for status in STATUSES},
    }


def chart_summary(stats: Mapping[str, Any], window: str) -> str:
    """The chart said in words, for those who cannot see it."""
    totals = stats.get("totals") or {}
    counted = ", ".join(f"{totals.get(s, 0)} {s}" for s in STATUSES)
    busiest = max(stats.get("buckets") or [{}], key=lambda b: b.get("total") or 0)
    peak = f"; the busiest interval had {busiest.get('total')} runs" if busiest.get("total") else ""
    return f"Runs finished, {WINDOWS[window].lower()}: {counted}{peak}."


def _agents(stats: Mapping[str, Any], agents: Part) -> list[dict[str, Any]]:
    """Each agent's usage, with its name where the agent is still there."""
    names = {a.get("id"): a.get("name") for a in (agents.value or {}).get("items") or []}
    return [{**row, "name": names.get(row.get("agent_id"))} for row in stats.get("agents") or []]


def _asks(request: Request, viewer: Viewer, window: str) -> list[Coroutine[Any, Any, Any]]:
    def get(path: str, **params: Any) -> Coroutine[Any, Any, Any]:
        return api(request, viewer, "GET", path, params=params)

    return [
        get("/api/runs/stats", window=window),
        get("/api/agents", limit=SCANNED),
        get("/api/proactive/schedules", limit=SCANNED),
        get("/api/proactive/monitors", limit=SCANNED),
        get("/api/autonomous/goals", status="active", limit=COUNTED),
        get("/api/autonomous/approvals", limit=COUNTED),
        get("/api/proactive/suggestions", status="open", limit=COUNTED),
    ]


@router.get("/{workspace}/")
async def overview(request: Request, workspace: str, viewer: Looking, window: str = "24h") -> HTMLResponse:
    """The workspace at a glance over `window` (24h or 7d)."""
    if window not in WINDOWS:
        raise InvalidInput(f"window must be one of {', '.join(WINDOWS)}; got {window!r}", field="window")
    stats, agents, schedules, monitors, goals, approvals, suggestions = await asyncio.gather(
        *(_part(asked) for asked in _asks(request, viewer, window))
    )
    shown = stats.value or {}
    return render(
        request,
        "overview/index.html",
        viewer,
        window=window,
        windows=WINDOWS,
        stats=shown,
        stats_error=stats.error,
        chart=chart_data(shown) if shown else None,
        summary=chart_summary(shown, window) if shown else "",
        statuses=STATUSES,
        agents=_agents(shown, agents),
        fires=next_fires(schedules, monitors),
        goals=_listed(goals),
        approvals=_listed(approvals),
        suggestions=_listed(suggestions),
        scanned=SCANNED,
    )
