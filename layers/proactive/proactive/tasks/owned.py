"""A task translated into what it owns, apart from any I/O (`proactive.tasks` reads and writes).

A task is a view: a scheduled task owns a schedule whose task is the prompt; a triggered task
owns a webhook trigger and the signed webhook that delivers to it; a delegation owns its one run.
These functions say what to make for a new task (`new_task`, `schedule_for`, `trigger_for`,
`webhook_for`) and what an edit of the task changes in each (`refuse_update`, `owned_changes`),
in the resources' own field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from proactive.clock import iso
from proactive.errors import Conflict, InvalidInput
from proactive.lib.text import escape_unsafe
from proactive.models.notifications import NotifyConfig
from proactive.models.schedules import ScheduleCreate
from proactive.models.tasks import TaskCreate, TriggerConfig
from proactive.models.triggers import TriggerCreate
from proactive.models.webhooks import WebhookCreate


def new_task(
    task_id: str,
    workspace_id: str,
    agent_id: str,
    data: TaskCreate,
    notify: dict[str, Any] | None,
    shown: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """The task's own record, owning nothing yet. Without a name, it is named after its prompt:
    characters a name refuses are shown escaped rather than refusing a prompt that may hold them."""
    return {
        "id": task_id,
        "workspace_id": workspace_id,
        "task_type": data.task_type,
        "name": data.name or escape_unsafe(" ".join(data.prompt.split()))[:80],
        "prompt": data.prompt,
        "agent_id": agent_id,
        "notify": notify,
        "notification_config": shown,
        "schedule_id": None,
        "trigger_id": None,
        "webhook_id": None,
        "run_id": None,
        "created_at": iso(now),
        "updated_at": iso(now),
    }


def _owned_name(task: Mapping[str, Any]) -> str:
    return f"task: {task['name']}"[:200]


def _notify(task: Mapping[str, Any]) -> NotifyConfig | None:
    return NotifyConfig.model_validate(task["notify"]) if task.get("notify") else None


def schedule_for(task: Mapping[str, Any], data: TaskCreate) -> ScheduleCreate:
    """The schedule a scheduled task makes: its cron and zone (UTC by default) run the prompt."""
    return ScheduleCreate(
        name=_owned_name(task),
        workspace_id=task["workspace_id"],
        agent_id=task["agent_id"],
        task_description=task["prompt"],
        cron_expression=data.schedule_expression or "",
        timezone=data.timezone or "UTC",
        notify=_notify(task),
    )


def trigger_for(task: Mapping[str, Any], data: TaskCreate) -> TriggerCreate:
    """The webhook trigger a triggered task makes: the prompt is its template, with the filter."""
    config = data.trigger_config or TriggerConfig()
    return TriggerCreate(
        name=_owned_name(task),
        workspace_id=task["workspace_id"],
        trigger_type="webhook",
        agent_id=task["agent_id"],
        task_template=task["prompt"],
        filter=config.filter,
        notify=_notify(task),
    )


def webhook_for(task: Mapping[str, Any], data: TaskCreate, trigger_id: str) -> WebhookCreate:
    """The signed webhook a triggered task makes, delivering to its trigger."""
    config = data.trigger_config or TriggerConfig()
    return WebhookCreate(
        workspace_id=task["workspace_id"],
        name=_owned_name(task),
        trigger_id=trigger_id,
        signature_scheme=config.signature_scheme,
        rate_limit_per_minute=config.rate_limit_per_minute,
    )


def refuse_update(task: Mapping[str, Any], requested: Mapping[str, Any]) -> None:
    """Refuse an edit the task's type cannot take: a delegation is run once (Conflict); schedule
    fields are for scheduled tasks and `trigger_config` for triggered ones (InvalidInput)."""
    if task["task_type"] == "delegation":
        raise Conflict(
            f"task {task['id']} is a delegation, run once; create a new task to run another prompt"
        )
    if task["task_type"] != "scheduled" and ({"schedule_expression", "timezone"} & set(requested)):
        raise InvalidInput(
            "schedule_expression and timezone are for scheduled tasks", field="schedule_expression"
        )
    if task["task_type"] != "triggered" and "trigger_config" in requested:
        raise InvalidInput("trigger_config is for triggered tasks", field="trigger_config")


@dataclass(frozen=True)
class OwnedChanges:
    """What an edit of a task changes in what it owns, in each resource's field names (empty:
    leave it as it is)."""

    schedule: dict[str, Any] = field(default_factory=dict)
    trigger: dict[str, Any] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)


def owned_changes(
    task: Mapping[str, Any],
    requested: Mapping[str, Any],
    changes: Mapping[str, Any],
    config: TriggerConfig | None,
    webhook_scheme: str | None,
) -> OwnedChanges:
    """Translate an edit into what the task owns: `requested` is the edit as given, `changes` what
    the task itself records (its agent and resolved `notify` pass on to what it owns), `config`
    the new trigger_config, `webhook_scheme` the webhook's current signature scheme. A scheme
    cannot change: senders hold a secret of the current one."""
    common = {k: changes[k] for k in ("agent_id", "notify") if k in changes}
    schedule: dict[str, Any] = {}
    if task.get("schedule_id"):
        schedule = dict(common)
        for ours, theirs in (("prompt", "task_description"), ("schedule_expression", "cron_expression")):
            if ours in requested:
                schedule[theirs] = requested[ours]
        if "timezone" in requested:
            schedule["timezone"] = requested["timezone"]
    trigger: dict[str, Any] = {}
    webhook: dict[str, Any] = {}
    if task.get("trigger_id"):
        trigger = dict(common)
        if "prompt" in requested:
            trigger["task_template"] = requested["prompt"]
        if config is not None:
            trigger["filter"] = config.filter
            if config.signature_scheme != webhook_scheme:
                raise InvalidInput(
                    "trigger_config.signature_scheme cannot change (senders hold a secret of the "
                    "current scheme); create a new task for another scheme",
                    field="trigger_config.signature_scheme",
                )
            webhook = {"rate_limit_per_minute": config.rate_limit_per_minute}
    return OwnedChanges(schedule=schedule, trigger=trigger, webhook=webhook)
