"""Acting on one goal, a step at a time, as the state machine's Map runs them: is it time (and
still worth it), ask for approval, execute, measure the impact, learn.

Each step reads the goal action (`store.goal_actions`) it works on and records what it did on it,
with the time, in its `timeline`; a step run twice (a retried Task) finds its work done and does
not do it again. The state carried between steps is the Map item `steps.plan_item` made.

Executing (`action_execution`) an `agent` action starts a run (`source_type: goal`, its id derived from
the goal action) and leaves the task waiting on its token until the run ends; `http` and
`notify` actions finish within the step. Success is the measured impact, when
it could be measured: the action improved the metric (`loop.impact`); otherwise the execution's
own success.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from boto3.dynamodb.conditions import Attr

from proactive.analytics.forecast import forecast
from proactive.clock import iso, parse_iso
from proactive.events import Bus
from proactive.ids import derived_id
from proactive.loop import action_execution, analysis, approvals, impact
from proactive.loop import settings as loop_settings
from proactive.loop.action_execution import EXCERPT as _EXCERPT
from proactive.loop.action_execution import EXECUTION, ActionFailed
from proactive.loop.action_execution import record as _record
from proactive.loop.analysis import forecast_from, forecast_to, from_stored, to_stored
from proactive.loop.goals import Goal
from proactive.loop.insights import record_of
from proactive.loop.planner import Action, Plan, Strategy, choose_action, should_replan
from proactive.loop.predictions import HISTORY, LEVEL, MAX_POINTS
from proactive.loop.runs_view import timeline_entry
from proactive.models.common import GoalType
from proactive.observability import logger
from proactive.queue import RunQueue
from proactive.store import Store, keys
from proactive.store.table import Update

# Statuses after which a goal action does nothing more.
FINAL = frozenset({"done", "rejected", "expired", "failed", "cancelled", "no_action", "error"})
# How often a goal waiting for another goal on its resource looks again.
POLL_SECONDS = 60


def _goal(store: Store, goal_id: str) -> Goal | None:
    item = store.goals.get(goal_id)
    return None if item is None else from_stored(item)


def candidate(action: Mapping[str, Any]) -> Action:
    return Action(
        id=action["id"],
        name=action["name"],
        goal_types=frozenset(GoalType(t) for t in action["goal_types"]),
        requires_approval=bool(action.get("requires_approval")),
        stats=record_of(action),
    )


def _latest_value(store: Store, workspace_id: str, metric: str, now: datetime) -> float | None:
    points = store.metrics.newest(workspace_id, metric, iso(now - timedelta(days=1)), iso(now), limit=1)
    return float(points[0]["value"]) if points else None


def seeded_rng(key: str) -> np.random.Generator:
    """Draws that repeat for the same key: a retried step plans as the first try did."""
    return np.random.default_rng(int(derived_id("rng", key)[-12:], 36) % 2**32)


def _cancel(store: Store, item: Mapping[str, Any], now: datetime, why: str) -> dict[str, Any]:
    _record(store, item["goal_action_id"], {"status": "cancelled"}, now, "cancelled", why)
    return {**item, "go": "stop"}


def ready(store: Store, item: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Whether to act now: `go` is "act", "wait" (for the goal before it on its resource; look
    again in `poll_seconds`) or "stop" (the goal ended meanwhile, or the action is gone)."""
    ga = store.goal_actions.get(item["goal_action_id"])
    if ga is None or ga["status"] in FINAL:
        return {**item, "go": "stop"}
    goal = _goal(store, ga["goal_id"])
    if goal is None or goal.status != "active":
        why = "the goal is gone" if goal is None else f"the goal is {goal.status}"
        return _cancel(store, item, now, f"{why}, so the action is not needed")
    waiting = _wait_turn(store, item, ga, goal, now)
    if waiting is not None:
        return waiting
    latest = _latest_value(store, ga["workspace_id"], goal.metric, now)
    if latest is not None and should_replan(as_planned(ga, goal, item), latest):
        return _replan(store, item, ga, goal, latest, now)
    return {**item, "go": "act"}


