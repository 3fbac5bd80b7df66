"""Autonomous mode: a workspace's agent runs on its own at a chosen frequency, is given a digest of
what happened since its last execution, and tells people what it did.

The config is an item per workspace, in the due index while enabled: the dispatcher claims each
slot exactly once (the run's id is derived from the workspace and the slot), so executions
survive restarts and crashes. One execution at a time: a slot that comes due while the previous
execution still runs is recorded as a cancelled run, and a manual execute then is a 409.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr

from proactive.agents import require_agent_in
from proactive.clock import iso, parse_iso
from proactive.errors import Conflict, InvalidInput
from proactive.events import Bus
from proactive.ids import derived_id
from proactive.models.runs import FINAL_STATUSES, RunRecord, RunStatus, SourceType
from proactive.observability import logger
from proactive.queue import RunQueue, delay_until, run_message
from proactive.runs import enqueue_new, new_run
from proactive.schedules import window_end
from proactive.store import ConditionFailed, Store

FREQUENCIES = {
    "15min": timedelta(minutes=15),
    "30min": timedelta(minutes=30),
    "1hour": timedelta(hours=1),
    "3hours": timedelta(hours=3),
    "6hours": timedelta(hours=6),
    "12hours": timedelta(hours=12),
    "24hours": timedelta(hours=24),
}
DEFAULT_TASK = (
    "Review what happened in this workspace since your last execution, decide what needs attention, "
    "do what you can, and report what you did."
)
# Everyone told about an autonomous execution hears of its start, its success and its failure.
NOTIFY_ON = ["start", "success", "failure"]


def get_config(store: Store, workspace_id: str) -> dict[str, Any]:
    """The workspace's autonomous mode, as stored (disabled, hourly, when never set)."""
    return store.autonomy.get(workspace_id) or {
        "id": workspace_id,
        "workspace_id": workspace_id,
        "enabled": False,
        "frequency": "1hour",
        "channels": [],
        "task": DEFAULT_TASK,
    }


def next_execution(config: Mapping[str, Any], now: datetime) -> datetime:
    """`last_execution` + frequency; now + frequency when it has never run."""
    step = FREQUENCIES[config["frequency"]]
    last = config.get("last_execution")
    return parse_iso(last) + step if last else now + step


