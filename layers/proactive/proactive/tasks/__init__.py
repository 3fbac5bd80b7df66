"""Tasks: the `/tasks` view over the platform's own resources, not a second scheduler.

- delegation: one background run of the prompt (`run_id`);
- scheduled: a schedule (`schedule_id`) whose task is the prompt;
- triggered: a webhook trigger (`trigger_id`) and its signed webhook (`webhook_id`), reached at
  `/tasks/webhooks/<task id>` as well as at its `/api/hooks/` URL.

Editing, disabling or deleting a task does the same to what it owns; `POST /tasks/{id}/execute`
runs the prompt now. Errors name the task's fields (`schedule_expression`, `prompt`), not those
of the resources underneath.

Where its pieces are: what a task makes and changes in what it owns is translated in
`proactive.tasks.owned`; what the API accepts and shows is in `proactive.models.tasks`; tasks in
the table are `proactive.store.tasks` (`store.tasks`); the routes (`/tasks`, and a triggered
task's webhook at `/tasks/webhooks/<task id>`) are in `proactive.api.routes_tasks`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from proactive import conversations, schedules, triggers
from proactive.auth import Principal
from proactive.clock import iso, parse_iso
from proactive.errors import Conflict, InvalidInput
from proactive.events import Bus
from proactive.ids import new_id
from proactive.lib.signatures import HOW_TO_SIGN
from proactive.models.runs import RunRecord, SourceType
from proactive.models.schedules import ScheduleUpdate
from proactive.models.tasks import TaskCreate, TaskUpdate
from proactive.models.triggers import TriggerUpdate
from proactive.models.webhooks import WebhookUpdate
from proactive.notifications import shorthands
from proactive.queue import RunQueue
from proactive.runs.records import enqueue_new, new_run
from proactive.store import Store
from proactive.store import keys as store_keys
from proactive.store.entities import modify
from proactive.tasks import owned
from proactive.webhooks import crud as webhooks

T = TypeVar("T")
RECENT_RUNS = 10
# What a task's fields are called in the resources underneath.
_FIELDS = {
    "cron_expression": "schedule_expression",
    "task_description": "prompt",
    "task_template": "prompt",
    "filter": "trigger_config.filter",
    "notify.channels": "notification_config",
}


def _named(call: Callable[[], T]) -> T:
    """Run `call`, naming the task's field in an InvalidInput about a resource's field."""
    try:
        return call()
    except InvalidInput as exc:
        field = _FIELDS.get(exc.field or "", exc.field)
        message = exc.message
        if exc.field and field != exc.field and exc.field in message:
            message = message.replace(exc.field, field or "", 1)
        raise InvalidInput(message, field=field) from None


def task_url(base_url: str, task_id: str) -> str:
    return f"{base_url.rstrip('/')}/tasks/webhooks/{task_id}"


def create(
    store: Store, queue: RunQueue, bus: Bus, data: TaskCreate, principal: Principal, now: datetime
) -> dict[str, Any]:
    """Make the task and what it owns; a triggered task's item carries its webhook's secret, to
    be shown this once."""
    workspace = data.workspace_id or principal.only_workspace()
    principal.require(workspace)
    agent_id = conversations.default_agent(store, workspace, data.agent_id)
    if data.task_type == "scheduled":  # checked before anything is made for the task
        _named(lambda: schedules.timing(data.schedule_expression or "", data.timezone or "UTC"))
    notify, shown = shorthands.resolve(
        store, workspace, data.notification_config, now, field="notification_config"
    )
    task = owned.new_task(new_id("task"), workspace, agent_id, data, notify, shown, now)
    secret = None
    if data.task_type == "scheduled":
        schedule = _named(
            lambda: schedules.create_schedule(store, queue, bus, owned.schedule_for(task, data), now)
        )
        task["schedule_id"] = schedule.id
    elif data.task_type == "triggered":
        trigger = _named(lambda: triggers.create_trigger(store, owned.trigger_for(task, data), now))
        webhook = webhooks.create_webhook(
            store, owned.webhook_for(task, data, trigger["id"]), now, url_path=task["id"]
        )
        task.update(trigger_id=trigger["id"], webhook_id=webhook.id)
        secret = webhook.secret
    store.tasks.put(task)
    if data.task_type == "delegation":
        task = store.tasks.update(task["id"], {"run_id": _run(store, queue, bus, task, now).id})
    return {**task, "secret": secret} if secret else task


def _run(store: Store, queue: RunQueue, bus: Bus, task: Mapping[str, Any], now: datetime) -> RunRecord:
    conversations.default_agent(store, task["workspace_id"], task["agent_id"])
    run = new_run(
        workspace_id=task["workspace_id"],
        agent_id=task["agent_id"],
        task=task["prompt"],
        source_type=SourceType.TASK,
        source_id=task["id"],
        now=now,
        source_name=task["name"],
        source_notify=task.get("notify"),
    )
    return enqueue_new(store, queue, bus, run, now)


def get(store: Store, task_id: str, workspaces: frozenset[str]) -> dict[str, Any]:
    return store.tasks.owned(task_id, workspaces)


def _owned(store: Store, task: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What the task owns: {"schedule": ..., "trigger": ..., "webhook": ..., "run": ...}."""
    return _owned_many(store, [task])[task["id"]]


