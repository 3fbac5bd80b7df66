"""Callbacks: an `http` agent in callback mode answers 202, works as long as it needs, then posts
`{"output": ...}` or `{"error": ...}` to `POST /api/callbacks/runs/{run_id}`, signed with its
secret in the Standard Webhooks scheme. Each callback (by its `webhook-id`) is taken once."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr

from proactive.agents.runtimes import AgentResult, StepLog
from proactive.errors import AgentError, Conflict, InvalidInput, NotFound, Unauthorized
from proactive.events import Bus
from proactive.lib.signatures import SignatureError, verify_callback
from proactive.lib.surrogates import lone_surrogate, may_hold_surrogates
from proactive.models.runs import FINAL_STATUSES
from proactive.queue import RunQueue
from proactive.runs.attempts import after_failure, after_success
from proactive.store import ConditionFailed, Store


def _outcome(body: bytes) -> tuple[str | None, str | None, bool]:
    """(output, error, retryable) from a callback's body."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput("the callback's body is not JSON", field="body") from None
    # Stored in the run, such text would make every answer showing the run fail.
    if may_hold_surrogates(body) and (found := lone_surrogate(data)) is not None:
        raise InvalidInput(f"{found[0]}: holds text that is not valid Unicode: {found[1]}", field=found[0])
    if not isinstance(data, dict) or ("output" in data) == ("error" in data):
        raise InvalidInput('the callback must carry either "output" or "error"', field="body")
    if "output" in data:
        output = data["output"]
        return (output if isinstance(output, str) else json.dumps(output)), None, False
    return None, str(data["error"]), bool(data.get("retryable", False))


def receive(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    run_id: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> dict[str, Any]:
    """Take an agent's callback for the run waiting for it. `headers` have lower-case names."""

    run = store.runs.get(run_id)
    agent = store.agents.get(run.agent_id) if run else None
    if run is None or agent is None or agent.get("runtime") != "http":
        raise NotFound(f"no run {run_id!r} of an http agent")
    try:
        message_id = verify_callback(agent, headers, body, now)
    except SignatureError as exc:
        raise Unauthorized(f"callback signature check failed: {exc}") from None
    if store.requests.callback_accepted(run_id, message_id):
        raise Unauthorized(f"callback {message_id!r} was already accepted; a replay is refused")
    output, error, retryable = _outcome(body)
    if run.status in FINAL_STATUSES:
        raise Conflict(f"run {run_id} has already finished ({run.status})")
    if run.waiting_for != "callback":
        raise Conflict(f"run {run_id} is not waiting for a callback")
    if not store.requests.accept_callback(run_id, message_id, now):
        raise Unauthorized(f"callback {message_id!r} was already accepted; a replay is refused")
    try:
        waiting = store.runs.update(
            run_id, remove=("waiting_for", "callback_deadline"), condition=Attr("waiting_for").eq("callback")
        )
    except ConditionFailed:
        raise Conflict(f"run {run_id} is not waiting for a callback") from None
    steps = StepLog(waiting.steps)
    steps.add("callback_received", ok=error is None, webhook_id=message_id)
    if error is None:
        final = after_success(store, queue, bus, waiting, agent, steps, AgentResult(output or ""), now)
    else:
        failure = AgentError(f"the agent reported: {error}", retryable=retryable)
        final = after_failure(store, queue, bus, waiting, agent, steps, failure, now)
    return {"run_id": run_id, "status": final.status}
