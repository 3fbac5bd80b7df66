"""The goal loop's inputs: metrics and events, recorded one at a time or in batches, and read back.

A POST answers 200 when every item was stored, 207 when some were refused (each listed by index,
field and message, the others stored all the same) and 422 when none could be stored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response

from proactive import series
from proactive.api import listing
from proactive.api.deps import BusDep, CurrentPrincipal, Cursor, Limit, QueueDep, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.models.common import Page
from proactive.models.series import (
    Event,
    EventsBody,
    EventsRecorded,
    Instant,
    MetricsBody,
    MetricsRecorded,
    MetricSummary,
    Point,
    SeriesName,
)

router = APIRouter(prefix="/api/autonomous", tags=["goal loop"])

PointsLimit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
Since = Annotated[Instant | None, Query(description="From this instant (included), with a UTC offset.")]
Until = Annotated[Instant | None, Query(description="Up to this instant (included), with a UTC offset.")]


def _partial(model: type[Any], items: str) -> dict[int | str, dict[str, Any]]:
    return {
        207: {
            "model": model,
            "description": f"Some {items} were refused (see `refused`); the rest are stored.",
        }
    }


@router.post("/metrics", response_model=MetricsRecorded, responses=_partial(MetricsRecorded, "points"))
def record_metrics(
    body: Annotated[MetricsBody, Body()], principal: CurrentPrincipal, store: StoreDep, response: Response
) -> Any:
    """Record one point (`{"metric_name": "cpu_usage", "value": 75.5}`) or up to 1,000 at once
    (`{"metrics": [...]}`, any metrics, any order). Each stored point is answered with its
    anomaly score: how unlike the metric's history it is, from 0 to 1 (0.9 and above: an
    anomaly). A point sent again (same metric and timestamp) replaces the one stored, and a
    batch sent again changes nothing."""
    submission = series.parse_metrics(body)
    workspace = submission.workspace_id or principal.only_workspace()
    principal.require(workspace)
    points = series.record_metrics(store, workspace, submission.accepted, utcnow())
    if submission.refused:
        response.status_code = 207
    return {"accepted": len(submission.accepted), "refused": submission.refused, "points": points}


@router.get("/metrics", response_model=Page[MetricSummary])
def list_metrics(workspace: WorkspaceScope, store: StoreDep, limit: Limit = 50, cursor: Cursor = None) -> Any:
    """The workspace's metrics, by name: how many points each has had, its first and last."""
    items, next_cursor = store.metric_states.page(workspace, limit=limit, cursor=cursor)
    return listing.page(items, next_cursor, MetricSummary)


@router.get("/metrics/{metric_name:path}", response_model=Page[Point])
def metric_points(
    metric_name: Annotated[SeriesName, Path()],
    workspace: WorkspaceScope,
    store: StoreDep,
    since: Since = None,
    until: Until = None,
    order: Annotated[
        Literal["oldest", "newest"],
        Query(
            description="oldest: the window's points from its start; newest: from its end, newest "
            "first (the latest `limit` points of a window holding more)."
        ),
    ] = "oldest",
    limit: PointsLimit = 500,
    cursor: Cursor = None,
) -> Any:
    """The metric's points, oldest first (or newest first), each with its anomaly score. The
    window defaults to the 24 hours up to `until` (default: now)."""
    items, next_cursor = series.metric_points(
        store,
        workspace,
        metric_name,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
        now=utcnow(),
        newest_first=order == "newest",
    )
    return listing.page(items, next_cursor, Point)


@router.post("/events", response_model=EventsRecorded, responses=_partial(EventsRecorded, "events"))
def record_events(
    body: Annotated[EventsBody, Body()],
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    bus: BusDep,
    response: Response,
) -> Any:
    """Record one event (`{"event_type": "user_login", "metadata": {...}}`) or up to 1,000 at
    once (`{"events": [...]}`). Metadata is any JSON object up to 16 KiB, kept exactly as sent.
    An event that happened in the last hour also fires the event triggers listening for its
    type (`config.recorded_event`); an older one, such as a history brought in, is only recorded."""
    submission = series.parse_events(body)
    workspace = submission.workspace_id or principal.only_workspace()
    principal.require(workspace)
    events = series.record_events(store, queue, bus, workspace, submission.accepted, utcnow())
    if submission.refused:
        response.status_code = 207
    return {"accepted": len(submission.accepted), "refused": submission.refused, "events": events}


@router.get("/events", response_model=Page[Event])
def list_events(
    workspace: WorkspaceScope,
    store: StoreDep,
    event_type: Annotated[SeriesName | None, Query(description="Only events of this type.")] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Any:
    """The workspace's events, newest first (all that are kept unless a window is given)."""
    items, next_cursor = series.list_events(
        store, workspace, event_type=event_type, since=since, until=until, limit=limit, cursor=cursor
    )
    return listing.page(items, next_cursor, Event)
