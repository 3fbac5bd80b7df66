"""The goal loop's inputs: metric points and events, as the API accepts and shows them.

A batch is validated point by point (one bad point must not cost the others their place), so
its items are taken as they come (`_as_is`) and each is then validated as a `MetricInput` or
`EventInput`; the OpenAPI document still describes each item's shape.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, PlainValidator, StringConstraints

from proactive.models.common import Input, Measure, MeasuredAt, WorkspaceId

MAX_BATCH = 1000
MAX_METADATA_BYTES = 16 * 1024

# The names the goal loop's rules can refer to (see `proactive.loop.rules`): no spaces, no `#`.
SeriesName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_.:/-]*$"),
]


def _as_is(value: Any) -> Any:
    return value


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (ValueError, RecursionError):
        raise ValueError("must be plain JSON (no NaN or Infinity, not nested too deep)") from None
    size = len(text.encode())
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"is {size} bytes as JSON; at most {MAX_METADATA_BYTES} are kept")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset (e.g. 2026-11-21T09:00:00Z)")
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_json_object)]
# A window's bound in a query: any aware instant.
Instant = Annotated[datetime, AfterValidator(_aware)]


class MetricInput(Input):
    """One point of a batch."""

    metric_name: SeriesName = Field(examples=["cpu_usage"])
    # Strict: `true` or `"75.5"` is a mistake worth naming, not a number.
    value: Annotated[Measure, Field(strict=True)] = Field(examples=[75.5])
    timestamp: MeasuredAt | None = Field(
        default=None, description="When it was measured, with a UTC offset; default now."
    )


class MetricPost(MetricInput):
    """One point, on its own."""

    workspace_id: WorkspaceId | None = Field(default=None, description="Default: the token's only workspace.")


class MetricBatch(Input):
    """Up to 1,000 points, of any metrics, in any order."""

    workspace_id: WorkspaceId | None = Field(default=None, description="Default: the token's only workspace.")
    metrics: list[Annotated[Any, PlainValidator(_as_is, json_schema_input_type=MetricInput)]] = Field(
        min_length=1, max_length=MAX_BATCH
    )


class EventInput(Input):
    """One event of a batch."""

    event_type: SeriesName = Field(examples=["user_login"])
    metadata: Metadata = Field(
        default_factory=dict, description="Any JSON object (at most 16 KiB), kept exactly as sent."
    )
    timestamp: MeasuredAt | None = Field(default=None, description="When it happened; default now.")


class EventPost(EventInput):
    workspace_id: WorkspaceId | None = Field(default=None, description="Default: the token's only workspace.")


class EventBatch(Input):
    """Up to 1,000 events, in any order."""

    workspace_id: WorkspaceId | None = Field(default=None, description="Default: the token's only workspace.")
    events: list[Annotated[Any, PlainValidator(_as_is, json_schema_input_type=EventInput)]] = Field(
        min_length=1, max_length=MAX_BATCH
    )


# Request bodies: taken as they come, documented as what they may be.
MetricsBody = Annotated[Any, PlainValidator(_as_is, json_schema_input_type=MetricPost | MetricBatch)]
EventsBody = Annotated[Any, PlainValidator(_as_is, json_schema_input_type=EventPost | EventBatch)]


class Refused(BaseModel):
    """An item of a batch that was not stored, and why."""

    index: int = Field(description="Its position in the batch, from 0.")
    field: str = Field(examples=["metrics[3].value"])
    message: str


class ScoredPoint(BaseModel):
    index: int = Field(description="Its position in the request, from 0.")
    metric_name: str
    timestamp: datetime
    value: float
    anomaly_score: float = Field(ge=0, le=1, description="How unlike the metric's history it is (0..1).")


class MetricsRecorded(BaseModel):
    accepted: int = Field(
        description="Valid points, all stored (a point repeated in one batch counts each time)."
    )
    refused: list[Refused] = Field(default_factory=list)
    points: list[ScoredPoint] = Field(
        default_factory=list,
        description="Each point stored, in request order, with its score. Of a metric and timestamp "
        "repeated in one batch, only the later occurrence is stored and listed.",
    )


class RecordedEvent(BaseModel):
    index: int
    id: str
    event_type: str
    timestamp: datetime


class EventsRecorded(BaseModel):
    accepted: int
    refused: list[Refused] = Field(default_factory=list)
    events: list[RecordedEvent] = Field(default_factory=list)


class MetricSummary(BaseModel):
    metric_name: str
    count: int = Field(description="Points recorded since the metric was first seen (or last expired).")
    first_timestamp: datetime
    last_timestamp: datetime
    last_value: float
    last_anomaly_score: float


class Point(BaseModel):
    timestamp: datetime
    value: float
    anomaly_score: float


class Event(BaseModel):
    id: str
    event_type: str
    timestamp: datetime
    metadata: dict[str, Any]