def present(
    store: Store,
    task: Mapping[str, Any],
    base_url: str,
    *,
    owned: Mapping[str, Mapping[str, Any]] | None = None,
    with_runs: bool = False,
) -> dict[str, Any]:
    """The task as the API shows it: its status and what it owns, never a secret."""
    owned = _owned(store, task) if owned is None else owned
    shown = {k: v for k, v in task.items() if k not in ("secret", "notify")}
    if task["task_type"] == "delegation":
        run = owned.get("run")
        shown["status"] = run["status"] if run else "missing"
    elif task["task_type"] == "scheduled":
        schedule = owned.get("schedule")
        if schedule:
            view = schedules.present(store.schedules.read(schedule))
            shown.update(
                status="active" if view.is_active else "disabled",
                schedule_expression=view.cron_expression,
                timezone=view.timezone,
                next_run=view.next_run,
            )
        else:
            shown["status"] = "missing"
    else:
        trigger, webhook = owned.get("trigger"), owned.get("webhook")
        active = bool(trigger and webhook and trigger.get("is_active") and webhook.get("is_active"))
        shown["status"] = "active" if active else ("disabled" if trigger and webhook else "missing")
        if webhook:
            shown["webhook_url"] = task_url(base_url, task["id"])
            shown["webhook"] = {
                "url": shown["webhook_url"],
                "signature_scheme": webhook["signature_scheme"],
                "headers": headers_for(webhook["signature_scheme"]),
                "secret": task.get("secret"),
            }
    if with_runs:
        shown["runs"] = recent_runs(store, task)
    return shown


def headers_for(scheme: str) -> dict[str, str]:
    return {"content-type": "application/json", **HOW_TO_SIGN[scheme]}


