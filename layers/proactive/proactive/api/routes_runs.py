from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from proactive import runs
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
from proactive.errors import InvalidInput
from proactive.models.common import Page
from proactive.models.runs import (
    Run,
    RunCreate,
    RunRecord,
    RunStatistics,
    RunStatus,
    SourceType,
    StatsWindow,
)
from proactive.models.series import Instant

router = APIRouter(prefix="/api/runs", tags=["runs"])
# The most runs one page of a filtered list reads (each filter applies to the runs read).
MAX_READ = 1000


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=Run)
def delegate(
    request: Request,
    body: RunCreate,
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    bus: BusDep,
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
            store, queue, bus, body, requested_by=principal.subject, now=now, run_id=run_id
        ),
        wait_seconds=wait,
    )


@router.get("", response_model=Page[Run])
def list_runs(
    workspace: WorkspaceScope,
    store: StoreDep,
    status_: Annotated[
        RunStatus | None, Query(alias="status", description="Only runs in this status.")
    ] = None,
    source_type: Annotated[
        SourceType | None, Query(description="Only runs started by this kind of source.")
    ] = None,
    source_id: Annotated[
        str | None,
        Query(
            max_length=256,
            description="Only runs started by this source (with `source_type`: one index read).",
        ),
    ] = None,
    agent_id: Annotated[str | None, Query(max_length=128, description="Only the runs of this agent.")] = None,
    since: Annotated[
        Instant | None,
        Query(description="Only runs created at or after this instant (ISO-8601 with a UTC offset)."),
    ] = None,
    until: Annotated[
        Instant | None,
        Query(description="Only runs created before this instant (ISO-8601 with a UTC offset)."),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Only runs whose task or error contains this text (any case).",
        ),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, object]:
    """Runs, newest first. `since` and `until` bound the creation time and are read as a range of
    the index, so a page reads only that range. The other filters apply to the runs read, and a
    filtered page reads at most 1,000 runs: it may hold fewer than `limit` runs (even
    none) and still have a `next_cursor`; follow it to look further. A run that cannot be shown as
    stored is shown as well as it can be (`listing`): one never fails the page."""
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until must be after since", field="until")
    narrowed = any(v is not None for v in (status_, source_type, source_id, agent_id, q))
    items, next_cursor = store.runs.list_runs(
        workspace,
        status=status_.value if status_ else None,
        source_type=source_type.value if source_type else None,
        source_id=source_id,
        agent_id=agent_id,
        since=since,
        until=until,
        text=q,
        max_read=MAX_READ if narrowed else None,
        limit=limit,
        cursor=cursor,
    )
    return listing.page(items, next_cursor, Run)


# Declared before `/{run_id}`, which would otherwise take "stats" for a run's id.
@router.get("/stats", response_model=RunStatistics)
def run_stats(
    workspace: WorkspaceScope,
    store: StoreDep,
    window: Annotated[
        StatsWindow, Query(description="The last 24 hours (hourly buckets) or 7 days (six-hour buckets).")
    ] = "24h",
) -> dict[str, object]:
    """What the workspace's runs that finished in the window add up to: runs by final status in
    each interval, the totals and failure rate, the median and 95th percentile duration (estimated
    from a log-scale histogram, within about 33%), and each agent's runs, tokens and cost. Counted
    as each run finishes, so the answer costs the same however many runs the workspace holds."""
    from proactive.runs import stats

    return stats.summary(store, workspace, window, utcnow())


@router.get("/{run_id}", response_model=Run)
def get_run(run_id: str, principal: CurrentPrincipal, store: StoreDep) -> dict[str, object]:
    return listing.shown_one(runs.get_run(store, run_id, principal.workspaces), Run)


@router.post("/{run_id}/cancel", response_model=Run)
def cancel(
    run_id: str, principal: CurrentPrincipal, store: StoreDep, queue: QueueDep, bus: BusDep
) -> RunRecord:
    """Cancel a run. Queued, waiting to retry or waiting for a callback: cancelled now. Its attempt
    executing: `cancel_requested`, and cancelled when the attempt returns (its output is kept in
    `steps`, not as the result). Finished: 409."""
    return runs.cancel(store, queue, bus, run_id, principal.workspaces, by=principal.subject, now=utcnow())


@router.post("/{run_id}/replay", status_code=status.HTTP_202_ACCEPTED, response_model=Run)
def replay(
    request: Request,
    run_id: str,
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    bus: BusDep,
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
        lambda new_id: runs.replay(
            store, queue, bus, run_id, principal.workspaces, now=now, new_run_id=new_id
        ),
        wait_seconds=wait,
    )
