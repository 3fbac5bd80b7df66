"""Executing a goal action's action, for `acting.execute`: an `agent` action starts a run and
leaves the state machine's task waiting on its token (`on_run_finished` ends the wait when the
run does); an `http` action POSTs the goal, signed, to the action's endpoint; a `notify` action
tells the action's channels. `record` writes what a step did on the goal action's timeline.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from proactive import events, outbound
from proactive.agents.runtimes.http import resolved_headers
from proactive.events import Bus
from proactive.ids import derived_id
from proactive.lib.signatures import signed_headers
from proactive.loop import action_handlers as loop_actions
from proactive.loop import machine
from proactive.loop.runs_view import timeline_entry
from proactive.models.runs import SourceType
from proactive.notifications.notice import Notice
from proactive.notifications.outbox import queue_notice
from proactive.queue import RunQueue
from proactive.runs.records import enqueue_new, new_run
from proactive.secret_store import SecretMissing, SecretUnreadable
from proactive.settings import get_settings
from proactive.store import Store

if TYPE_CHECKING:
    # Only named in annotations: the goal model loads numpy, which the light functions (that
    # deliver events, and so may reach this module) do without.
    from proactive.loop.goals import Goal

# The task token's purpose while an agent action's run is waited for.
EXECUTION = "execution"
# The longest an agent's run is waited for (its own retries included).
EXECUTE_TIMEOUT_SECONDS = 24 * 3600
EXCERPT = 2_000


class ActionFailed(Exception):
    """The action could not be executed; the state machine records it as a failed outcome."""


class ActionRetryable(Exception):
    """The action failed in a way that may pass (a 5xx, a timeout): the state machine retries."""


def record(
    store: Store, ga_id: str, changes: Mapping[str, Any], now: datetime, event: str, detail: str
) -> dict[str, Any]:
    return store.goal_actions.update(
        ga_id, dict(changes), append={"timeline": [timeline_entry(now, event, detail)]}
    )


def start_run(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    ga: Mapping[str, Any],
    goal: Goal,
    action: Mapping[str, Any],
    token: str,
    parameters: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    run_id = derived_id("run", ga["id"])
    store.task_tokens.put(ga["id"], EXECUTION, token, now + timedelta(seconds=EXECUTE_TIMEOUT_SECONDS))
    existing = store.runs.get(run_id)
    if existing is None:
        run = new_run(
            run_id=run_id,
            workspace_id=ga["workspace_id"],
            agent_id=action["agent_id"],
            task=loop_actions.fill(action["task_template"], goal, parameters),
            source_type=SourceType.GOAL,
            source_id=goal.id,
            now=now,
            payload={"goal_action_id": ga["id"], "goal_id": goal.id, "action_id": action["id"]},
            goal_action_id=ga["id"],
        )
        enqueue_new(store, queue, bus, run, now)
        store.goal_actions.update(ga["id"], {"run_id": run_id})
    elif existing.status in ("succeeded", "failed", "cancelled"):
        _run_done(store, existing.as_stored(), now)  # it finished before this retry: end the wait now
    return {"goal_action_id": ga["id"], "status": "executing", "run_id": run_id}


def on_run_finished(store: Store, queue: RunQueue, event: events.Event, now: datetime) -> None:
    """Subscriber: a goal action's run finished, so the execution waiting on it goes on."""
    run = event.subject
    if run.get("source_type") != SourceType.GOAL.value or not run.get("goal_action_id"):
        return
    _run_done(store, run, now)