def present(store: Store, config: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The config as the API shows it: `next_execution` is when the dispatcher will run it, and
    `active_run_id` the execution still going (none once it is over)."""
    shown = dict(config)
    due = config.get("next_fire_at") or iso(next_execution(config, now))
    shown["next_execution"] = due if config.get("enabled") else None
    shown["active_run_id"] = _running(store, config)
    return shown


def check_config(store: Store, workspace_id: str, config: Mapping[str, Any]) -> None:
    """Raise InvalidInput (naming the field) if `config` cannot be saved: an enabled config needs
    an agent of the workspace (its own or the workspace's default), and every channel must be one
    of the workspace's."""
    if config.get("enabled"):
        agent_id = config.get("agent_id") or store.workspaces.get(workspace_id).get("default_agent_id")
        if not agent_id:
            raise InvalidInput(
                "autonomous mode needs an agent: give agent_id, or set the workspace's default_agent_id "
                "(PUT /api/workspace/settings)",
                field="agent_id",
            )
        require_agent_in(store, agent_id, workspace_id)
    for channel_id in config.get("channels", []):
        store.channels.referenced(channel_id, workspace_id, field="channels")


def save_config(store: Store, workspace_id: str, changes: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Store the config (`enabled`, `frequency`, `agent_id`, `task`, `channels`) and put it in (or
    take it out of) the due index. A new frequency reschedules from the last execution."""
    current = get_config(store, workspace_id)
    config = {**current, **{k: v for k, v in changes.items() if v is not None or k in ("agent_id",)}}
    config["task"] = config.get("task") or DEFAULT_TASK
    check_config(store, workspace_id, config)
    if config.get("enabled"):
        config["agent_id"] = config.get("agent_id") or store.workspaces.get(workspace_id).get(
            "default_agent_id"
        )
    config["notify"] = {"channels": list(config.get("channels", [])), "on": NOTIFY_ON}
    due = next_execution(config, now) if config.get("enabled") else None
    config["next_fire_at"] = iso(due) if due else None
    config["updated_at"] = iso(now)
    if "created_at" not in current or store.autonomy.get(workspace_id) is None:
        config["created_at"] = iso(now)
        store.autonomy.put_due(config, due_at=due)
        return config
    fields = {k: v for k, v in config.items() if k not in ("id", "workspace_id", "created_at", "version")}
    return store.autonomy.reschedule(
        workspace_id, fields, due_at=due, expect_version=int(current.get("version") or 0)
    )


# Executions


def digest(store: Store, workspace_id: str, since: datetime | None, now: datetime) -> str:
    """What happened in the workspace since `since` (the last 24 hours when it never ran): runs by
    status and source, failures, failing monitors, missed occurrences, what is coming up, and the
    goals the goal loop is working on."""
    start = since or now - timedelta(hours=24)
    recent: list[RunRecord] = []
    cursor = None
    while len(recent) < 500:
        page, cursor = store.runs.page(workspace_id, limit=100, cursor=cursor)
        fresh = [r for r in page if r.created_at >= start]
        recent.extend(fresh)
        if len(fresh) < len(page) or not cursor:
            break
    statuses = Counter(r.status for r in recent)
    sources = Counter(r.source_type for r in recent)
    lines = [f"Workspace {workspace_id} since {iso(start)}:"]
    lines.append(
        f"- Runs: {len(recent)}"
        + (f" ({', '.join(f'{n} {s}' for s, n in statuses.most_common())})" if recent else "")
        + (f"; by source: {', '.join(f'{s} {n}' for s, n in sources.most_common())}" if recent else "")
    )
    for run in [r for r in recent if r.status == "failed"][:5]:
        lines.append(
            f"- Failed: {run.id} ({run.source_type} {run.source_name or ''}): {(run.error or '')[:200]}"
        )
    missed = [r for r in recent if r.status == "missed"]
    if missed:
        first = missed[0]
        at = iso(first.scheduled_for) if first.scheduled_for else None
        lines.append(f"- Missed occurrences: {len(missed)} (e.g. {first.source_name} at {at})")
    failing = store.monitors.all_in(workspace_id, filters=Attr("state").eq("failing"))
    for monitor in failing[:5]:
        error = (monitor.last_error or "")[:200]
        lines.append(f"- Failing monitor: {monitor.name} ({monitor.id}): {error}")
    soon = now + timedelta(hours=24)
    upcoming = sorted(
        (
            (s.next_fire_at, s.name)
            for s in store.schedules.all_in(workspace_id, filters=Attr("is_active").eq(True))
            if s.next_fire_at is not None and s.next_fire_at <= soon
        ),
        key=lambda fire_and_name: fire_and_name[0],
    )
    for fire, name in upcoming[:10]:
        lines.append(f"- Coming up: {name} at {iso(fire)}")
    goals = store.goals.all_in(workspace_id, filters=Attr("status").eq("active"))
    for goal in sorted(goals, key=lambda g: -float(g.get("priority") or 0))[:10]:
        by = f", due by {goal['due_by']}" if goal.get("due_by") else ""
        lines.append(f"- Active goal: {goal['title']} (on {goal['metric']}{by})")
    if not failing and not missed and not statuses.get("failed"):
        lines.append("- Nothing failed and nothing was missed.")
    return "\n".join(lines)


def _run_for(
    store: Store, config: Mapping[str, Any], slot: datetime, now: datetime, *, run_id: str
) -> RunRecord:
    since = parse_iso(config["last_execution"]) if config.get("last_execution") else None
    summary = digest(store, config["workspace_id"], since, now)
    task = f"{config.get('task') or DEFAULT_TASK}\n\n{summary}"
    return new_run(
        run_id=run_id,
        workspace_id=config["workspace_id"],
        agent_id=config["agent_id"],
        task=task,
        source_type=SourceType.AUTONOMOUS,
        source_id=config["workspace_id"],
        scheduled_for=slot,
        now=now,
        source_name="autonomous mode",
        source_notify=config.get("notify"),
        payload={"digest": summary, "since": iso(since) if since else None},
    )


def _running(store: Store, config: Mapping[str, Any]) -> str | None:
    """The execution still going, if any (the stored `active_run_id` is the last one started)."""
    active = config.get("active_run_id")
    if not active:
        return None
    run = store.runs.get(active)
    return active if run is not None and run.status not in FINAL_STATUSES else None


def dispatch(
    store: Store,
    queue: RunQueue,
    config: Mapping[str, Any],
    now: datetime,
    *,
    wall_now: datetime | None = None,
) -> int:
    """Claim the config's due slot and queue its execution (exactly once per slot)."""
    current = config.get("next_fire_at")
    if not config.get("enabled") or not current:
        return 0
    slot = parse_iso(current)
    if slot > window_end(now):
        return 0
    run_id = derived_id("run", f"autonomy#{config['workspace_id']}#{current}")
    busy = _running(store, config)
    following = slot + FREQUENCIES[config["frequency"]]
    while following <= now:
        following += FREQUENCIES[config["frequency"]]
    try:
        store.autonomy.reschedule(
            config["workspace_id"],
            {
                "next_fire_at": iso(following),
                "last_execution": iso(slot),
                **({} if busy else {"active_run_id": run_id}),
            },
            due_at=following,
            expect_next_fire_at=current,
        )
    except ConditionFailed:
        logger.info("autonomous mode changed during dispatch", extra={"workspace_id": config["workspace_id"]})
        return 0
    run = _run_for(store, config, slot, now, run_id=run_id)
    if busy:
        run = run.model_copy(
            update={
                "status": RunStatus.CANCELLED.value,
                "finished_at": now,
                "reason": f"autonomous run {busy} was still running",
            }
        )
        store.runs.create(run)
        return 0
    if store.runs.create(run):
        queue.send([run_message(run_id, delay_until(slot, wall_now or now))])
    return 1


def execute_now(store: Store, queue: RunQueue, bus: Bus, workspace_id: str, now: datetime) -> RunRecord:
    """`POST /api/autonomous/execute`: an execution now (it counts as one: the next is a frequency
    from now). 409 naming the run while another execution runs."""
    config = get_config(store, workspace_id)
    if not config.get("agent_id"):
        raise InvalidInput(
            "autonomous mode has no agent yet: PUT /api/autonomous/config first", field="agent_id"
        )
    busy = _running(store, config)
    if busy:
        raise Conflict(
            f"an autonomous execution is still running: run {busy}",
            field="run_id",
            details=[{"field": "run_id", "message": busy}],
        )
    run_id = derived_id("run", f"autonomy#{workspace_id}#manual#{iso(now)}")
    changes = {"active_run_id": run_id, "last_execution": iso(now)}
    if config.get("enabled"):
        changes["next_fire_at"] = iso(now + FREQUENCIES[config["frequency"]])
    try:
        store.autonomy.reschedule(
            workspace_id,
            changes,
            due_at=parse_iso(changes["next_fire_at"]) if config.get("enabled") else None,
            expect_version=int(config.get("version") or 0),
        )
    except ConditionFailed:
        raise Conflict("autonomous mode changed at the same moment; try again") from None
    return enqueue_new(store, queue, bus, _run_for(store, config, now, now, run_id=run_id), now)