def recent_runs(store: Store, task: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The task's latest runs, newest first: run now or delegated (source `task`), and those its
    schedule or webhook started."""
    sources = [("task", task["id"])]
    if task.get("schedule_id"):
        sources.append(("schedule", task["schedule_id"]))
    if task.get("webhook_id"):
        sources.append(("webhook", task["webhook_id"]))
    found: list[RunRecord] = []
    for source_type, source_id in sources:
        items, _ = store.runs.list_runs(
            task["workspace_id"],
            status=None,
            source_type=source_type,
            source_id=source_id,
            limit=RECENT_RUNS,
            cursor=None,
        )
        found.extend(items)
    found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    fields = ("id", "status", "source_type", "created_at", "finished_at", "output", "error", "usage")
    return [{k: stored.get(k) for k in fields} for stored in (r.as_stored() for r in found[:RECENT_RUNS])]


def page(
    store: Store,
    workspace_id: str,
    base_url: str,
    *,
    task_type: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Tasks newest first, narrowed by type and status (a status is read from what each task
    owns, so it is always current)."""
    after = _decode(cursor)
    tasks = sorted(store.tasks.all_in(workspace_id), key=lambda t: (t["created_at"], t["id"]), reverse=True)
    tasks = [t for t in tasks if (task_type is None or t["task_type"] == task_type)]
    if after is not None:
        tasks = [t for t in tasks if (t["created_at"], t["id"]) < after]
    shown: list[dict[str, Any]] = []
    for offset in range(0, len(tasks), 100):
        batch = tasks[offset : offset + 100]
        owned = _owned_many(store, batch)
        for task in batch:
            view = present(store, task, base_url, owned=owned[task["id"]])
            if status is None or view["status"] == status:
                shown.append(view)
            if len(shown) > limit:
                break
        if len(shown) > limit:
            break
    more = len(shown) > limit
    shown = shown[:limit]
    return shown, _encode(shown[-1]) if more and shown else None


def _owned_many(store: Store, tasks: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """What each task owns, read in one batch per hundred items."""
    wanted = [
        (task["id"], kind, task[f"{kind}_id"])
        for task in tasks
        for kind in ("schedule", "trigger", "webhook", "run")
        if task.get(f"{kind}_id")
    ]
    found = store.table.batch_get([store_keys.entity(kind, item_id) for _, kind, item_id in wanted])
    by_key = {(item["kind"], item["id"]): item for item in found}
    owned: dict[str, dict[str, dict[str, Any]]] = {task["id"]: {} for task in tasks}
    for task_id, kind, item_id in wanted:
        if (kind, item_id) in by_key:
            owned[task_id][kind] = by_key[(kind, item_id)]
    return owned


def _encode(task: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(f"{task['created_at']}#{task['id']}".encode()).decode()


def _decode(cursor: str | None) -> tuple[str, str] | None:
    if not cursor:
        return None
    refused = InvalidInput("cursor is not one this API returned", field="cursor")
    try:
        created_at, _, task_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("#")
        parse_iso(created_at)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise refused from None
    if not task_id.startswith("task-"):
        raise refused
    return created_at, task_id


def execute(
    store: Store, queue: RunQueue, bus: Bus, task_id: str, workspaces: frozenset[str], now: datetime
) -> RunRecord:
    """Run the task's prompt now, whatever its type."""
    return _run(store, queue, bus, get(store, task_id, workspaces), now)


def set_active(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    task_id: str,
    active: bool,
    workspaces: frozenset[str],
    now: datetime,
) -> dict[str, Any]:
    """Disable (or enable) what the task owns: its schedule stops firing, its webhook refuses
    deliveries (409) and its trigger does not fire."""
    task = get(store, task_id, workspaces)
    if task["task_type"] == "delegation":
        raise Conflict(
            f"task {task_id} is a delegation, run once; to stop its run use "
            f"POST /api/runs/{task.get('run_id')}/cancel"
        )
    if task.get("schedule_id"):
        schedules.set_active(store, queue, bus, task["schedule_id"], active, workspaces, now)
    if task.get("trigger_id"):
        triggers.update_trigger(store, task["trigger_id"], TriggerUpdate(is_active=active), workspaces, now)
    if task.get("webhook_id"):
        webhooks.update_webhook(store, task["webhook_id"], WebhookUpdate(is_active=active), workspaces, now)
    return store.tasks.update(task_id, {"updated_at": iso(now)})


def update(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    task_id: str,
    data: TaskUpdate,
    workspaces: frozenset[str],
    now: datetime,
) -> dict[str, Any]:
    """Edit the task and, with it, what it owns."""
    task = get(store, task_id, workspaces)
    requested = data.model_dump(exclude_unset=True)
    owned.refuse_update(task, requested)
    if "agent_id" in requested:
        conversations.default_agent(store, task["workspace_id"], data.agent_id)
    changes: dict[str, Any] = {k: requested[k] for k in ("name", "prompt", "agent_id") if k in requested}
    if "notification_config" in requested:
        notify, shown = shorthands.resolve(
            store, task["workspace_id"], data.notification_config, now, field="notification_config"
        )
        changes.update(notify=notify, notification_config=shown)
    config = data.trigger_config
    scheme = None
    if task.get("trigger_id") and config is not None:
        webhook = store.webhooks.get(task["webhook_id"])
        scheme = webhook.signature_scheme if webhook else None
    _change_owned(
        store,
        queue,
        bus,
        task,
        owned.owned_changes(task, requested, changes, config, scheme),
        workspaces,
        now,
    )

    def write(current: dict[str, Any]) -> dict[str, Any]:
        return store.tasks.update(
            task_id, {**changes, "updated_at": iso(now)}, expect_version=int(current.get("version") or 0)
        )

    return modify(lambda: get(store, task_id, workspaces), write, what=f"task {task_id!r}")


def _change_owned(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    task: Mapping[str, Any],
    plan: owned.OwnedChanges,
    workspaces: frozenset[str],
    now: datetime,
) -> None:
    """Apply an edit's changes to what the task owns, naming the task's fields in any error."""
    if plan.schedule:
        _named(
            lambda: schedules.update_schedule(
                store,
                queue,
                bus,
                task["schedule_id"],
                ScheduleUpdate.model_validate(plan.schedule),
                workspaces,
                now,
            )
        )
    if plan.trigger:
        _named(
            lambda: triggers.update_trigger(
                store, task["trigger_id"], TriggerUpdate.model_validate(plan.trigger), workspaces, now
            )
        )
    if plan.webhook:
        webhooks.update_webhook(
            store, task["webhook_id"], WebhookUpdate.model_validate(plan.webhook), workspaces, now
        )


def delete(store: Store, task_id: str, workspaces: frozenset[str]) -> None:
    """The task and what it owns (a delegation's run stays in run history)."""
    task = get(store, task_id, workspaces)
    if task.get("webhook_id"):
        store.webhooks.delete(task["webhook_id"])
    if task.get("trigger_id"):
        store.triggers.delete(task["trigger_id"])
    if task.get("schedule_id"):
        store.schedules.delete(task["schedule_id"])
    store.tasks.delete(task_id)
