"""The goal loop's state machine steps: what each of its Lambda Tasks does, by name.

The ASL (`infra/goal_loop.asl.json`) invokes one function with `{"step": <name>, "state": {...}}`
(plus `token`, the task token, for the steps that wait, and `error`, what a Catch caught); this
module runs the step and answers what the next state reads. Steps of the analysis pass only ids
between them (what they computed is kept in the table), so no state outgrows Step Functions'
256 KB.

load -> forecast | detect | patterns -> set_goals -> plan -> Map over the plans (bounded by
`max_concurrent_goals`): ready -> (approve) -> execute -> wait -> measure -> learn -> report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr

from proactive.clock import epoch_iso, iso, parse_iso
from proactive.errors import InvalidInput
from proactive.events import Bus
from proactive.ids import derived_id
from proactive.loop import acting, action_execution, analysis, runs_view
from proactive.loop import settings as loop_settings
from proactive.loop.analysis import Context, from_stored
from proactive.loop.goals import Goal, MetricView
from proactive.loop.planner import Plan, plan_goals
from proactive.loop.predictions import HISTORY
from proactive.notifications.notice import Notice
from proactive.notifications.outbox import queue_notice
from proactive.queue import RunQueue
from proactive.store import Store

# Goal actions in these statuses are under way: their goals are not planned again meanwhile.
_ABANDONED_AFTER = timedelta(days=8)
_UNDER_WAY = frozenset(
    {"planned", "waiting", "awaiting_approval", "approved", "executing", "executed", "measured"}
)


def _context(state: Mapping[str, Any]) -> Context:
    return Context(state["workspace_id"], state["analysis_id"], parse_iso(state["analysed_at"]))


def load(store: Store, queue: RunQueue, bus: Bus, event: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Record the analysis as started; what every later step needs to know of it."""
    state = event["state"]
    settings = loop_settings.current(store, state["workspace_id"])
    analysis.begin(
        store,
        state["workspace_id"],
        state["analysis_id"],
        parse_iso(state["analysed_at"]),
        trigger=str(state.get("trigger") or "manual"),
    )
    # Started after all (a dispatcher's earlier attempt may have recorded a failure to start).
    store.analyses.update(state["analysis_id"], {"status": "running"}, remove=["error"])
    return {
        "workspace_id": state["workspace_id"],
        "analysis_id": state["analysis_id"],
        "analysed_at": state["analysed_at"],
        "max_concurrent_goals": int(settings["executor"]["max_concurrent_goals"]),
    }


