"""Triggers: start an agent when an event arrives (a webhook delivery, a GitHub event, a manual
fire, or an event from the product itself, such as a run finishing).

Whatever the source, an event is evaluated the same way: a paused trigger rejects it, a GitHub
trigger filters out other repositories, events and actions, the optional JMESPath `filter`
must be truthy, and the task template must render from the payload.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from proactive.agents import require_agent_in, require_agent_to_resume
from proactive.clock import iso
from proactive.errors import InvalidInput
from proactive.events import Bus, Event
from proactive.ids import new_id, occurrence_run_id
from proactive.lib.templates import TemplateError, fields, render
from proactive.models.runs import RunRecord, SourceType
from proactive.models.triggers import TriggerCreate, TriggerUpdate
from proactive.notifications import targets
from proactive.observability import logger
from proactive.queue import RunQueue
from proactive.runs import enqueue_new, new_run
from proactive.store import Store
from proactive.store.entities import Entities, modify

# The type of a recorded event (as `models.series.SeriesName` takes it), for `recorded_event`.
RECORDED_EVENT_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]{0,127}")
# Where triggers listening for recorded events are listed among a workspace's event listeners.
RECORDED_PREFIX = "recorded:"
# Events the product emits for `event` triggers; a run that finishes emits run.finished too.
PRODUCT_EVENTS = ("run.succeeded", "run.failed", "run.finished")
# A chain of event triggers (a run's end firing a trigger whose run's end fires another...)
# stops at this depth, so a trigger listening to its own runs cannot loop forever.
MAX_CHAIN_DEPTH = 5


@dataclass(frozen=True)
class Outcome:
    status: str  # accepted | filtered | rejected
    reason: str | None = None
    task: str | None = None
    field: str | None = None


def _string_list(value: Any, field: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) and v for v in items):
        raise InvalidInput(f"{field} must be a non-empty string or list of strings", field=field)
    return list(items)


def validate_config(trigger_type: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The config to store for this trigger type, or InvalidInput naming the key at fault."""
    allowed = {
        "github": {"repository", "event", "actions"},
        "event": {"event", "source_type", "source_id", "recorded_event"},
    }
    unknown = set(config) - allowed.get(trigger_type, set())
    if unknown:
        raise InvalidInput(
            f"unknown config key(s) for a {trigger_type} trigger: {sorted(unknown)}", field="config"
        )
    if trigger_type == "github":
        repo = config.get("repository")
        if not isinstance(repo, str) or repo.count("/") != 1 or not all(repo.split("/")):
            raise InvalidInput("config.repository must be 'owner/repo'", field="config.repository")
        out: dict[str, Any] = {"repository": repo, "event": _string_list(config.get("event"), "config.event")}
        if "actions" in config:
            out["actions"] = _string_list(config["actions"], "config.actions")
        return out
    if trigger_type == "event" and "recorded_event" in config:
        return _recorded_event_config(config)
    if trigger_type == "event":
        event = config.get("event")
        if event not in PRODUCT_EVENTS:
            raise InvalidInput(
                f"config.event must be one of {', '.join(PRODUCT_EVENTS)}", field="config.event"
            )
        return {k: str(v) for k, v in config.items()}
    return {}


def _recorded_event_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """An event trigger listening for a type of recorded event (`POST /api/autonomous/events`)."""
    others = sorted(set(config) - {"recorded_event"})
    if others:
        raise InvalidInput(
            f"a trigger listening for recorded events takes no {', '.join(others)}",
            field=f"config.{others[0]}",
        )
    name = config["recorded_event"]
    if not isinstance(name, str) or not RECORDED_EVENT_TYPE.fullmatch(name):
        raise InvalidInput(
            "config.recorded_event must be an event type as recorded: up to 128 letters, digits, '_', "
            "'.', ':', '/' or '-', starting with a letter or '_'",
            field="config.recorded_event",
        )
    return {"recorded_event": name}


def _check_filter(expression: str | None) -> None:
    if expression is None:
        return
    try:
        jmespath.compile(expression)
    except JMESPathError as exc:
        raise InvalidInput(f"filter is not a valid JMESPath expression: {exc}", field="filter") from exc


