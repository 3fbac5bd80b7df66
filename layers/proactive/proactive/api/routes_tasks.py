"""Tasks: `/tasks`, at the paths people already use for them, and a triggered task's webhook."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse

from proactive import tasks
from proactive.api import listing
from proactive.api.deps import BusDep, CurrentPrincipal, Cursor, Limit, QueueDep, StoreDep, WorkspaceScope
from proactive.api.routes_hooks import DOCUMENTED, deliver_to
from proactive.clock import utcnow
from proactive.models.common import Page
from proactive.models.runs import Run
from proactive.models.tasks import Task, TaskCreate, TaskType, TaskUpdate
from proactive.settings import get_settings

router = APIRouter(prefix="/tasks", tags=["tasks"])
public = APIRouter(tags=["tasks"])


def _base(request: Request) -> str:
    return get_settings().public_base_url or str(request.base_url)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Task)
def create(
    request: Request,
    body: TaskCreate,
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    bus: BusDep,
) -> Any:
    """A delegation (one background run), a scheduled task (a schedule) or a triggered task (a
    webhook trigger and its signed webhook; the answer shows its secret this once, and the headers
    each delivery must carry)."""
    made = tasks.create(store, queue, bus, body, principal, utcnow())
    return tasks.present(store, made, _base(request), with_runs=True)


@router.get("", response_model=Page[Task])
def list_tasks(
    request: Request,
    workspace: WorkspaceScope,
    store: StoreDep,
    task_type: TaskType | None = None,
    status_: Annotated[
        str | None,
        Query(
            alias="status",
            description="active or disabled (scheduled, triggered); a run status (delegation).",
        ),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Any:
    """Tasks, newest first."""
    items, next_cursor = tasks.page(
        store, workspace, _base(request), task_type=task_type, status=status_, limit=limit, cursor=cursor
    )
    return listing.page(items, next_cursor, Task)


@router.get("/{task_id}", response_model=Task)
def get(request: Request, task_id: str, principal: CurrentPrincipal, store: StoreDep) -> Any:
    """The task, what it owns (`schedule_id`, `trigger_id`, `webhook_id`, `webhook_url`) and its
    recent runs."""
    return tasks.present(
        store, tasks.get(store, task_id, principal.workspaces), _base(request), with_runs=True
    )


@router.patch("/{task_id}", response_model=Task)
def update(
    request: Request,
    task_id: str,
    body: TaskUpdate,
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    bus: BusDep,
) -> Any:
    """Edit the task; its schedule or trigger changes with it."""
    changed = tasks.update(store, queue, bus, task_id, body, principal.workspaces, utcnow())
    return tasks.present(store, changed, _base(request), with_runs=True)


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(task_id: str, principal: CurrentPrincipal, store: StoreDep) -> Response:
    """Delete the task and its schedule, or its trigger and webhook (runs stay in run history)."""
    tasks.delete(store, task_id, principal.workspaces)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{task_id}/execute", status_code=status.HTTP_202_ACCEPTED, response_model=Run)
def execute(task_id: str, principal: CurrentPrincipal, store: StoreDep, queue: QueueDep, bus: BusDep) -> Any:
    """Run the task's prompt now."""
    return tasks.execute(store, queue, bus, task_id, principal.workspaces, utcnow())


def _activate(
    request: Request, task_id: str, active: bool, principal: Any, store: Any, queue: Any, bus: Any
) -> dict[str, Any]:
    changed = tasks.set_active(store, queue, bus, task_id, active, principal.workspaces, utcnow())
    return tasks.present(store, changed, _base(request))


@router.post("/{task_id}/disable", response_model=Task)
def disable(
    request: Request, task_id: str, principal: CurrentPrincipal, store: StoreDep, queue: QueueDep, bus: BusDep
) -> Any:
    """Stop the task: its schedule stops firing, its webhook refuses deliveries."""
    return _activate(request, task_id, False, principal, store, queue, bus)


@router.post("/{task_id}/enable", response_model=Task)
def enable(
    request: Request, task_id: str, principal: CurrentPrincipal, store: StoreDep, queue: QueueDep, bus: BusDep
) -> Any:
    """Start a disabled task again (its schedule from now on: occurrences while disabled are not run)."""
    return _activate(request, task_id, True, principal, store, queue, bus)


@public.post(
    "/tasks/webhooks/{task_id}",
    summary="Deliver an event to a triggered task (public, signed; no token)",
    **DOCUMENTED,
)
async def task_webhook(task_id: str, request: Request, store: StoreDep, queue: QueueDep) -> JSONResponse:
    """The triggered task's webhook: the same as its `/api/hooks/` URL. A delivery without a
    signature is a 401 that names the headers to send; nothing runs."""
    return await deliver_to(task_id, request, store, queue)