def _wait_turn(
    store: Store, item: Mapping[str, Any], ga: Mapping[str, Any], goal: Goal, now: datetime
) -> dict[str, Any] | None:
    """The answer while the goal planned before this one on its resource is under way (wait, or
    stop when the goal expired meanwhile); None when this goal's turn has come."""
    plan = ga["plan"]
    if not plan.get("after"):
        return None
    before = store.goal_actions.get(derived_id("goalaction", f"{ga['analysis_id']}|{plan['after']}"))
    if before is None or before["status"] in FINAL:
        return None
    if now.timestamp() >= goal.expires_at:
        return _cancel(store, item, now, "the goal expired while waiting")
    if ga["status"] != "waiting":
        detail = f"waits for goal {plan['after']} to finish"
        _record(store, ga["id"], {"status": "waiting"}, now, "waiting", detail)
    return {**item, "go": "wait", "poll_seconds": POLL_SECONDS}


def as_planned(ga: Mapping[str, Any], goal: Goal, item: Mapping[str, Any]) -> Plan:
    """The plan a goal action was made with, as `should_replan` reads it."""
    plan = ga["plan"]
    return Plan(
        goal_id=goal.id,
        action_id=ga["action_id"],
        strategy=Strategy(plan["strategy"]),
        wait_until=0.0,
        after=plan.get("after"),
        sample=None,
        requires_approval=bool(item["requires_approval"]),
        planned_value=plan.get("planned_value"),
        reason=plan["reason"],
    )


def _replan(
    store: Store, item: Mapping[str, Any], ga: Mapping[str, Any], goal: Goal, latest: float, now: datetime
) -> dict[str, Any]:
    """Draw the action again now that the metric has moved; stop when no action serves the goal."""
    plan = ga["plan"]
    active = {a["id"]: a for a in store.actions.all_in(ga["workspace_id"]) if a.get("is_active", True)}
    rng = seeded_rng(ga["id"] + "|replan")
    choice = choose_action(goal.type, [candidate(a) for a in active.values()], rng)
    if choice is None:
        return _cancel(store, item, now, "re-planned: no action serves the goal now")
    chosen = active[choice.action.id]
    detail = (
        f"{goal.metric} moved from {plan.get('planned_value')} to {latest} since planning; "
        f"'{chosen['name']}' drew {choice.sample:.2f}"
    )
    _record(
        store,
        ga["id"],
        {
            "action_id": chosen["id"],
            "action_name": chosen["name"],
            "action_kind": chosen["kind"],
            "plan": {**plan, "planned_value": latest, "replanned_at": iso(now)},
        },
        now,
        "replanned",
        detail,
    )
    return {**replanned_item(item, chosen), "go": "act"}


def replanned_item(item: Mapping[str, Any], chosen: Mapping[str, Any]) -> dict[str, Any]:
    """The Map item carrying the action drawn again in place of the planned one."""
    return {
        **item,
        "action_kind": chosen["kind"],
        "requires_approval": bool(chosen.get("requires_approval")),
        "approval_timeout_seconds": int(chosen.get("approval_timeout_minutes", 60)) * 60,
    }


def request_approval(
    store: Store, queue: RunQueue, item: Mapping[str, Any], token: str, now: datetime
) -> dict[str, Any]:
    ga = _require(store, item)
    goal = store.goals.get(ga["goal_id"])
    if goal is None:
        raise ActionFailed("the goal is gone")
    return approvals.request(
        store, queue, ga, analysis.present(goal), token, int(item["approval_timeout_seconds"]), now
    )


def declined(
    store: Store, item: Mapping[str, Any], error: Mapping[str, Any] | None, now: datetime
) -> dict[str, Any]:
    """The approval was rejected (recorded when decided) or lapsed: record the lapse."""
    ga = _require(store, item)
    store.task_tokens.discard(ga["id"], approvals.PURPOSE)
    if ga["status"] == approvals.AWAITING:
        approval = {
            **(ga.get("approval") or {}),
            "decision": "expired",
            "decided_at": iso(now),
            "decided_by": "timeout",
        }
        try:
            ga = store.goal_actions.update(
                ga["id"],
                {"status": "expired", "approval": approval},
                condition=Attr("status").eq(approvals.AWAITING),
                append={
                    "timeline": [
                        timeline_entry(now, "expired", "no decision before the approval timeout: not run")
                    ]
                },
            )
        except Exception:  # decided at the last moment: the record says how
            ga = store.goal_actions.get(ga["id"]) or ga
    return {"goal_action_id": ga["id"], "status": ga["status"]}


