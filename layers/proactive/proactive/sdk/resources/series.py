"""`/api/autonomous/metrics` and `/events`: the goal loop's inputs, pushed in batches."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from proactive.models.common import Page
from proactive.models.series import (
    MAX_BATCH,
    Event,
    EventInput,
    EventsRecorded,
    MetricInput,
    MetricsRecorded,
    MetricSummary,
    Point,
    Refused,
)
from proactive.sdk.calls import Mode, call, each, paged
from proactive.sdk.client import ProactiveError, segment
from proactive.sdk.resources.base import DEFAULT_LIMIT, Listed, M, Resource

Recorded = TypeVar("Recorded", MetricsRecorded, EventsRecorded)
_INDEX = re.compile(r"^(\w+)\[(\d+)\]")


def _shifted(field: str, offset: int) -> str:
    """`metrics[3].value` of a batch that starts at `offset`, as the index in the whole list."""
    return _INDEX.sub(lambda m: f"{m.group(1)}[{int(m.group(2)) + offset}]", field, count=1)


def _refused_items(error: ProactiveError, items: str, offset: int) -> list[Refused] | None:
    """A batch the API refused whole (422: no item could be stored) as its items' refusals;
    None when the refusal is not about the items (then it is raised as it is)."""
    if error.status != 422 or not error.details:
        return None
    refused = []
    for detail in error.details:
        found = _INDEX.match(str(detail.get("field", "")))
        if found is None or found.group(1) != items:
            return None
        refused.append(
            Refused(
                index=int(found.group(2)) + offset,
                field=_shifted(detail["field"], offset),
                message=str(detail.get("message", "")),
            )
        )
    return refused


class _Batched(Resource[M, Mode]):
    items: str  # what a batch's body lists them under
    answered: str  # what the answer lists those stored under

    async def _record(
        self,
        model: type[Recorded],
        entries: Iterable[Mapping[str, Any] | BaseModel],
        workspace_id: str | None,
        batch_size: int,
    ) -> Recorded:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be from 1 to {MAX_BATCH}")
        listed = list(entries)
        if not listed:
            raise ValueError(f"no {self.items} to record")
        accepted, refused, stored, first_refusal = 0, [], [], None
        for offset in range(0, len(listed), batch_size):
            body = {"workspace_id": workspace_id, self.items: listed[offset : offset + batch_size]}
            try:
                answer = await self._answer(model, "POST", self.path, json=body)
            except ProactiveError as exc:
                whole = _refused_items(exc, self.items, offset)
                if whole is None:
                    raise
                refused += whole
                first_refusal = first_refusal or exc
                continue
            accepted += answer.accepted
            refused += [
                r.model_copy(update={"index": r.index + offset, "field": _shifted(r.field, offset)})
                for r in answer.refused
            ]
            stored += [
                s.model_copy(update={"index": s.index + offset}) for s in getattr(answer, self.answered)
            ]
        if not accepted and first_refusal is not None:
            raise first_refusal
        return model.model_validate({"accepted": accepted, "refused": refused, self.answered: stored})


class Metrics(_Batched[MetricSummary, Mode], Listed[MetricSummary, Mode]):
    """`/api/autonomous/metrics`: the numbers the goal loop forecasts and watches. Each stored point
    is answered with its anomaly score (0 to 1; 0.9 and above: an anomaly)."""

    path, model = "/api/autonomous/metrics", MetricSummary
    items, answered = "metrics", "points"

    @call
    async def record(
        self,
        points: Iterable[Mapping[str, Any] | MetricInput],
        *,
        workspace_id: str | None = None,
        batch_size: int = MAX_BATCH,
    ) -> MetricsRecorded:
        """Record points (`{"metric_name", "value", "timestamp"}`, any metrics, any order), sent in
        batches of `batch_size` (at most the API's 1,000) one after the other, and answer them as
        one batch: `refused` lists each point refused, by its index in `points`; the others are
        stored all the same. ProactiveError (422) when none could be stored; a failure of
        another kind stops at the batch that failed (those before it are stored: a point sent
        again with the same metric and timestamp replaces the one stored)."""
        return await self._record(MetricsRecorded, points, workspace_id, batch_size)

    @call
    async def add(
        self,
        metric_name: str,
        value: float,
        *,
        timestamp: datetime | None = None,
        workspace_id: str | None = None,
    ) -> MetricsRecorded:
        """Record one point (measured now unless `timestamp`, which needs a UTC offset)."""
        body = {
            "metric_name": metric_name,
            "value": value,
            "timestamp": timestamp,
            "workspace_id": workspace_id,
        }
        return await self._answer(MetricsRecorded, "POST", self.path, json=body)

    @paged
    async def points(
        self,
        metric_name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        workspace_id: str | None = None,
        limit: int = 500,
        cursor: str | None = None,
    ) -> Page[Point]:
        """A page of the metric's points (up to 1,000), oldest first, each with its anomaly score.
        The window is the 24 hours up to `until` (default: now) unless `since` is given."""
        path = f"{self.path}/{segment(metric_name, safe='/:')}"
        params = {"since": since, "until": until, "workspace_id": workspace_id}
        return await self._page(Point, path, params, limit, cursor)

    iterate_points = each(points)


class Events(_Batched[Event, Mode]):
    """`/api/autonomous/events`: what happened (a deploy, a login), for the goal loop's patterns.
    An event of the last hour also fires the event triggers listening for its type."""

    path, model = "/api/autonomous/events", Event
    items, answered = "events", "events"

    @call
    async def record(
        self,
        events: Iterable[Mapping[str, Any] | EventInput],
        *,
        workspace_id: str | None = None,
        batch_size: int = MAX_BATCH,
    ) -> EventsRecorded:
        """Record events (`{"event_type", "metadata", "timestamp"}`), in batches as
        `Metrics.record` sends points, and answer them as one batch."""
        return await self._record(EventsRecorded, events, workspace_id, batch_size)

    @call
    async def add(
        self,
        event_type: str,
        metadata: dict[str, Any] | None = None,
        *,
        timestamp: datetime | None = None,
        workspace_id: str | None = None,
    ) -> EventsRecorded:
        """Record one event (metadata: any JSON object up to 16 KiB, kept exactly as sent)."""
        body = {
            "event_type": event_type,
            "metadata": metadata or {},
            "timestamp": timestamp,
            "workspace_id": workspace_id,
        }
        return await self._answer(EventsRecorded, "POST", self.path, json=body)

    @paged
    async def list(
        self,
        *,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        workspace_id: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[Event]:
        """A page of events, newest first (all that are kept unless a window is given)."""
        params = {"event_type": event_type, "since": since, "until": until, "workspace_id": workspace_id}
        return await self._page(Event, self.path, params, limit, cursor)

    iterate = each(list)
