from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from proactive import runs
from proactive.api.deps import CurrentPrincipal, Cursor, Limit, QueueDep, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.models.common import Page
from proactive.models.runs import Run, RunCreate, RunStatus, SourceType

router = APIRouter(prefix="/api/runs", tags=["runs"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=Run)
def delegate(
    body: RunCreate, principal: CurrentPrincipal, store: StoreDep, queue: QueueDep
) -> dict[str, object]:
    """Queue a one-time background task; poll `GET /api/runs/{id}` for its outcome."""
    principal.require(body.workspace_id)
    return runs.delegate(store, queue, body, requested_by=principal.subject, now=utcnow())


@router.get("", response_model=Page[Run])
def list_runs(
    workspace: WorkspaceScope,
    store: StoreDep,
    status_: Annotated[RunStatus | None, Query(alias="status")] = None,
    source_type: SourceType | None = None,
    source_id: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, object]:
    """Runs, newest first."""
    items, next_cursor = store.runs.list_runs(
        workspace,
        status=status_.value if status_ else None,
        source_type=source_type.value if source_type else None,
        source_id=source_id,
        limit=limit,
        cursor=cursor,
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/{run_id}", response_model=Run)
def get_run(run_id: str, principal: CurrentPrincipal, store: StoreDep) -> dict[str, object]:
    return runs.get_run(store, run_id, principal.workspaces)
