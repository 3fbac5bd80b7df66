from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from proactive import runs, schedules
from proactive.api import listing
from proactive.api.deps import (
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
from proactive.models.schedules import NextRuns, Schedule, ScheduleCreate, ScheduleUpdate

router = APIRouter(prefix="/api/proactive/schedules", tags=["schedules"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Schedule)
def create_schedule(
    body: ScheduleCreate, principal: CurrentPrincipal, store: StoreDep, queue: QueueDep
) -> Schedule:
    principal.require(body.workspace_id)
    return schedules.present(schedules.create_schedule(store, queue, body, utcnow()))


@router.get("", response_model=Page[Schedule])
def list_schedules(
    workspace: WorkspaceScope, store: StoreDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    items, next_cursor = store.schedules.page(workspace, limit=limit, cursor=cursor)
    return listing.page(items, next_cursor, Schedule, present=schedules.present)


@router.get("/{schedule_id}", response_model=Schedule)
def get_schedule(schedule_id: str, principal: CurrentPrincipal, store: StoreDep) -> Schedule:
    return schedules.present(schedules.get_schedule(store, schedule_id, principal.workspaces))


@router.patch("/{schedule_id}", response_model=Schedule)
def update_schedule(
    schedule_id: str, body: ScheduleUpdate, principal: CurrentPrincipal, store: StoreDep, queue: QueueDep
) -> Schedule:
    return schedules.present(
        schedules.update_schedule(store, queue, schedule_id, body, principal.workspaces, utcnow())
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
        lambda run_id: schedules.run_now(store, queue, schedule_id, principal.workspaces, now, run_id=run_id),
        wait_seconds=wait,
    )


@router.post("/{schedule_id}/pause", response_model=Schedule)
def pause(schedule_id: str, principal: CurrentPrincipal, store: StoreDep, queue: QueueDep) -> Schedule:
    return schedules.present(
        schedules.set_active(store, queue, schedule_id, False, principal.workspaces, utcnow())
    )


@router.post("/{schedule_id}/resume", response_model=Schedule)
def resume(schedule_id: str, principal: CurrentPrincipal, store: StoreDep, queue: QueueDep) -> Schedule:
    """Resume from now on; occurrences that fell while paused are not run."""
    return schedules.present(
        schedules.set_active(store, queue, schedule_id, True, principal.workspaces, utcnow())
    )


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
