from __future__ import annotations

from datetime import datetime
from itertools import islice
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import AwareDatetime

from proactive import runs, schedules
from proactive.api import listing
from proactive.api.deps import (
    BusDep,
    CurrentPrincipal,
    Cursor,
    IdempotencyKey,
    IdempotencyWait,
    Limit,
    QueueDep,
    StoreDep,
    WorkspaceScope,
    fingerprint,
)
from proactive.clock import utcnow
from proactive.models.common import Page
from proactive.models.runs import Run
from proactive.models.schedules import (
    NextRuns,
    Schedule,
    ScheduleCreate,
    SchedulePreview,
    ScheduleRecord,
    ScheduleUpdate,
)
from proactive.schedules.wording import describe

router = APIRouter(prefix="/api/proactive/schedules", tags=["schedules"])


def shown(schedule: ScheduleRecord, now: datetime | None = None) -> Schedule:
    """A schedule as the API answers it: in its own zone, with its next fires and its cron in words."""
    presented = schedules.present(schedule, now)
    return presented.model_copy(update={"cron_description": describe(schedule.cron_expression)})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Schedule)
def create_schedule(
    body: ScheduleCreate, principal: CurrentPrincipal, store: StoreDep, queue: QueueDep, bus: BusDep
) -> Schedule:
    principal.require(body.workspace_id)
    return shown(schedules.create_schedule(store, queue, bus, body, utcnow()))


@router.get("", response_model=Page[Schedule])
def list_schedules(
    workspace: WorkspaceScope, store: StoreDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    now = utcnow()
    items, next_cursor = store.schedules.page(workspace, limit=limit, cursor=cursor)
    return listing.page(items, next_cursor, Schedule, present=lambda item: shown(item, now))


@router.get("/preview", response_model=SchedulePreview)
def preview(
    principal: CurrentPrincipal,
    cron_expression: Annotated[
        str, Query(max_length=200, description="A cron expression (five fields, or a macro such as @daily).")
    ],
    timezone: Annotated[str, Query(max_length=100, description="An IANA time zone.")] = "UTC",
    count: Annotated[int, Query(ge=1, le=100)] = 5,
    after: Annotated[
        AwareDatetime | None,
        Query(description="Fires strictly after this instant (with its offset); default now."),
    ] = None,
) -> SchedulePreview:
    """When `cron_expression` would fire in `timezone`, and what it says in words, checked as
    creating a schedule checks them: each wall time is matched in the zone (a time skipped by a
    DST change fires once, at the end of the gap; a repeated one fires once, at its first
    occurrence). A bad expression or an unknown zone is a 422 naming its field (`details`: each
    field at fault)."""
    cron = schedules.checked_timing(cron_expression, timezone)
    fires = [cron.local(instant).isoformat() for instant in islice(cron.iter_after(after or utcnow()), count)]
    return SchedulePreview(
        cron_expression=cron.expression,
        timezone=timezone,
        cron_description=describe(cron.expression),
        next_runs=fires,
    )


@router.get("/{schedule_id}", response_model=Schedule)
def get_schedule(schedule_id: str, principal: CurrentPrincipal, store: StoreDep) -> Schedule:
    return shown(schedules.get_schedule(store, schedule_id, principal.workspaces))


@router.patch("/{schedule_id}", response_model=Schedule)
def update_schedule(
    schedule_id: str,
    body: ScheduleUpdate,
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    bus: BusDep,
) -> Schedule:
    return shown(
        schedules.update_schedule(store, queue, bus, schedule_id, body, principal.workspaces, utcnow())
    )


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_schedule(schedule_id: str, principal: CurrentPrincipal, store: StoreDep) -> Response:
    schedules.delete_schedule(store, schedule_id, principal.workspaces)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{schedule_id}/run", status_code=status.HTTP_202_ACCEPTED, response_model=Run)
def run_now(
    request: Request,
    schedule_id: str,
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    bus: BusDep,
    wait: IdempotencyWait,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Run the schedule's task now; its cron timing is unchanged. With an `Idempotency-Key`, the
    same key within 24 hours gives back the first call's run."""
    schedule = schedules.get_schedule(store, schedule_id, principal.workspaces)
    now = utcnow()
    return runs.with_idempotency(
        store,
        schedule.workspace_id,
        idempotency_key,
        fingerprint(request, None),
        now,
        lambda run_id: schedules.run_now(
            store, queue, bus, schedule_id, principal.workspaces, now, run_id=run_id
        ),
        wait_seconds=wait,
    )


@router.post("/{schedule_id}/pause", response_model=Schedule)
def pause(
    schedule_id: str, principal: CurrentPrincipal, store: StoreDep, queue: QueueDep, bus: BusDep
) -> Schedule:
    return shown(schedules.set_active(store, queue, bus, schedule_id, False, principal.workspaces, utcnow()))


@router.post("/{schedule_id}/resume", response_model=Schedule)
def resume(
    schedule_id: str, principal: CurrentPrincipal, store: StoreDep, queue: QueueDep, bus: BusDep
) -> Schedule:
    """Resume from now on; occurrences that fell while paused are not run."""
    return shown(schedules.set_active(store, queue, bus, schedule_id, True, principal.workspaces, utcnow()))


@router.get("/{schedule_id}/runs", response_model=Page[Run])
def schedule_runs(
    schedule_id: str, principal: CurrentPrincipal, store: StoreDep, limit: Limit = 50, cursor: Cursor = None
) -> Any:
    schedule = schedules.get_schedule(store, schedule_id, principal.workspaces)
    items, next_cursor = store.runs.list_runs(
        schedule.workspace_id,
        status=None,
        source_type="schedule",
        source_id=schedule_id,
        limit=limit,
        cursor=cursor,
    )
    return listing.page(items, next_cursor, Run)


@router.get("/{schedule_id}/next-runs", response_model=NextRuns)
def next_runs(
    schedule_id: str,
    principal: CurrentPrincipal,
    store: StoreDep,
    count: Annotated[int, Query(ge=1, le=100)] = 5,
) -> NextRuns:
    """The next fire times, each with the schedule's zone offset (DST included)."""
    schedule = schedules.get_schedule(store, schedule_id, principal.workspaces)
    return NextRuns(next_runs=schedules.next_runs(schedule, count, utcnow()))
