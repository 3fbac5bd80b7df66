"""Schedules: what the API accepts and shows, and a schedule as the table holds it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from proactive.models.common import (
    Input,
    Name,
    Patch,
    Record,
    ResourceId,
    Shown,
    TaskText,
    WorkspaceId,
    hidden,
)
from proactive.models.notifications import CHANNEL_REMOVED, NotifyConfig

CatchUp = Literal["skip", "latest", "all"]
Overlap = Literal["allow", "skip"]


class ScheduleCreate(Input):
    name: Name
    workspace_id: WorkspaceId
    agent_id: ResourceId
    task_description: TaskText
    cron_expression: str = Field(examples=["0 9 * * *"])
    timezone: str = Field(default="UTC", examples=["America/New_York"])
    is_active: bool = True
    catch_up: CatchUp = Field(
        default="latest",
        description="After downtime: run no missed occurrence, only the latest, or all of them.",
    )
    overlap: Overlap = Field(
        default="skip", description="Whether an occurrence may start while the previous run is still going."
    )
    notify: NotifyConfig | None = Field(
        default=None, description="Who is told about the runs it starts, and when."
    )


class ScheduleUpdate(Patch):
    _nullable = frozenset({"notify"})

    name: Name | None = None
    agent_id: ResourceId | None = None
    task_description: TaskText | None = None
    cron_expression: str | None = None
    timezone: str | None = None
    is_active: bool | None = None
    catch_up: CatchUp | None = None
    overlap: Overlap | None = None
    notify: NotifyConfig | None = None


class ScheduleRecord(Record):
    """A schedule as the table holds it. Its slot (`active_run_id`, `active_lease_until`) is held
    by the run of it going on, when its runs do not overlap (`proactive.store.schedules`)."""

    name: str
    workspace_id: str
    agent_id: str
    task_description: str
    cron_expression: str
    timezone: str
    is_active: bool
    # What an item stored without them has always meant.
    catch_up: CatchUp = "latest"
    overlap: Overlap = "skip"
    # When it next fires (UTC); None while paused, or when its cron never fires again.
    next_fire_at: datetime | None = None
    last_run: datetime | None = None
    last_run_id: str | None = None
    paused_reason: str | None = Field(
        default=None,
        description="Why the platform paused it (e.g. its agent was deleted); none when a person did.",
    )
    created_at: datetime
    updated_at: datetime
    notify: dict[str, Any] | None = None
    channel_removed_reason: str | None = Field(default=None, description=CHANNEL_REMOVED)
    active_run_id: str | None = None
    active_lease_until: datetime | None = None


# A schedule as the API shows it: its times in its own zone.
class Schedule(ScheduleRecord, Shown):
    catch_up: CatchUp
    overlap: Overlap
    next_run: str | None = Field(description="Next fire time (ISO-8601 with the schedule's zone offset).")
    # Shown as text with the schedule's zone offset, not as the instant the record holds.
    last_run: str | None = Field(  # type: ignore[assignment]
        default=None, description="When the last run started, in the schedule's zone."
    )
    cron_description: str | None = Field(
        default=None,
        description="The cron expression in words, e.g. 'At 09:00, Monday through Friday' (times in "
        "the schedule's zone).",
        examples=["At 09:00, Monday through Friday"],
    )
    upcoming: list[str] = Field(
        default_factory=list,
        description="The next five fire times (ISO-8601 with the schedule's zone offset, as `next-runs` "
        "gives them); empty while paused.",
    )
    next_fire_at: SkipJsonSchema[datetime | None] = hidden()
    active_run_id: SkipJsonSchema[str | None] = hidden()
    active_lease_until: SkipJsonSchema[datetime | None] = hidden()


class NextRuns(BaseModel):
    next_runs: list[str] = Field(
        description="ISO-8601 times with the schedule's zone offset, e.g. 2026-03-09T09:00:00-04:00"
    )


class SchedulePreview(BaseModel):
    """When a cron expression would fire in a time zone, before any schedule is made of it."""

    cron_expression: str = Field(description="The expression as a schedule would store it (normalised).")
    timezone: str
    cron_description: str = Field(
        description="The expression in words (times in `timezone`).", examples=["At 09:00, only on Monday"]
    )
    next_runs: list[str] = Field(
        description="The next fire times, ISO-8601 with the zone's offset at each (DST included); fewer "
        "when the expression stops firing."
    )