def execute(
    store: Store, queue: RunQueue, bus: Bus, item: Mapping[str, Any], token: str | None, now: datetime
) -> dict[str, Any]:
    """Execute the goal action's action. An agent's run is waited for through `token`."""
    ga = _require(store, item)
    action = store.actions.get(ga["action_id"])
    goal = _goal(store, ga["goal_id"])
    if action is None or goal is None:
        raise ActionFailed("the action was deleted" if action is None else "the goal is gone")
    if not action.get("is_active", True):
        raise ActionFailed(
            f"the action '{action['name']}' is paused: {action.get('paused_reason') or 'by its owner'}"
        )
    acted_at = parse_iso(ga["acted_at"]) if ga.get("acted_at") else now
    if not ga.get("acted_at"):
        _baseline(store, ga, goal, int(item["impact_seconds"]), now)
        ga = _record(
            store,
            ga["id"],
            {"status": "executing", "acted_at": iso(now)},
            now,
            "executing",
            f"{action['kind']} action '{action['name']}'",
        )
    if not ga.get("attempt_counted"):
        _count_attempt(store, ga)
    parameters = action.get("parameters") or {}
    if action["kind"] == "agent":
        if token is None:
            raise ActionFailed("an agent action's step needs its task token")
        return action_execution.start_run(store, queue, bus, ga, goal, action, token, parameters, acted_at)
    if action["kind"] == "http":
        result = action_execution.call(ga, goal, action, parameters)
    else:
        result = action_execution.notify(store, queue, ga, goal, action, parameters, now)
    _record(store, ga["id"], {"status": "executed", "result": result}, now, "executed", result["summary"])
    return {"goal_action_id": ga["id"], "status": "executed", **result}


def _count_attempt(store: Store, ga: Mapping[str, Any]) -> None:
    """Count the execution in its action's record (`attempts`) as it starts, not when its outcome
    is learnt after the impact window, so the record never shows fewer attempts than the runs
    the goal loop started. Once per goal action: the goal action is marked in the same
    transaction, and the outcome then adds no attempt of its own."""
    once = Update(
        key=store.goal_actions.key(ga["id"]),
        set_values={"attempt_counted": True},
        condition=Attr("attempt_counted").not_exists(),
    )
    store.actions.record_attempt(ga["action_id"], once)


def _baseline(store: Store, ga: Mapping[str, Any], goal: Goal, impact_seconds: int, now: datetime) -> None:
    """What the metric was expected to do without the action: a forecast made just before it."""
    points = metric_points(store, ga["workspace_id"], goal.metric, now - HISTORY, now)
    if len(points) < 2:
        return
    times, values = zip(*points, strict=True)
    predicted = forecast(list(times), list(values), horizon_seconds=impact_seconds + 60, level=LEVEL)
    store.analysis_parts.put(ga["analysis_id"], keys.baseline_part(ga["id"]), forecast_to(predicted), now)