def _check_template(template: str) -> None:
    try:
        fields(template)
    except TemplateError as exc:
        raise InvalidInput(str(exc), field="task_template") from exc


# An event trigger narrowed to one source names it by id; these kinds of source can be checked.
_SOURCE_KINDS = {"schedule": "sched-", "trigger": "trig-", "monitor": "mon-", "webhook": "webhook-"}


def _check_source(store: Store, config: Mapping[str, Any], workspace_id: str) -> None:
    """An event trigger's `source_id` must name something in its own workspace."""
    source_id = config.get("source_id")
    if not source_id:
        return
    kind = config.get("source_type") or next(
        (k for k, prefix in _SOURCE_KINDS.items() if str(source_id).startswith(prefix)), None
    )
    if kind in _SOURCE_KINDS:
        entities: dict[str, Entities[Any]] = {
            "schedule": store.schedules,
            "trigger": store.triggers,
            "monitor": store.monitors,
        }
        accessor = entities.get(kind, store.webhooks)
        accessor.referenced(str(source_id), workspace_id, field="config.source_id")


def create_trigger(store: Store, data: TriggerCreate, now: datetime) -> dict[str, Any]:
    config = validate_config(data.trigger_type, data.config)
    _check_source(store, config, data.workspace_id)
    _check_filter(data.filter)
    _check_template(data.task_template)
    require_agent_in(store, data.agent_id, data.workspace_id)
    trigger = {
        **data.model_dump(),
        "notify": targets.check(store, data.notify, data.workspace_id),
        "config": config,
        "id": new_id("trig"),
        "fire_count": 0,
        "last_fired_at": None,
        "created_at": iso(now),
        "updated_at": iso(now),
    }
    store.triggers.put(trigger)
    return trigger


def get_trigger(store: Store, trigger_id: str, workspaces: frozenset[str]) -> dict[str, Any]:
    return store.triggers.owned(trigger_id, workspaces)


def update_trigger(
    store: Store, trigger_id: str, data: TriggerUpdate, workspaces: frozenset[str], now: datetime
) -> dict[str, Any]:
    requested = data.model_dump(exclude_unset=True)

    def write(trigger: dict[str, Any]) -> dict[str, Any]:
        changes = dict(requested)
        if "notify" in changes:
            changes["notify"] = targets.check(store, changes["notify"], trigger["workspace_id"])
        if "config" in changes:
            changes["config"] = validate_config(trigger["trigger_type"], changes["config"])
            _check_source(store, changes["config"], trigger["workspace_id"])
        if "filter" in changes:
            _check_filter(changes["filter"])
        if "task_template" in changes:
            _check_template(changes["task_template"])
        if "agent_id" in changes:
            require_agent_in(store, changes["agent_id"], trigger["workspace_id"])
        elif changes.get("is_active") and not trigger.get("is_active"):
            require_agent_to_resume(store, trigger, "trigger")
        if changes.get("is_active"):
            changes["paused_reason"] = None
        changes["updated_at"] = iso(now)
        return store.triggers.change(trigger, changes)

    return modify(lambda: get_trigger(store, trigger_id, workspaces), write, what=f"trigger {trigger_id!r}")


def _github_mismatch(config: Mapping[str, Any], payload: Mapping[str, Any], event: str | None) -> str | None:
    repo = (
        (payload.get("repository") or {}).get("full_name")
        if isinstance(payload.get("repository"), dict)
        else None
    )
    if not isinstance(repo, str) or repo.lower() != config["repository"].lower():
        return f"repository {repo!r} is not {config['repository']!r}"
    if event is not None and event not in config["event"]:
        return f"event {event!r} is not one of {config['event']}"
    actions = config.get("actions")
    if actions and payload.get("action") not in actions:
        return f"action {payload.get('action')!r} is not one of {actions}"
    return None


