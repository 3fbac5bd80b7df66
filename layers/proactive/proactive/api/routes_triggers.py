from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from proactive import references, runs, triggers
from proactive.api import listing
from proactive.api.deps import (
    BusDep,
    CurrentPrincipal,
    Cursor,
    Force,
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
from proactive.models.runs import RunRecord
from proactive.models.triggers import FireRequest, FireResult, Trigger, TriggerCreate, TriggerUpdate

router = APIRouter(prefix="/api/proactive/triggers", tags=["triggers"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Trigger)
def create_trigger(body: TriggerCreate, principal: CurrentPrincipal, store: StoreDep) -> Any:
    principal.require(body.workspace_id)
    return triggers.create_trigger(store, body, utcnow())


@router.get("", response_model=Page[Trigger])
def list_triggers(
    workspace: WorkspaceScope, store: StoreDep, limit: Limit = 50, cursor: Cursor = None
) -> Any:
    items, next_cursor = store.triggers.page(workspace, limit=limit, cursor=cursor)
    return listing.page(items, next_cursor, Trigger)


@router.get("/{trigger_id}", response_model=Trigger)
def get_trigger(trigger_id: str, principal: CurrentPrincipal, store: StoreDep) -> Any:
    return triggers.get_trigger(store, trigger_id, principal.workspaces)


@router.patch("/{trigger_id}", response_model=Trigger)
def update_trigger(trigger_id: str, body: TriggerUpdate, principal: CurrentPrincipal, store: StoreDep) -> Any:
    return triggers.update_trigger(store, trigger_id, body, principal.workspaces, utcnow())


@router.delete("/{trigger_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_trigger(
    trigger_id: str, principal: CurrentPrincipal, store: StoreDep, force: Force = False
) -> Response:
    """Delete a trigger. While webhooks deliver to it, this answers 409 naming them; with
    `force=true` each of them is paused (its `paused_reason` says why) first."""
    references.delete_trigger(store, trigger_id, principal.workspaces, utcnow(), force=force)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{trigger_id}/fire",
    response_model=FireResult,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        200: {
            "model": FireResult,
            "description": "Filtered: the trigger's conditions did not match; nothing was run.",
        }
    },
)
def fire(
    request: Request,
    trigger_id: str,
    body: FireRequest,
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    bus: BusDep,
    wait: IdempotencyWait,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Fire the trigger with a payload: 202 with the queued run, 200 if filtered out, or 422 if
    the payload lacks a field the task template needs. With an `Idempotency-Key`, the same key
    within 24 hours gives back the first call's run."""
    trigger = triggers.get_trigger(store, trigger_id, principal.workspaces)
    now = utcnow()
    outcomes: list[triggers.Outcome] = []

    def fire_once(run_id: str) -> RunRecord | None:
        outcome, run = triggers.fire(
            store, queue, bus, trigger, body.payload, event=body.event, now=now, run_id=run_id
        )
        outcomes.append(outcome)
        return run

    run = runs.with_idempotency(
        store,
        trigger["workspace_id"],
        idempotency_key,
        fingerprint(request, body),
        now,
        fire_once,
        wait_seconds=wait,
    )
    outcome = outcomes[0] if outcomes else triggers.Outcome("accepted")
    if outcome.status == "rejected":
        raise InvalidInput(outcome.reason or "rejected", field=outcome.field)
    if run is None:
        return JSONResponse(FireResult(status="filtered", reason=outcome.reason).model_dump(mode="json"))
    return {"status": "accepted", "reason": None, "run": run}
