"""`POST /api/callbacks/runs/{run_id}`: where an `http` agent in callback mode reports the outcome
of a run. Public (the agent has no token): signed by the agent with its secret, in the Standard
Webhooks scheme, and each callback is taken once."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from pydantic import BaseModel

from proactive import runs
from proactive.api.deps import BusDep, QueueDep, StoreDep
from proactive.clock import utcnow
from proactive.models.common import ErrorBody

router = APIRouter(tags=["runs"])


class CallbackResult(BaseModel):
    run_id: str
    status: str


_BODY = {
    "description": 'Either {"output": ...} (a string, or any JSON) or {"error": "...", "retryable": false}, '
    "signed with the agent's secret: webhook-id, webhook-timestamp, webhook-signature.",
    "required": True,
    "content": {"application/json": {"schema": {"type": "object"}}},
}


@router.post(
    "/api/callbacks/runs/{run_id}",
    summary="An http agent reports a run's outcome (public, signed; no token)",
    response_model=CallbackResult,
    openapi_extra={"requestBody": _BODY, "security": []},
    responses={
        status: {"model": ErrorBody, "description": text}
        for status, text in {
            401: "Not signed by the agent's secret, too old, or a replay of an accepted callback.",
            404: "No such run of an http agent.",
            409: "The run is not waiting for a callback (it finished, or was cancelled).",
            422: "The body carries neither output nor error.",
        }.items()
    },
)
async def callback(run_id: str, request: Request, store: StoreDep, queue: QueueDep, bus: BusDep) -> Any:
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    return await to_thread.run_sync(
        lambda: runs.receive_callback(store, queue, bus, run_id, headers, body, utcnow())
    )
