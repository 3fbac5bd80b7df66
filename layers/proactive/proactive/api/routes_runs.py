from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from proactive import runs
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
from proactive.models.runs import Run, RunCreate, RunRecord, RunStatus, SourceType

router = APIRouter(prefix="/api/runs", tags=["runs"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=Run)
def delegate(
    request: Request,
    body: RunCreate,
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    wait: IdempotencyWait,
    idempotency_key: IdempotencyKey = None,
) -> RunRecord | None:
    """Queue a one-time background task; poll `GET /api/runs/{id}` for its outcome. With an
    `Idempotency-Key`, the same key within 24 hours gives back the first call's run (while that
    call is still being handled: 409, or, with `Prefer: wait=<seconds>`, its answer)."""
    principal.require(body.workspace_id)
    now = utcnow()
    return runs.with_idempotency(
        store,
        body.workspace_id,
        idempotency_key,
        fingerprint(request, body),
        now,
        lambda run_id: runs.delegate(
            store, queue, body, requested_by=principal.subject, now=now, run_id=run_id
        ),
        wait_seconds=wait,
    )


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
    """Runs, newest first. A run that cannot be shown as stored is shown as well as it can be
    (`listing`): one never fails the page."""
    items, next_cursor = store.runs.list_runs(
        workspace,
        status=status_.value if status_ else None,
        source_type=source_type.value if source_type else None,
        source_id=source_id,
        limit=limit,
        cursor=cursor,
    )
    return listing.page(items, next_cursor, Run)


@router.get("/{run_id}", response_model=Run)
def get_run(run_id: str, principal: CurrentPrincipal, store: StoreDep) -> dict[str, object]:
    return listing.shown_one(runs.get_run(store, run_id, principal.workspaces), Run)


@router.post("/{run_id}/cancel", response_model=Run)
def cancel(run_id: str, principal: CurrentPrincipal, store: StoreDep, queue: QueueDep) -> RunRecord:
    """Cancel a run. Queued, waiting to retry or waiting for a callback: cancelled now. Its attempt
    executing: `cancel_requested`, and cancelled when the attempt returns (its output is kept in
    `steps`, not as the result). Finished: 409."""
    return runs.cancel(store, queue, run_id, principal.workspaces, by=principal.subject, now=utcnow())


@router.post("/{run_id}/replay", status_code=status.HTTP_202_ACCEPTED, response_model=Run)
def replay(
    request: Request,
    run_id: str,
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    wait: IdempotencyWait,
    idempotency_key: IdempotencyKey = None,
) -> RunRecord | None:
    """A new run with the same agent, task and payload (`replay_of`; the original lists it in
    `replays`), for instance after fixing the agent."""
    original = runs.get_run(store, run_id, principal.workspaces)
    now = utcnow()
    return runs.with_idempotency(
        store,
        original.workspace_id,
        idempotency_key,
        fingerprint(request, None),
        now,
        lambda new_id: runs.replay(store, queue, run_id, principal.workspaces, now=now, new_run_id=new_id),
        wait_seconds=wait,
    )
