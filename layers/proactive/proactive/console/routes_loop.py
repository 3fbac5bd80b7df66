"""The goal loop in the console: what it watches, what it found, what it wants to do.

- `/console/{ws}/loop`: the loop's state, the approvals inbox (actions waiting for a decision,
  with approve and reject buttons, and the latest decisions: who, when, the run each started,
  kept up to date while the page is open), the goals with why each was set, and the metrics.
- `/console/{ws}/loop/approvals?state=awaiting|decided`: the whole inbox, a page at a time.
- `/console/{ws}/loop/goals/{id}`: a goal, its evidence, its metric's chart with the goal's
  threshold and predicted breach, and what each action did for it (decision, run, measured
  impact against the forecast made before it).
- `/console/{ws}/loop/metrics/{name}`: a metric's chart: recorded values, forecast with its 90%
  band, anomalies and the rules' thresholds, and the same in words.

A decision is the API's own (`POST /api/autonomous/approvals/{id}/approve` or `/reject`), made
as the person signed in, so it records them as who decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import Response

from proactive.clock import iso, parse_iso, utcnow
from proactive.console import loop_charts
from proactive.console.web import Checked, Looking, Viewer, api, console_router, form_fields, redirect, render
from proactive.errors import InvalidInput, NotFound
from proactive.models.loop import MAX_HORIZON_HOURS

router = console_router()

GOAL_STATUSES = ("active", "achieved", "failed", "expired")
APPROVAL_STATES = ("awaiting", "decided")
DECISIONS = ("approve", "reject")
# How much of a metric's history a chart shows (hours), and the most points it reads.
WINDOWS = {6: "6 hours", 24: "24 hours", 72: "3 days", 168: "7 days"}
DEFAULT_WINDOW = 24
# How far ahead a chart's forecast may reach (hours), as the page offers it.
AHEAD = (1, 2, 6, 12, 24, 72, 168)
CHART_POINTS = 1000
PAGE = 50
EPOCH = "1970-01-01T00:00:00Z"


def _choice(value: str | None, allowed: tuple[str, ...], field: str) -> str | None:
    """An optional filter from the address: one of `allowed`, or a readable 422."""
    if value in (None, ""):
        return None
    if value not in allowed:
        raise InvalidInput(f"{field} must be one of {', '.join(allowed)}", field=field)
    return value


def _limit(value: str | None, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise InvalidInput("limit must be a whole number from 1 to 100", field="limit") from None
    if not 1 <= number <= 100:
        raise InvalidInput("limit must be a whole number from 1 to 100", field="limit")
    return number


def _next_url(request: Request, next_cursor: str | None) -> str | None:
    if not next_cursor:
        return None
    query = {k: v for k, v in request.query_params.items() if k != "cursor"}
    return f"{request.url.path}?{urlencode({**query, 'cursor': next_cursor})}"


async def _goal_titles(request: Request, viewer: Viewer, actions: list[dict[str, Any]]) -> dict[str, str]:
    """The title of each goal the actions serve (a goal gone since shows no title)."""
    titles: dict[str, str] = {}
    for goal_id in dict.fromkeys(a["goal_id"] for a in actions):
        try:
            goal = await api(request, viewer, "GET", f"/api/autonomous/goals/{quote(goal_id, safe='')}")
        except NotFound:
            continue
        titles[goal_id] = goal["title"]
    return titles


async def _owned(request: Request, viewer: Viewer, path: str, what: str) -> dict[str, Any]:
    """An item the API shows, when it is of the workspace of the address (404 otherwise, as
    the API answers for a workspace the person does not hold)."""
    item: dict[str, Any] = await api(request, viewer, "GET", path)
    if item.get("workspace_id") != viewer.workspace:
        raise NotFound(f"{what} not found")
    return item


async def _just_decided(request: Request, viewer: Viewer, decided: str | None) -> dict[str, Any] | None:
    """The action a decision from this page was just taken on, as it is now (None if it is gone)."""
    if not decided:
        return None
    try:
        return await _owned(request, viewer, f"/api/autonomous/approvals/{quote(decided, safe='')}", "action")
    except NotFound:
        return None


@router.get("/{workspace}/loop")
async def overview(
    request: Request,
    viewer: Looking,
    status: str | None = None,
    cursor: str | None = None,
    decided: str | None = None,
    analysis: str | None = None,
) -> Response:
    """The loop's state, the approvals inbox, the goals (`status` filters them) and the metrics."""
    goal_status = _choice(status, GOAL_STATUSES, "status")
    loop_status = await api(request, viewer, "GET", "/api/autonomous/status")
    awaiting = await api(request, viewer, "GET", "/api/autonomous/approvals", params={"limit": 20})
    recent = await api(
        request, viewer, "GET", "/api/autonomous/approvals", params={"state": "decided", "limit": 10}
    )
    goals = await api(
        request,
        viewer,
        "GET",
        "/api/autonomous/goals",
        params={"status": goal_status, "limit": PAGE, "cursor": cursor},
    )
    metrics = await api(request, viewer, "GET", "/api/autonomous/metrics", params={"limit": PAGE})
    analyses = await api(request, viewer, "GET", "/api/autonomous/analyses", params={"limit": 5})
    titles = {g["id"]: g["title"] for g in goals["items"]}
    titles |= await _goal_titles(
        request, viewer, [a for a in awaiting["items"] + recent["items"] if a["goal_id"] not in titles]
    )
    return render(
        request,
        "loop/index.html",
        viewer,
        loop_state=loop_status,
        analysis=analysis,
        awaiting=awaiting,
        decided=recent["items"],
        goals=goals["items"],
        goals_next=_next_url(request, goals.get("next_cursor")),
        metrics=metrics,
        analyses=analyses["items"],
        titles=titles,
        status=goal_status,
        statuses=GOAL_STATUSES,
        just_decided=await _just_decided(request, viewer, decided),
    )