def measure(store: Store, item: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Compare the metric since the action with the forecast made just before it."""
    ga = _require(store, item)
    goal = _goal(store, ga["goal_id"])
    if goal is None or not ga.get("acted_at"):
        raise ActionFailed("nothing was executed to measure")
    acted = parse_iso(ga["acted_at"])
    after = metric_points(store, ga["workspace_id"], goal.metric, acted, now)
    baseline = store.analysis_parts.get(ga["analysis_id"], keys.baseline_part(ga["id"]))
    before: Any = (
        forecast_from(baseline)
        if baseline
        else metric_points(store, ga["workspace_id"], goal.metric, acted - timedelta(hours=1), acted)
    )
    try:
        measured = impact.measure(before, after, goal.target)
    except ValueError as exc:
        detail = f"impact not measured: {exc}"
        _record(
            store,
            ga["id"],
            {"status": "measured", "impact": {"measured": False, "reason": str(exc)}},
            now,
            "measured",
            detail,
        )
        return {"measured": False, "reason": str(exc)}
    shown = {"measured": True, **dataclasses.asdict(measured)}
    _record(store, ga["id"], {"status": "measured", "impact": shown}, now, "measured", measured.description)
    return shown


def learn(store: Store, item: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Add the outcome to the action's record and settle the goal if its rule says it ended."""
    ga = _require(store, item)
    if ga["status"] == "done":
        return {"goal_action_id": ga["id"], "outcome": ga.get("outcome")}
    measured = ga.get("impact") or {}
    success = (
        bool(measured["improved"]) if measured.get("measured") else ga["status"] in ("measured", "executed")
    )
    gain = float(measured["gain"]) if measured.get("measured") else None
    settings = loop_settings.current(store, ga["workspace_id"])
    learnt = bool(settings["executor"]["enable_learning"])
    if learnt:
        store.actions.record_outcome(
            ga["action_id"], success, gain, now, new_attempt=not ga.get("attempt_counted")
        )
    goal_status = _settle_goal(store, ga, now, int(item["impact_seconds"]))
    outcome = {"success": success, "impact_gain": gain, "learnt": learnt, "goal_status": goal_status}
    detail = (
        f"{'success' if success else 'failure'}"
        + (f", gain {gain:+.1%}" if gain is not None else ", impact not measured")
        + ("; added to the action's record" if learnt else "; learning is off")
        + f"; the goal is {goal_status}"
    )
    _record(store, ga["id"], {"status": "done", "outcome": outcome}, now, "learned", detail)
    return {"goal_action_id": ga["id"], "outcome": outcome}


def execution_failed(
    store: Store, item: Mapping[str, Any], error: Mapping[str, Any] | None, now: datetime
) -> dict[str, Any]:
    """The action failed for good: a failure on its record; the goal stays open for another try."""
    ga = _require(store, item)
    if ga["status"] in FINAL:
        return {"goal_action_id": ga["id"], "status": ga["status"]}
    cause = ga.get("error") or cause_of(error)
    store.task_tokens.discard(ga["id"], EXECUTION)
    if bool(loop_settings.current(store, ga["workspace_id"])["executor"]["enable_learning"]):
        store.actions.record_outcome(
            ga["action_id"], False, None, now, new_attempt=not ga.get("attempt_counted")
        )
    _record(
        store,
        ga["id"],
        {"status": "failed", "error": cause, "outcome": {"success": False}},
        now,
        "failed",
        cause,
    )
    return {"goal_action_id": ga["id"], "status": "failed", "error": cause}


def goal_error(
    store: Store, item: Mapping[str, Any], error: Mapping[str, Any] | None, now: datetime
) -> dict[str, Any]:
    """Something unexpected stopped work on this goal: recorded, so it is seen and not lost."""
    ga = store.goal_actions.get(item["goal_action_id"])
    cause = cause_of(error)
    if ga is not None and ga["status"] not in FINAL:
        _record(store, ga["id"], {"status": "error", "error": cause}, now, "error", cause)
    logger.error("goal loop step failed", extra={"goal_action_id": item["goal_action_id"], "error": cause})
    return {"goal_action_id": item["goal_action_id"], "status": "error", "error": cause}


def cause_of(error: Mapping[str, Any] | None) -> str:
    """The error the state machine caught, readable: a Lambda error's message, else its cause."""
    if not error:
        return "unknown error"
    cause = error.get("Cause")
    try:
        parsed = json.loads(cause) if isinstance(cause, str) else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        return f"{parsed.get('errorType', error.get('Error'))}: {parsed['errorMessage']}"[:_EXCERPT]
    return f"{error.get('Error')}: {cause}"[:_EXCERPT]


def _settle_goal(store: Store, ga: Mapping[str, Any], now: datetime, hold_seconds: int) -> str:
    item = store.goals.get(ga["goal_id"])
    if item is None:
        return "gone"
    goal = from_stored(item)
    acted = parse_iso(ga["acted_at"]) if ga.get("acted_at") else now
    points = metric_points(store, ga["workspace_id"], goal.metric, acted, now)
    status = impact.goal_outcome(
        goal, points, now.timestamp(), acted_at=acted.timestamp(), hold_seconds=hold_seconds, settle_seconds=0
    )
    if status != goal.status:
        store.goals.save(
            to_stored(
                ga["workspace_id"], dataclasses.replace(goal, status=status, updated_at=now.timestamp())
            )
        )
    return status


def metric_points(
    store: Store, workspace_id: str, metric: str, since: datetime, until: datetime
) -> list[tuple[float, float]]:
    """The metric's points from `since` to `until` (the newest `MAX_POINTS`), oldest first."""
    found = store.metrics.newest(workspace_id, metric, iso(since), iso(until), limit=MAX_POINTS)
    return sorted((parse_iso(p["timestamp"]).timestamp(), float(p["value"])) for p in found)


def _require(store: Store, item: Mapping[str, Any]) -> dict[str, Any]:
    ga = store.goal_actions.get(item["goal_action_id"])
    if ga is None:
        raise ActionFailed(f"goal action {item['goal_action_id']!r} is gone")
    return ga