def plan(store: Store, queue: RunQueue, bus: Bus, event: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Plan an action for each active goal not already being acted on; one Map item per plan
    with an action (a goal no action serves is recorded as such)."""
    state = event["state"]
    context = _context(state)
    settings = loop_settings.current(store, context.workspace_id)
    goals = [
        from_stored(g) for g in store.goals.all_in(context.workspace_id, filters=Attr("status").eq("active"))
    ]
    under_way = _goals_under_way(store, context)
    actions = [a for a in store.actions.all_in(context.workspace_id) if a.get("is_active", True)]
    views = _metric_views(store, context, goals)
    plans = plan_goals(
        [g for g in goals if g.id not in under_way],
        [acting.candidate(a) for a in actions],
        views,
        acting.seeded_rng(context.analysis_id),
        context.at,
        max_concurrent_goals=int(settings["executor"]["max_concurrent_goals"]),
        running=[g for g in goals if g.id in under_way],
        timezone=str(settings["timezone"]),
    )
    by_id = {a["id"]: a for a in actions}
    items = []
    for made in plans:
        action = by_id.get(made.action_id or "")
        planned = planned_goal_action(context, made, action, now)
        store.goal_actions.create(planned)
        if action is not None:
            items.append(plan_item(planned, action, settings))
    runs_view.record_step(
        store, context.analysis_id, "plan", {"plans": len(plans), "acting_on": [i["goal_id"] for i in items]}
    )
    return {**state, "plans": items}


def _goals_under_way(store: Store, context: Context) -> set[str]:
    """The goals an earlier analysis's action is still working on."""
    return {
        ga["goal_id"]
        for ga in store.goal_actions.all_in(
            context.workspace_id, filters=Attr("status").is_in(list(_UNDER_WAY))
        )
        if ga["analysis_id"] != context.analysis_id
    }


def _metric_views(store: Store, context: Context, goals: list[Goal]) -> dict[str, MetricView]:
    """The recent history of each metric the goals watch."""
    return {
        metric: MetricView(
            points=acting.metric_points(
                store, context.workspace_id, metric, context.now - HISTORY, context.now
            )
        )
        for metric in sorted({g.metric for g in goals})
    }


def planned_goal_action(
    context: Context, made: Plan, action: Mapping[str, Any] | None, now: datetime
) -> dict[str, Any]:
    """The goal action recording `made`: planned, or `no_action` when no action serves its goal."""
    return {
        "id": derived_id("goalaction", f"{context.analysis_id}|{made.goal_id}"),
        "workspace_id": context.workspace_id,
        "goal_id": made.goal_id,
        "analysis_id": context.analysis_id,
        "action_id": made.action_id,
        "action_name": action["name"] if action else None,
        "action_kind": action["kind"] if action else None,
        "status": "planned" if action else "no_action",
        "plan": {
            "strategy": str(made.strategy),
            "reason": made.reason,
            "wait_until": epoch_iso(made.wait_until),
            "after": made.after,
            "sample": made.sample,
            "planned_value": made.planned_value,
        },
        "created_at": iso(now),
        "timeline": [runs_view.timeline_entry(now, "planned", made.reason)],
    }


def plan_item(
    planned: Mapping[str, Any], action: Mapping[str, Any], settings: Mapping[str, Any]
) -> dict[str, Any]:
    """The Map item that carries a planned goal action through its wait, approval and execution."""
    return {
        "goal_action_id": planned["id"],
        "goal_id": planned["goal_id"],
        "action_kind": action["kind"],
        "requires_approval": bool(action.get("requires_approval")),
        "wait_until": planned["plan"]["wait_until"],
        "approval_timeout_seconds": int(
            action.get("approval_timeout_minutes") or settings["approval_timeout_minutes"]
        )
        * 60,
        "impact_seconds": int(settings["impact_window_minutes"]) * 60,
        "execute_timeout_seconds": action_execution.EXECUTE_TIMEOUT_SECONDS,
        "poll_seconds": acting.POLL_SECONDS,
    }


def report(
    store: Store, queue: RunQueue, bus: Bus, event: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """Close the analysis with what it did, and tell the workspace's channels when it set goals
    or acted."""
    state = event["state"]
    context = _context(state)
    outcomes = [o for o in state.get("outcomes") or [] if isinstance(o, dict)]
    record = store.analyses.get(context.analysis_id) or {}
    decided = runs_view.read_step(record, "set_goals")
    summary = {
        "goals_created": len(decided.get("created", [])),
        "goals_refreshed": len(decided.get("updated", [])),
        "actions": len(outcomes),
    }
    store.analyses.update(
        context.analysis_id,
        {"status": "succeeded", "finished_at": iso(now), "result": runs_view.summary_text(summary)},
    )
    if summary["goals_created"] or summary["actions"]:
        workspace = store.workspaces.get(context.workspace_id) or {}
        lines = [f"- {g['title']} ({g['priority_label']})" for g in _goals(store, decided.get("created", []))]
        notice = Notice(
            event="goal.analysis",
            title=f"Goal loop: {summary['goals_created']} new goal(s), {summary['actions']} action(s)",
            outcome="info",
            summary=(
                f"The analysis at {state['analysed_at']} set {summary['goals_created']} new goal(s), "
                f"refreshed {summary['goals_refreshed']} and worked on {summary['actions']} action(s)."
            ),
            fields=tuple(("Goal", line[2:]) for line in lines[:10]),
            body="\n".join(lines) or None,
            link=None,
            ref=context.analysis_id,
            at=now,
        )
        queue_notice(
            store,
            queue,
            context.workspace_id,
            notice,
            list(workspace.get("default_channels") or []),
            event_type="goal.analysis",
            key=context.analysis_id,
            subject_id=context.analysis_id,
            run_id=None,
            now=now,
        )
    return {"analysis_id": context.analysis_id, **summary}


def _goals(store: Store, ids: list[str]) -> list[dict[str, Any]]:
    return [analysis.present(g) for g in (store.goals.get(i) for i in ids) if g is not None]


def fail(store: Store, queue: RunQueue, bus: Bus, event: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The analysis failed: recorded with the error, so it is seen rather than lost."""
    state = event["state"]
    cause = acting.cause_of(event.get("error"))
    if state.get("analysis_id") and store.analyses.get(state["analysis_id"]) is not None:
        store.analyses.update(
            state["analysis_id"], {"status": "failed", "finished_at": iso(now), "error": cause}
        )
    return {"analysis_id": state.get("analysis_id"), "status": "failed", "error": cause}


def _analysis_step(run: Callable[[Store, Context], Any]) -> Callable[..., dict[str, Any]]:
    def step(
        store: Store, queue: RunQueue, bus: Bus, event: Mapping[str, Any], now: datetime
    ) -> dict[str, Any]:
        result = run(store, _context(event["state"]))
        return {"done": True, "summary": result if isinstance(result, dict) else {}}

    return step


def _goal_step(
    run: Callable[..., Any],
    *,
    with_queue: bool = False,
    with_bus: bool = False,
    with_token: bool = False,
    with_error: bool = False,
) -> Callable[..., Any]:
    def step(store: Store, queue: RunQueue, bus: Bus, event: Mapping[str, Any], now: datetime) -> Any:
        args: list[Any] = [store]
        if with_queue:
            args.append(queue)
        if with_bus:
            args.append(bus)
        args.append(dict(event["state"]))
        if with_token:
            args.append(event.get("token"))
        if with_error:
            args.append(event.get("error"))
        return run(*args, now)

    return step


STEPS: dict[str, Callable[[Store, RunQueue, Bus, Mapping[str, Any], datetime], Any]] = {
    "load": load,
    "forecast": _analysis_step(analysis.forecast_metrics),
    "detect": _analysis_step(analysis.detect_anomalies),
    "patterns": _analysis_step(analysis.find_patterns),
    "set_goals": _analysis_step(analysis.decide_goals),
    "plan": plan,
    "ready": _goal_step(acting.ready),
    "request_approval": _goal_step(acting.request_approval, with_queue=True, with_token=True),
    "declined": _goal_step(acting.declined, with_error=True),
    "execute": _goal_step(acting.execute, with_queue=True, with_bus=True, with_token=True),
    "measure": _goal_step(acting.measure),
    "learn": _goal_step(acting.learn),
    "execution_failed": _goal_step(acting.execution_failed, with_error=True),
    "goal_error": _goal_step(acting.goal_error, with_error=True),
    "report": report,
    "fail": fail,
}


def handle(store: Store, queue: RunQueue, bus: Bus, event: Mapping[str, Any], now: datetime) -> Any:
    """Run the step `event` names."""
    name = event.get("step")
    step = STEPS.get(str(name))
    if step is None:
        raise InvalidInput(f"unknown goal loop step {name!r}; known: {', '.join(STEPS)}", field="step")
    return step(store, queue, bus, event, now)
