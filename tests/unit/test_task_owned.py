"""A task translated into what it owns: the schedule, trigger and webhook a new task makes, and
what an edit of the task changes in each, on values alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from proactive.clock import iso
from proactive.errors import Conflict, InvalidInput
from proactive.models.tasks import TaskCreate, TriggerConfig
from proactive.tasks import owned

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
NOTIFY = {"channels": ["chan-1"], "on": ["failure"]}


def new(data: TaskCreate, notify: dict[str, Any] | None = None) -> dict[str, Any]:
    return owned.new_task("task-1", "ws-1", "agent-1", data, notify, None, NOW)


def test_a_new_task_owns_nothing_yet_and_is_named_after_its_prompt() -> None:
    data = TaskCreate(task_type="delegation", prompt="  Summarise\n the   news  ")
    assert new(data) == {
        "id": "task-1",
        "workspace_id": "ws-1",
        "task_type": "delegation",
        "name": "Summarise the news",
        "prompt": data.prompt,
        "agent_id": "agent-1",
        "notify": None,
        "notification_config": None,
        "schedule_id": None,
        "trigger_id": None,
        "webhook_id": None,
        "run_id": None,
        "created_at": iso(NOW),
        "updated_at": iso(NOW),
    }
    assert new(TaskCreate(task_type="delegation", prompt="x " * 100))["name"] == "x " * 40
    assert new(TaskCreate(task_type="delegation", prompt="p", name="Mine"))["name"] == "Mine"


def test_a_scheduled_task_makes_a_schedule_running_its_prompt() -> None:
    data = TaskCreate(task_type="scheduled", prompt="Report", schedule_expression="0 9 * * *")
    schedule = owned.schedule_for(new(data, NOTIFY), data)
    assert schedule.name == "task: Report"
    assert (schedule.workspace_id, schedule.agent_id) == ("ws-1", "agent-1")
    assert schedule.task_description == "Report"
    assert (schedule.cron_expression, schedule.timezone) == ("0 9 * * *", "UTC")
    assert schedule.notify is not None
    assert schedule.notify.channels == ["chan-1"]
    zoned = TaskCreate(
        task_type="scheduled", prompt="Report", schedule_expression="0 9 * * *", timezone="Europe/Paris"
    )
    assert owned.schedule_for(new(zoned), zoned).timezone == "Europe/Paris"
    assert owned.schedule_for(new(zoned), zoned).notify is None


def test_a_triggered_task_makes_a_webhook_trigger_and_its_webhook() -> None:
    config = TriggerConfig(filter="action == 'opened'", signature_scheme="github", rate_limit_per_minute=5)
    data = TaskCreate(task_type="triggered", prompt="Review {number}", trigger_config=config, name="n" * 200)
    task = new(data)
    trigger = owned.trigger_for(task, data)
    assert trigger.trigger_type == "webhook"
    assert trigger.task_template == "Review {number}"
    assert trigger.filter == "action == 'opened'"
    assert trigger.name == ("task: " + "n" * 200)[:200]
    webhook = owned.webhook_for(task, data, "trg-9")
    assert webhook.trigger_id == "trg-9"
    assert (webhook.signature_scheme, webhook.rate_limit_per_minute) == ("github", 5)
    assert webhook.workspace_id == "ws-1"


def test_a_triggered_task_without_trigger_config_takes_its_defaults() -> None:
    data = TaskCreate(task_type="triggered", prompt="Go")
    assert owned.trigger_for(new(data), data).filter is None
    webhook = owned.webhook_for(new(data), data, "trg-1")
    assert (webhook.signature_scheme, webhook.rate_limit_per_minute) == ("standard", 60)


def task(kind: str) -> dict[str, Any]:
    ids = {
        "scheduled": {"schedule_id": "sched-1"},
        "triggered": {"trigger_id": "trg-1", "webhook_id": "webhook-1"},
        "delegation": {"run_id": "run-1"},
    }[kind]
    return {"id": "task-1", "task_type": kind, **ids}


def test_edits_a_task_type_cannot_take_are_refused() -> None:
    with pytest.raises(Conflict):
        owned.refuse_update(task("delegation"), {"prompt": "again"})
    with pytest.raises(InvalidInput) as schedule_fields:
        owned.refuse_update(task("triggered"), {"timezone": "UTC"})
    assert schedule_fields.value.field == "schedule_expression"
    with pytest.raises(InvalidInput) as trigger_config:
        owned.refuse_update(task("scheduled"), {"trigger_config": {}})
    assert trigger_config.value.field == "trigger_config"
    owned.refuse_update(task("scheduled"), {"schedule_expression": "0 * * * *", "prompt": "p"})
    owned.refuse_update(task("triggered"), {"trigger_config": {}, "prompt": "p"})


def test_an_edit_of_a_scheduled_task_changes_its_schedule_in_the_schedule_s_fields() -> None:
    requested = {"prompt": "New", "schedule_expression": "0 8 * * *", "timezone": "UTC", "name": "n"}
    changes = {"prompt": "New", "name": "n", "agent_id": "agent-2", "notify": None}
    plan = owned.owned_changes(task("scheduled"), requested, changes, None, None)
    assert plan.schedule == {
        "agent_id": "agent-2",
        "notify": None,
        "task_description": "New",
        "cron_expression": "0 8 * * *",
        "timezone": "UTC",
    }
    assert (plan.trigger, plan.webhook) == ({}, {})


def test_a_name_only_edit_changes_nothing_the_task_owns() -> None:
    plan = owned.owned_changes(task("scheduled"), {"name": "n"}, {"name": "n"}, None, None)
    assert (plan.schedule, plan.trigger, plan.webhook) == ({}, {}, {})


def test_an_edit_of_a_triggered_task_changes_its_trigger_and_webhook() -> None:
    config = TriggerConfig(filter="ok", signature_scheme="github", rate_limit_per_minute=7)
    plan = owned.owned_changes(
        task("triggered"), {"prompt": "P", "trigger_config": {}}, {"prompt": "P"}, config, "github"
    )
    assert plan.trigger == {"task_template": "P", "filter": "ok"}
    assert plan.webhook == {"rate_limit_per_minute": 7}
    assert plan.schedule == {}
    untouched = owned.owned_changes(task("triggered"), {"prompt": "P"}, {"prompt": "P"}, None, None)
    assert untouched.webhook == {}


def test_a_triggered_task_s_signature_scheme_cannot_change() -> None:
    config = TriggerConfig(signature_scheme="hmac-sha256")
    with pytest.raises(InvalidInput) as refused:
        owned.owned_changes(task("triggered"), {"trigger_config": {}}, {}, config, "standard")
    assert refused.value.field == "trigger_config.signature_scheme"