def evaluate(trigger: Mapping[str, Any], payload: Any, event: str | None) -> Outcome:
    """Whether this event starts the trigger's agent, and with which task."""
    if not trigger.get("is_active"):
        return Outcome("rejected", f"trigger {trigger['id']} is paused")
    if trigger["trigger_type"] == "github":
        mismatch = _github_mismatch(trigger["config"], payload if isinstance(payload, dict) else {}, event)
        if mismatch:
            return Outcome("filtered", mismatch)
    expression = trigger.get("filter")
    if expression:
        try:
            result = jmespath.search(expression, payload)
        except JMESPathError as exc:
            return Outcome("filtered", f"filter {expression!r} could not be evaluated: {exc}")
        if not result:
            return Outcome("filtered", f"filter {expression!r} is false for this payload")
    try:
        task = render(trigger["task_template"], payload)
    except TemplateError as exc:
        return Outcome("rejected", str(exc), field=f"payload.{exc.field}" if exc.field else "task_template")
    return Outcome("accepted", task=task)


def fire(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    trigger: Mapping[str, Any],
    payload: Any,
    *,
    event: str | None,
    now: datetime,
    chain_depth: int = 0,
    run_id: str | None = None,
) -> tuple[Outcome, RunRecord | None]:
    """Evaluate an event against the trigger and, if accepted, queue the agent's run."""
    outcome = evaluate(trigger, payload, event)
    if outcome.status != "accepted" or outcome.task is None:
        logger.info(
            "trigger not fired",
            extra={"trigger_id": trigger["id"], "status": outcome.status, "reason": outcome.reason},
        )
        return outcome, None
    run = new_run(
        workspace_id=trigger["workspace_id"],
        agent_id=trigger["agent_id"],
        task=outcome.task,
        source_type=SourceType.TRIGGER,
        source_id=trigger["id"],
        now=now,
        run_id=run_id,
        trigger_id=trigger["id"],
        chain_depth=chain_depth,
        payload=payload,
        source_name=trigger.get("name"),
        source_notify=trigger.get("notify"),
    )
    enqueue_new(store, queue, bus, run, now)
    store.triggers.record_fire(trigger["id"], now)
    return outcome, run


def on_recorded(store: Store, queue: RunQueue, bus: Bus, event: Event, now: datetime) -> None:
    """Subscriber to `events.recorded`: fire the event triggers listening for each recorded
    event's type, with its metadata as the payload. One run per (trigger, event), however often
    this is called for the event."""
    workspace_id = str(event.subject["workspace_id"])
    listening: dict[str, list[dict[str, Any]]] = {}
    for trigger in store.triggers.listening(workspace_id, RECORDED_PREFIX):
        listening.setdefault(str(trigger.get("config", {}).get("recorded_event")), []).append(trigger)
    for recorded in event.subject["events"]:
        for trigger in listening.get(str(recorded["event_type"]), []):
            run_id = occurrence_run_id(f"recorded#{trigger['id']}#{recorded['id']}")
            fire(
                store,
                queue,
                bus,
                trigger,
                recorded["metadata"],
                event=recorded["event_type"],
                now=now,
                run_id=run_id,
            )


def chain(store: Store, queue: RunQueue, bus: Bus, event: Event, now: datetime) -> None:
    """Subscriber to `run.finished`: fire the event triggers listening for this run's end."""
    run = event.subject
    if run["status"] not in ("succeeded", "failed"):
        return
    depth = int(run.get("chain_depth") or 0)
    payload = {
        "run_id": run["id"],
        "status": run["status"],
        "agent_id": run["agent_id"],
        "source_type": run["source_type"],
        "source_id": run.get("source_id"),
        "task": run["task"],
        "output": run.get("output"),
        "error": run.get("error"),
    }
    emitted = (f"run.{run['status']}", "run.finished")
    for trigger in store.triggers.listening(run["workspace_id"], "run."):
        config = trigger.get("config", {})
        if config.get("event") not in emitted:
            continue
        if any(config.get(k) not in (None, payload[k]) for k in ("source_type", "source_id")):
            continue
        if depth >= MAX_CHAIN_DEPTH:
            logger.warning(
                "trigger chain too deep; not fired",
                extra={"trigger_id": trigger["id"], "run_id": run["id"], "depth": depth},
            )
            continue
        # One run per (trigger, finished run), however often this is called for the run.
        chained = occurrence_run_id(f"chain#{trigger['id']}#{run['id']}")
        fire(
            store,
            queue,
            bus,
            trigger,
            payload,
            event=config["event"],
            now=now,
            chain_depth=depth + 1,
            run_id=chained,
        )