@router.get("/{workspace}/loop/approvals")
async def approvals(
    request: Request,
    viewer: Looking,
    state: str | None = None,
    limit: str | None = None,
    cursor: str | None = None,
) -> Response:
    """The approvals inbox, a page at a time: the actions waiting for a decision, or (`state=decided`)
    those decided. Asked by a live region (htmx), the page's rows alone."""
    chosen = _choice(state, APPROVAL_STATES, "state") or "awaiting"
    found = await api(
        request,
        viewer,
        "GET",
        "/api/autonomous/approvals",
        params={"state": chosen, "limit": _limit(limit, PAGE), "cursor": cursor},
    )
    return render(
        request,
        "loop/approvals.html",
        viewer,
        state=chosen,
        actions=found["items"],
        titles=await _goal_titles(request, viewer, found["items"]),
        next_url=_next_url(request, found.get("next_cursor")),
    )


@router.post("/{workspace}/loop/analyse")
async def analyse(request: Request, viewer: Checked) -> Response:
    """Start an analysis now (the API's `POST /api/autonomous/analysis/trigger`)."""
    started = await api(
        request, viewer, "POST", "/api/autonomous/analysis/trigger", {"workspace_id": viewer.workspace}
    )
    return redirect(request, f"{viewer.path('loop')}?{urlencode({'analysis': started['id']})}")


def _back_to(viewer: Viewer, fields: dict[str, list[str]], decided: str) -> str:
    """Where a decision's form goes back to: the loop page it was sent from, else the loop's."""
    sent = next(iter(fields.get("next", [])), "")
    base = viewer.path("loop")
    target = sent if sent.startswith(base) and "//" not in sent and "\\" not in sent else base
    target = target.split("#", 1)[0]
    joiner = "&" if "?" in target else "?"
    return f"{target}{joiner}{urlencode({'decided': decided})}#approvals"


@router.post("/{workspace}/loop/approvals/{goal_action_id}/{decision}")
async def decide(request: Request, viewer: Checked, goal_action_id: str, decision: str) -> Response:
    """Approve or reject an action waiting for a decision, as the person signed in, then go back
    to the page the form was on. Decided already, or lapsed: the API's 409, saying by whom and when."""
    if decision not in DECISIONS:
        raise NotFound(f"the console has no decision {decision!r}")
    path = f"/api/autonomous/approvals/{quote(goal_action_id, safe='')}"
    await _owned(request, viewer, path, f"action {goal_action_id!r}")
    await api(request, viewer, "POST", f"{path}/{decision}")
    return redirect(request, _back_to(viewer, await form_fields(request), goal_action_id))


def _hours(value: str | None, allowed: tuple[int, ...], default: int, field: str) -> int:
    """A number of hours from the address: one of `allowed` (or `default`), or a readable 422."""
    if value in (None, ""):
        return default
    if not str(value).isdigit() or int(str(value)) not in allowed:
        choices = ", ".join(map(str, allowed)) if len(allowed) <= 10 else f"{allowed[0]} to {allowed[-1]}"
        raise InvalidInput(f"{field} must be one of {choices} (hours)", field=field)
    return int(str(value))


@dataclass(frozen=True)
class Span:
    """What a chart shows: the `hours` of history up to the metric's last point, and the forecast
    `ahead` hours past it; each with the choices the page offers."""

    hours: int
    ahead: int

    @property
    def windows(self) -> dict[int, str]:
        return WINDOWS

    @property
    def aheads(self) -> list[int]:
        return sorted({*AHEAD, self.ahead})


