"""Metrics and events in: each item of a batch validated on its own, each metric point scored by
its metric's streaming anomaly detector, and both stored as time series.

Validation. A batch's items are validated one by one: the valid ones are stored, the others are
listed by index and field. A batch with no valid item, or one point or event on its own that is
not valid, is refused as a whole (InvalidInput, a 422).

Scoring. A metric's detector (`proactive.analytics.anomaly`) learns strictly in time order, and its
state lives in the metric's catalogue entry, versioned. A post reads the entries of the metrics
it names (one batch read), scores each metric's points oldest first and writes the entry only if
its version is still the one read. When another post got there first, the entry is read again
and the points scored again from it, so concurrent posts neither lose each other's learning nor
learn a point twice. Writing the entry commits the post: its points are written after it (25 a
call), so every stored score comes from a committed state. If that write fails, the post fails,
and sending it again stores the points as late ones (below): scored, not learned again.

Late and repeated points. A point no later than the metric's last learned timestamp is scored
against the current state and not learned: a detector that learned it would see time run
backwards. One already stored with the same value is a retry: its stored score stands and
nothing is written, so sending a batch again changes nothing. In one batch, a metric and
timestamp sent twice is one point, the later occurrence winning; points sent without a timestamp
are each kept, taken at the time of the post a microsecond apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from proactive.analytics.anomaly import Detector
from proactive.clock import iso, parse_iso
from proactive.errors import InvalidInput, NotFound
from proactive.events import EVENTS_RECORDED, Bus, Event
from proactive.ids import new_id
from proactive.models.series import (
    EventBatch,
    EventInput,
    EventPost,
    MetricBatch,
    MetricInput,
    MetricPost,
)
from proactive.observability import logger
from proactive.queue import RunQueue
from proactive.store import Store
from proactive.store.entities import modify

# A metric's points are shown for the last day unless a window is asked for.
DEFAULT_WINDOW = timedelta(hours=24)

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Submission(Generic[T]):
    """A request's valid items (with their index in it) and the refused ones, each
    `{index, field, message}`. There is at least one valid item."""

    workspace_id: str | None
    accepted: list[tuple[int, T]]
    refused: list[dict[str, Any]] = field(default_factory=list)


def parse_metrics(body: Any) -> Submission[MetricInput]:
    """One point (`{"metric_name", "value", ...}`) or a batch (`{"metrics": [...]}`)."""
    return _parse(body, "metrics", MetricPost, MetricBatch, MetricInput)


def parse_events(body: Any) -> Submission[EventInput]:
    """One event (`{"event_type", ...}`) or a batch (`{"events": [...]}`)."""
    return _parse(body, "events", EventPost, EventBatch, EventInput)


def _parse(body: Any, items: str, single: type[Any], batch: type[Any], item: type[T]) -> Submission[T]:
    if not isinstance(body, dict):
        raise InvalidInput(f'the body must be a JSON object: one item, or {{"{items}": [...]}}', field="body")
    if items not in body:
        one = _validated(single, body, prefix="")
        return Submission(one.workspace_id, [(0, one)])
    envelope = _validated(batch, body, prefix="")
    accepted: list[tuple[int, T]] = []
    refused: list[dict[str, Any]] = []
    for index, raw in enumerate(getattr(envelope, items)):
        if not isinstance(raw, dict):
            refused.append({"index": index, "field": f"{items}[{index}]", "message": "must be a JSON object"})
            continue
        try:
            accepted.append((index, item.model_validate(raw)))
        except ValidationError as exc:
            problems = _problems(exc, prefix=f"{items}[{index}]")
            refused.append({"index": index, "field": problems[0]["field"], "message": _said(problems)})
    if not accepted:
        problems = [{"field": r["field"], "message": r["message"]} for r in refused]
        raise InvalidInput(
            f"no item of the batch could be stored: {_said(problems, always_name=True)}",
            field=problems[0]["field"],
            details=problems,
        )
    return Submission(envelope.workspace_id, accepted, refused)


def _validated(model: type[Any], raw: Any, *, prefix: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = _problems(exc, prefix=prefix)
        raise InvalidInput(
            _said(problems, always_name=True), field=problems[0]["field"], details=problems
        ) from None


def _problems(exc: ValidationError, *, prefix: str) -> list[dict[str, str]]:
    """Each error as `{field, message}`, the field written as a client would (`metrics[3].value`)."""
    problems = []
    for err in exc.errors():
        path = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        problems.append({"field": path.removeprefix(".") or prefix or "body", "message": message})
    return problems


def _said(problems: Sequence[Mapping[str, str]], *, always_name: bool = False) -> str:
    if len(problems) == 1 and not always_name:
        return problems[0]["message"]
    return "; ".join(f"{p['field']}: {p['message']}" for p in problems)


# Metrics


@dataclass
class _Scored:
    """One metric's post, scored against one state: the entry to write, the points to store and
    what the caller is told."""

    state: dict[str, Any]
    items: list[dict[str, Any]]
    points: list[dict[str, Any]]


def record_metrics(
    store: Store, workspace_id: str, points: Sequence[tuple[int, MetricInput]], now: datetime
) -> list[dict[str, Any]]:
    """Score and store the points; each stored one as `{index, metric_name, timestamp, value,
    anomaly_score}`, in request order. Conflict when a metric stays busy with other posts; the
    points of the metrics committed before it are stored all the same."""
    by_metric: dict[str, dict[str, tuple[int, float]]] = {}
    for index, point in points:
        # A point sent without a time is taken now; several in one post are taken a microsecond
        # apart, in the post's order, so each is kept (none replaces another as a repeat would).
        at = point.timestamp or now + timedelta(microseconds=index)
        by_metric.setdefault(point.metric_name, {})[iso(at)] = (index, point.value)
    prefetched = store.metric_states.get_many(workspace_id, list(by_metric))
    stored: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    try:
        for metric, by_time in by_metric.items():
            scored = _commit(
                store, workspace_id, metric, sorted(by_time.items()), prefetched.get(metric), now
            )
            items += scored.items
            stored += scored.points
    finally:
        store.metrics.put_many(items)
    return sorted(stored, key=lambda p: int(p["index"]))


def _commit(
    store: Store,
    workspace_id: str,
    metric: str,
    series: list[tuple[str, tuple[int, float]]],
    prefetched: dict[str, Any] | None,
    now: datetime,
) -> _Scored:
    first_read = [prefetched]

    def read() -> dict[str, Any]:
        found = first_read.pop() if first_read else store.metric_states.get(workspace_id, metric)
        return found or {}

    def write(current: dict[str, Any]) -> _Scored:
        scored = _score(store, workspace_id, metric, current, series, now)
        if scored.items:
            store.metric_states.save(scored.state, expect_version=int(current.get("version") or 0))
        return scored

    return modify(read, write, what=f"metric {metric!r}")


def _score(
    store: Store,
    workspace_id: str,
    metric: str,
    current: Mapping[str, Any],
    series: list[tuple[str, tuple[int, float]]],
    now: datetime,
) -> _Scored:
    """Score `series` (oldest first) against the entry `current` ({} for a new metric)."""
    detector = _detector(current.get("detector"))
    learned_until: str | None = current.get("last_timestamp")
    late = [at for at, _ in series if learned_until is not None and at <= learned_until]
    already = store.metrics.at(workspace_id, metric, late) if late else {}
    state: dict[str, Any] = {
        "workspace_id": workspace_id,
        "metric_name": metric,
        "count": int(current.get("count") or 0),
        "first_timestamp": current.get("first_timestamp"),
        "last_timestamp": learned_until,
        "last_value": current.get("last_value"),
        "last_anomaly_score": current.get("last_anomaly_score"),
    }
    items: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []
    for at, (index, value) in series:
        previous = already.get(at)
        if previous is not None and previous["value"] == value:
            score = float(previous["anomaly_score"])
        else:
            # Only a point later than the last learned one is learned; at that very instant the
            # detector would learn it again, so a copy scores it.
            probe = Detector.from_state(detector.to_state()) if at == learned_until else detector
            score = probe.score(parse_iso(at).timestamp(), value)
            items.append(store.metrics.item(workspace_id, metric, at, value, score))
        state["count"] += previous is None
        if state["first_timestamp"] is None or at < state["first_timestamp"]:
            state["first_timestamp"] = at
        if state["last_timestamp"] is None or at >= state["last_timestamp"]:
            state.update(last_timestamp=at, last_value=value, last_anomaly_score=score)
        points.append(
            {"index": index, "metric_name": metric, "timestamp": at, "value": value, "anomaly_score": score}
        )
    state.update(detector=detector.to_state(), updated_at=iso(now))
    return _Scored(state, items, points)


def _detector(state: Any) -> Detector:
    """The metric's detector; a new one for a new metric, or for a state this detector cannot
    read (another model or version): it starts learning again."""
    if state is None:
        return Detector.new()
    try:
        return Detector.from_state(state)
    except ValueError:
        return Detector.new()


def metric_points(
    store: Store,
    workspace_id: str,
    metric: str,
    *,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    cursor: str | None,
    now: datetime,
    newest_first: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the metric's points in the window (default: the last day), oldest first or
    newest first."""
    until = until or now
    since = since or until - DEFAULT_WINDOW
    if since > until:
        raise InvalidInput("since must not be later than until", field="since")
    if store.metric_states.get(workspace_id, metric) is None:
        raise NotFound(f"metric {metric!r} not found")
    return store.metrics.window(
        workspace_id, metric, iso(since), iso(until), limit=limit, cursor=cursor, newest_first=newest_first
    )