def _run_done(store: Store, run: Mapping[str, Any], now: datetime) -> None:
    """End the wait of the goal action `run` (as stored, as an event tells of it) was made for."""
    ga_id = run["goal_action_id"]
    ga = store.goal_actions.get(ga_id)
    token = store.task_tokens.peek(ga_id, EXECUTION)
    if ga is None or token is None:
        return  # told already (a repeated event), or the wait is over
    output = str(run.get("output") or "")[:EXCERPT]
    if run["status"] == "succeeded":
        result = {
            "run_id": run["id"],
            "run_status": "succeeded",
            "summary": f"run {run['id']} succeeded",
            "output": output,
        }
        if ga["status"] == "executing":
            record(store, ga_id, {"status": "executed", "result": result}, now, "executed", result["summary"])
        machine.succeed(token, result)
    else:
        error = str(run.get("error") or run.get("reason") or run["status"])[:EXCERPT]
        cause = f"run {run['id']} {run['status']}: {error}"
        if ga["status"] == "executing":
            record(store, ga_id, {"error": cause}, now, "run_failed", cause)
        machine.fail(token, machine.ACTION_FAILED, cause)
    store.task_tokens.discard(ga_id, EXECUTION)


def call(
    ga: Mapping[str, Any], goal: Goal, action: Mapping[str, Any], parameters: Mapping[str, Any]
) -> dict[str, Any]:
    """POST the goal to the action's endpoint, signed with the action's secret (Standard Webhooks)."""
    body = json.dumps(
        {
            "goal_action_id": ga["id"],
            "action": {"id": action["id"], "name": action["name"]},
            "goal": {k: v for k, v in dataclasses.asdict(goal).items() if k != "evidence"}
            | {"evidence": goal.evidence.summary, "target": str(goal.target)},
            "parameters": dict(parameters),
        },
        separators=(",", ":"),
        default=str,
    ).encode()
    try:
        headers = resolved_headers(str(action.get("workspace_id") or ""), action.get("headers") or {})
    except SecretUnreadable as exc:
        raise ActionRetryable(str(exc)) from None  # the store did not answer: later it may
    except SecretMissing as exc:
        raise ActionFailed(str(exc)) from None
    headers |= {
        "Content-Type": "application/json",
        **signed_headers(action["secret"], ga["id"], int(time.time()), body),
    }
    settings = get_settings()
    try:
        response = outbound.request(
            "POST",
            action["url"],
            headers=headers,
            body=body,
            timeout=float(action.get("timeout_seconds") or 30),
            max_bytes=settings.outbound_max_response_bytes,
            allow=outbound.parse_networks(settings.outbound_allow_networks),
        )
    except outbound.Refused as exc:
        raise ActionFailed(f"{action['url']} refused: {exc}") from None
    except outbound.OutboundError as exc:
        raise ActionRetryable(f"{action['url']}: {exc}") from None
    excerpt = response.body[:EXCERPT].decode("utf-8", "replace")
    if response.status >= 500 or response.status == 429:
        raise ActionRetryable(f"{action['url']} answered {response.status}: {excerpt}")
    if response.status >= 300:
        raise ActionFailed(f"{action['url']} answered {response.status}: {excerpt}")
    return {
        "status_code": response.status,
        "output": excerpt,
        "summary": f"{action['url']} answered {response.status}",
    }


def notify(
    store: Store,
    queue: RunQueue,
    ga: Mapping[str, Any],
    goal: Goal,
    action: Mapping[str, Any],
    parameters: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    template = action.get("message_template")
    message = loop_actions.fill(template, goal, parameters) if template else goal.description
    notice = Notice(
        event="goal.action",
        title=f"{action['name']}: {goal.title}",
        outcome="info",
        summary=message,
        fields=(("Goal", goal.title), ("Target", str(goal.target)), ("Priority", goal.priority_label)),
        body=goal.evidence.summary,
        link=None,
        ref=ga["id"],
        at=now,
    )
    told = queue_notice(
        store,
        queue,
        ga["workspace_id"],
        notice,
        list(action.get("channels") or []),
        event_type="goal.action",
        key=ga["id"],
        subject_id=ga["id"],
        run_id=None,
        now=now,
    )
    if told == 0:
        raise ActionFailed("none of the action's channels exists any more")
    return {"notified": told, "output": message[:EXCERPT], "summary": f"{told} channel(s) told"}
