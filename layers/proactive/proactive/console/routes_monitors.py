"""The console's monitors pages: the list, and one monitor with its checked value over time.

The list shows what each monitor checks, its condition, its state (ok, failing, or paused), its
last and next check. A monitor's page charts the values of its latest checks (a page of the API's
history, `GET /api/proactive/monitors/{id}/history`), draws the numbers its condition compares
`value` with as lines, and marks the checks that fired; a table lists the same checks. Check now,
pause and resume are forms (POST, with the page's CSRF token).
"""

from __future__ import annotations

import ast
import json
import math
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from fastapi import Request
from fastapi.responses import Response

from proactive.console.web import Checked, Looking, Viewer, api, console_router, redirect, render

router = console_router()

API = "/api/proactive/monitors"
PAGE = 50
# Checks drawn on a monitor's chart (the newest), and listed under it.
CHART_CHECKS = 100
TABLE_CHECKS = 25
_OPS = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}
_MIRRORED = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}


def _number(node: ast.AST) -> float | None:
    """A numeric constant (with its sign) of a condition, or None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _number(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return float(node.value)
    return None


def thresholds(condition: str) -> list[dict[str, Any]]:
    """The numbers a condition compares `value` with (`value > 150` gives 150, `0 < value <= 5`
    gives 0 and 5), each with its comparison read as `value <op> number`; none when it has none
    or does not parse."""
    try:
        tree = ast.parse(condition.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return []
    found: list[dict[str, Any]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            symbol = _OPS.get(type(op))
            if symbol is None:
                continue
            if isinstance(left, ast.Name) and left.id == "value" and (n := _number(right)) is not None:
                found.append({"op": symbol, "value": n})
            elif isinstance(right, ast.Name) and right.id == "value" and (n := _number(left)) is not None:
                found.append({"op": _MIRRORED[symbol], "value": n})
    return [t for t in found if math.isfinite(t["value"])]


def numeric(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _epoch(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def chart_data(checks: list[dict[str, Any]], condition: str) -> dict[str, Any]:
    """What the chart draws, oldest check first: times (epoch seconds), values (None where a
    check has no number), the values of the checks that fired, and the thresholds."""
    points, times = [], []
    for check in reversed(checks):
        when = check.get("checked_at") or check.get("scheduled_for")
        at = _epoch(when)
        if at is not None and check.get("status") != "queued":
            points.append((at, numeric(check.get("value")), bool(check.get("fired"))))
            times.append(when)
    values = [v for _, v, _ in points if v is not None]
    return {
        "first_at": times[0] if times else None,
        "last_at": times[-1] if times else None,
        "x": [at for at, _, _ in points],
        "value": [v for _, v, _ in points],
        "fired": [v if fired else None for _, v, fired in points],
        "thresholds": thresholds(condition),
        "count": len(values),
        "min": min(values) if values else None,
        "max": max(values) if values else None,
        "latest": values[-1] if values else None,
        "fired_count": sum(1 for _, v, fired in points if fired and v is not None),
    }


def _masked_url(url: str) -> str:
    """An address as the page shows it: its query's values hidden (they may hold a key)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    names = [pair.split("=", 1)[0] for pair in parts.query.split("&") if pair]
    return urlunsplit(parts._replace(query="&".join(f"{name}=…" for name in names)))


def checks_what(source: Any) -> str:
    """What a monitor reads, in words."""
    if not isinstance(source, dict):
        return "—"
    kind = source.get("type")
    if kind == "http":
        url = _masked_url(str(source.get("url", "")))
        return f"{source.get('method', 'GET')} {url} → {source.get('select', '')}"
    window = source.get("window", 300)
    aggregation = source.get("aggregation", "last")
    if kind == "metric":
        return f"Values posted to it: {aggregation} over {window} s"
    if kind == "series":
        return f"Goal-loop metric {source.get('metric_name', '?')}: {aggregation} over {window} s"
    return str(kind or "—")