def _span(hours: str | None, ahead: str | None, default_ahead: int) -> Span:
    return Span(
        _hours(hours, tuple(WINDOWS), DEFAULT_WINDOW, "hours"),
        _hours(ahead, tuple(range(1, MAX_HORIZON_HOURS + 1)), default_ahead, "ahead"),
    )


async def _series(
    request: Request, viewer: Viewer, metric: str, span: Span
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The metric's points of the span's hours up to its last point (at most `CHART_POINTS`, the
    latest), and its prediction for the span's hours ahead (which starts after that point)."""
    path = f"/api/autonomous/metrics/{quote(metric, safe='')}"
    latest = await api(request, viewer, "GET", path, params={"order": "newest", "limit": 1, "since": EPOCH})
    points: list[dict[str, Any]] = []
    if latest["items"]:
        end = parse_iso(latest["items"][0]["timestamp"])
        window = {"since": iso(end - timedelta(hours=span.hours)), "until": iso(end)}
        params = {"order": "newest", "limit": CHART_POINTS, **window}
        points = (await api(request, viewer, "GET", path, params=params))["items"]
    found = await api(
        request,
        viewer,
        "GET",
        "/api/autonomous/predictions",
        params={"metric_name": metric, "horizon_hours": span.ahead},
    )
    predictions = found.get("predictions") or []
    return points, (predictions[0] if predictions else None)


def _chart_context(
    metric: str,
    span: Span,
    series: tuple[list[dict[str, Any]], dict[str, Any] | None],
    thresholds: list[loop_charts.Threshold],
    marks: tuple[loop_charts.Mark, ...] = (),
) -> dict[str, Any]:
    points, prediction = series
    return {
        "metric": metric,
        "span": span,
        "chart": loop_charts.chart(metric, points, prediction, thresholds, marks),
        "summary": loop_charts.described(points, prediction, thresholds),
        "prediction": prediction,
        "truncated": len(points) >= CHART_POINTS,
    }


@router.get("/{workspace}/loop/metrics/{metric:path}")
async def metric_page(
    request: Request, viewer: Looking, metric: str, hours: str | None = None, ahead: str | None = None
) -> Response:
    """A metric's chart: its recorded values (the `hours` up to its last point), the forecast
    `ahead` (default: the workspace's forecast horizon) with its 90% band, its anomalies and the
    thresholds of the rules that watch it."""
    settings = await api(request, viewer, "GET", "/api/autonomous/settings")
    span = _span(hours, ahead, int(settings.get("forecast_horizon_hours") or DEFAULT_WINDOW))
    thresholds = loop_charts.thresholds_of(settings.get("rules") or [], metric)
    return render(
        request,
        "loop/metric.html",
        viewer,
        rules=[t.label for t in thresholds],
        **_chart_context(metric, span, await _series(request, viewer, metric, span), thresholds),
    )


def _breach(goal: dict[str, Any]) -> tuple[loop_charts.Mark, ...]:
    evidence = goal.get("evidence") or {}
    at, value = evidence.get("breach_at"), evidence.get("breach_value")
    if at and isinstance(value, int | float):
        return (loop_charts.Mark("Predicted breach", str(at), float(value)),)
    return ()


def _goal_ahead(goal: dict[str, Any]) -> int:
    """How far ahead a goal's chart forecasts by default: past the latest instant its evidence
    names (a predicted breach, the worst point, when it is due), with a margin; else a day."""
    evidence = goal.get("evidence") or {}
    instants = [evidence.get(n) for n in ("breach_at", "worst_at")] + [goal.get("due_at")]
    latest = max((parse_iso(str(at)) for at in instants if at), default=None)
    if latest is None:
        return DEFAULT_WINDOW
    needed = (latest - utcnow()).total_seconds() / 3600 * 1.25
    return next((h for h in AHEAD if h >= needed), AHEAD[-1])


@router.get("/{workspace}/loop/goals/{goal_id}")
async def goal_page(
    request: Request, viewer: Looking, goal_id: str, hours: str | None = None, ahead: str | None = None
) -> Response:
    """A goal: why it was set, its metric's chart against the goal's threshold (forecast far
    enough ahead to show what the evidence names), and what each action did for it (its decision,
    its run, its measured impact)."""
    path = f"/api/autonomous/goals/{quote(goal_id, safe='')}"
    goal = await _owned(request, viewer, path, f"goal {goal_id!r}")
    span = _span(hours, ahead, _goal_ahead(goal))
    metric = str(goal.get("metric") or "")
    try:
        series = await _series(request, viewer, metric, span)
    except NotFound:  # the metric's points have expired since
        series = ([], None)
    context = _chart_context(metric, span, series, loop_charts.goal_threshold(goal), _breach(goal))
    return render(request, "loop/goal.html", viewer, goal=goal, actions=goal.get("actions") or [], **context)