# Events


# A recorded event that happened no longer ago than this is published to the event triggers
# listening for its type; an older one (a history brought in) is only recorded.
LIVE_EVENT_AGE = timedelta(hours=1)


def record_events(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    workspace_id: str,
    events: Sequence[tuple[int, EventInput]],
    now: datetime,
) -> list[dict[str, Any]]:
    """Store the events; each as `{index, id, event_type, timestamp}`, in request order. Events
    are not merged: one sent twice is recorded twice. Those that happened lately
    (`LIVE_EVENT_AGE`) are then published (`events.EVENTS_RECORDED`): a subscriber's failure is
    logged, the events stay recorded."""
    records = [
        {
            "index": index,
            "id": new_id("evt"),
            "workspace_id": workspace_id,
            "event_type": event.event_type,
            "timestamp": iso(event.timestamp or now),
            "metadata": event.metadata,
        }
        for index, event in events
    ]
    stored = [{k: v for k, v in r.items() if k != "index"} for r in records]
    store.events_log.put_many(stored)
    live = [r for r in stored if parse_iso(str(r["timestamp"])) >= now - LIVE_EVENT_AGE]
    if live:
        subject = {"workspace_id": workspace_id, "events": live}
        try:
            bus.deliver(store, queue, [Event(EVENTS_RECORDED, subject)], now)
        except Exception:  # recorded all the same; the subscriber logged its failure
            logger.warning("recorded events were not all published", extra={"events": len(live)})
    return [{k: r[k] for k in ("index", "id", "event_type", "timestamp")} for r in records]


def list_events(
    store: Store,
    workspace_id: str,
    *,
    event_type: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the workspace's events (of one type), newest first."""
    if since is not None and until is not None and since > until:
        raise InvalidInput("since must not be later than until", field="since")
    return store.events_log.page(
        workspace_id, event_type=event_type, since=since, until=until, limit=limit, cursor=cursor
    )