def state_of(monitor: dict[str, Any]) -> str:
    return "paused" if not monitor.get("is_active") else str(monitor.get("state") or "unknown")


def shown_value(value: Any) -> str:
    """A checked value as a table cell shows it (a long one cut)."""
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:119] + "…"


def verdict(check: dict[str, Any]) -> str:
    status = check.get("status")
    if status == "error":
        return f"error: {check.get('error') or 'the source could not be read'}"
    if status == "skipped":
        return f"skipped: {check.get('reason') or ''}".rstrip(": ")
    if status == "queued":
        return "queued"
    met = check.get("condition_met")
    return "condition met" if met else ("condition not met" if met is False else "—")


@router.get("/{workspace}/monitors")
async def monitors_page(
    request: Request, workspace: str, viewer: Looking, cursor: str | None = None
) -> Response:
    """A page of the workspace's monitors."""
    page = await api(request, viewer, "GET", API, params={"limit": PAGE, "cursor": cursor})
    items = [
        {**m, "what": checks_what(m.get("source")), "shown_state": state_of(m)}
        for m in page.get("items", [])
        if isinstance(m, dict)
    ]
    next_cursor = page.get("next_cursor")
    next_url = f"{viewer.path('monitors')}?{urlencode({'cursor': next_cursor})}" if next_cursor else None
    return render(request, "monitors/list.html", viewer, monitors=items, next_url=next_url)


@router.get("/{workspace}/monitors/{monitor_id}")
async def monitor_page(request: Request, workspace: str, viewer: Looking, monitor_id: str) -> Response:
    """One monitor: its chart, its recent checks, and the result of a check just made."""
    path = f"{API}/{quote(monitor_id, safe='')}"
    monitor = await api(request, viewer, "GET", path)
    history = await api(request, viewer, "GET", f"{path}/history", params={"limit": CHART_CHECKS})
    checks = [c for c in history.get("items", []) if isinstance(c, dict)]
    checked_id = request.query_params.get("checked")
    rows = [{**c, "verdict": verdict(c), "shown_value": shown_value(c.get("value"))} for c in checks]
    return render(
        request,
        "monitors/detail.html",
        viewer,
        monitor={**monitor, "what": checks_what(monitor.get("source")), "shown_state": state_of(monitor)},
        chart=chart_data(checks, str(monitor.get("condition") or "")),
        checks=rows[:TABLE_CHECKS],
        checked=next((r for r in rows if r.get("id") == checked_id), None) if checked_id else None,
        checked_id=checked_id,
        done={"paused": "Monitor paused.", "resumed": "Monitor resumed."}.get(
            request.query_params.get("done", "")
        ),
    )


async def _act(request: Request, viewer: Viewer, monitor_id: str, action: str) -> Response:
    path = f"{API}/{quote(monitor_id, safe='')}"
    page = viewer.path(f"monitors/{quote(monitor_id, safe='')}")
    answer = await api(request, viewer, "POST", f"{path}/{action}")
    if action == "check":
        return redirect(request, f"{page}?{urlencode({'checked': answer.get('id', '')})}")
    return redirect(request, f"{page}?{urlencode({'done': action + 'd'})}")


@router.post("/{workspace}/monitors/{monitor_id}/check")
async def check_now(request: Request, workspace: str, viewer: Checked, monitor_id: str) -> Response:
    """Check now; the monitor's page then shows what the check found."""
    return await _act(request, viewer, monitor_id, "check")


@router.post("/{workspace}/monitors/{monitor_id}/pause")
async def pause(request: Request, workspace: str, viewer: Checked, monitor_id: str) -> Response:
    return await _act(request, viewer, monitor_id, "pause")


@router.post("/{workspace}/monitors/{monitor_id}/resume")
async def resume(request: Request, workspace: str, viewer: Checked, monitor_id: str) -> Response:
    return await _act(request, viewer, monitor_id, "resume")
