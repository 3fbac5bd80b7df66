"""Tasks through the API: each type makes the matching run, schedule or trigger and webhook, the
seed's request bodies work as written, and editing a task edits what it owns."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from standardwebhooks import Webhook as Signer

from tests.integration.conftest import Handlers, token


@pytest.fixture
def default_agent(client: TestClient) -> str:
    agent = client.post("/api/agents", json={"workspace_id": "ws-1", "name": "helper"}).json()
    assert client.put("/api/workspace/settings", json={"default_agent_id": agent["id"]}).status_code == 200
    return str(agent["id"])


def create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/tasks", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def signed(secret: str, body: bytes, message_id: str = "evt-1") -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Signer(secret).sign(message_id, now, body.decode()),
        "content-type": "application/json",
    }


def test_a_delegation_runs_once_in_the_background_and_emails_when_done(
    client: TestClient, handlers: Handlers, default_agent: str
) -> None:
    boto3.client("ses").verify_email_identity(EmailAddress="notifications@proactive.local")
    task = create(
        client,
        {
            "task_type": "delegation",
            "prompt": "Research the latest trends in AI and write a summary",
            "notification_config": {"channels": ["email"], "email_address": "user@example.com"},
        },
    )
    assert task["status"] == "queued"
    assert task["agent_id"] == default_agent
    assert task["run_id"]
    handlers.drain_until(lambda: client.get(f"/tasks/{task['id']}").json()["status"] == "succeeded")
    shown = client.get(f"/tasks/{task['id']}").json()
    [run] = shown["runs"]
    assert run["id"] == task["run_id"]
    assert run["source_type"] == "task"
    assert "Research the latest trends" in run["output"]
    handlers.drain()
    [mail] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert mail.destinations == {"ToAddresses": ["user@example.com"]}
    assert "succeeded" in mail.subject
    assert task["run_id"] in mail.body
    channels = client.get("/api/notifications/channels").json()["items"]
    assert [(c["type"], c["config"]["to"]) for c in channels] == [("email", ["user@example.com"])]
    # A second task to the same address reuses its channel.
    create(
        client,
        {
            "task_type": "delegation",
            "prompt": "Another one",
            "notification_config": {"channels": ["email"], "email_address": "user@example.com"},
        },
    )
    assert len(client.get("/api/notifications/channels").json()["items"]) == 1
    assert client.post(f"/tasks/{task['id']}/disable").status_code == 409


def test_a_scheduled_task_is_a_schedule_and_editing_the_task_edits_it(
    client: TestClient, default_agent: str
) -> None:
    task = create(
        client,
        {
            "task_type": "scheduled",
            "prompt": "Generate a daily report of system metrics",
            "schedule_expression": "0 9 * * *",
            "notification_config": {
                "channels": ["slack"],
                "slack_webhook_url": "https://hooks.slack.com/services/YOUR/WEBHOOK",
            },
        },
    )
    assert task["status"] == "active"
    assert task["schedule_expression"] == "0 9 * * *"
    assert task["next_run"].endswith("T09:00:00+00:00")
    assert task["notification_config"]["slack_webhook_url"].startswith(
        "https://hooks.slack.com/services/YOUR/"
    )
    assert "WEBHOOK" not in json.dumps(task)
    schedule = client.get(f"/api/proactive/schedules/{task['schedule_id']}").json()
    assert schedule["task_description"] == "Generate a daily report of system metrics"
    assert schedule["cron_expression"] == "0 9 * * *"
    assert schedule["timezone"] == "UTC"
    slack = [c for c in client.get("/api/notifications/channels").json()["items"] if c["type"] == "slack"]
    assert schedule["notify"]["channels"] == [slack[0]["id"]]
    assert schedule["notify"]["on"] == ["success", "failure"]

    patched = client.patch(
        f"/tasks/{task['id']}", json={"schedule_expression": "30 8 * * 1-5", "timezone": "Europe/Paris"}
    )
    assert patched.status_code == 200, patched.text
    schedule = client.get(f"/api/proactive/schedules/{task['schedule_id']}").json()
    assert (schedule["cron_expression"], schedule["timezone"]) == ("30 8 * * 1-5", "Europe/Paris")
    assert patched.json()["next_run"] == schedule["next_run"]
    bad = client.patch(f"/tasks/{task['id']}", json={"schedule_expression": "61 * * * *"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "schedule_expression"
    assert (
        client.get(f"/api/proactive/schedules/{task['schedule_id']}").json()["cron_expression"]
        == "30 8 * * 1-5"
    )

    assert client.post(f"/tasks/{task['id']}/disable").json()["status"] == "disabled"
    assert client.get(f"/api/proactive/schedules/{task['schedule_id']}").json()["is_active"] is False
    assert [t["id"] for t in client.get("/tasks?status=disabled").json()["items"]] == [task["id"]]
    assert client.get("/tasks?status=active").json()["items"] == []
    assert client.post(f"/tasks/{task['id']}/enable").json()["status"] == "active"

    assert client.delete(f"/tasks/{task['id']}").status_code == 204
    assert client.get(f"/tasks/{task['id']}").status_code == 404
    assert client.get(f"/api/proactive/schedules/{task['schedule_id']}").status_code == 404


def test_a_triggered_task_has_a_signed_webhook_and_an_unsigned_call_names_the_headers(
    client: TestClient, handlers: Handlers, default_agent: str
) -> None:
    task = create(
        client,
        {
            "task_type": "triggered",
            "prompt": "Process incoming webhook data and send analysis",
            "trigger_config": {},
            "notification_config": {"channels": ["email"], "email_address": "user@example.com"},
        },
    )
    assert task["webhook_url"].endswith(f"/tasks/webhooks/{task['id']}")
    secret = task["webhook"]["secret"]
    assert secret.startswith("whsec_")
    assert set(task["webhook"]["headers"]) >= {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert client.get(f"/tasks/{task['id']}").json()["webhook"]["secret"] is None  # shown once
    trigger = client.get(f"/api/proactive/triggers/{task['trigger_id']}").json()
    assert trigger["task_template"] == task["prompt"]
    assert trigger["trigger_type"] == "webhook"

    body = json.dumps({"event": "data_received", "data": "..."}).encode()
    public = {k: v for k, v in client.headers.items() if k.lower() != "authorization"}
    unsigned = client.post(
        f"/tasks/webhooks/{task['id']}", content=body, headers={**public, "content-type": "application/json"}
    )
    assert unsigned.status_code == 401
    message = unsigned.json()["message"]
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert header in message
    handlers.drain()
    assert client.get(f"/tasks/{task['id']}").json()["runs"] == []

    accepted = client.post(f"/tasks/webhooks/{task['id']}", content=body, headers=signed(secret, body))
    assert accepted.status_code == 202, accepted.text
    handlers.drain_until(lambda: bool(client.get(f"/tasks/{task['id']}").json()["runs"]))
    handlers.drain_until(
        lambda: client.get(f"/tasks/{task['id']}").json()["runs"][0]["status"] == "succeeded"
    )
    [run] = client.get(f"/tasks/{task['id']}").json()["runs"]
    assert run["source_type"] == "webhook"
    assert client.get(f"/api/runs/{run['id']}").json()["payload"] == {"event": "data_received", "data": "..."}
    log = client.get(f"/api/proactive/webhooks/{task['webhook_id']}/deliveries").json()["items"]
    assert sorted(d["status"] for d in log) == ["accepted", "unauthorized"]

    client.post(f"/tasks/{task['id']}/disable")
    refused = client.post(
        f"/tasks/webhooks/{task['id']}", content=body, headers=signed(secret, body, "evt-2")
    )
    assert refused.status_code == 409
    client.post(f"/tasks/{task['id']}/enable")
    again = client.post(f"/tasks/webhooks/{task['id']}", content=body, headers=signed(secret, body, "evt-3"))
    assert again.status_code == 202

    ran = client.post(f"/tasks/{task['id']}/execute")
    assert ran.status_code == 202
    assert ran.json()["source_type"] == "task"
    handlers.drain_until(lambda: len(client.get(f"/tasks/{task['id']}").json()["runs"]) == 3)
    assert client.delete(f"/tasks/{task['id']}").status_code == 204
    assert client.get(f"/api/proactive/webhooks/{task['webhook_id']}").status_code == 404
    gone = client.post(f"/tasks/webhooks/{task['id']}", content=body, headers=signed(secret, body, "evt-4"))
    assert gone.status_code == 404


def test_lists_filter_by_type_and_page(client: TestClient, default_agent: str) -> None:
    made = [
        create(
            client, {"task_type": "scheduled", "prompt": f"report {i}", "schedule_expression": "0 9 * * *"}
        )
        for i in range(3)
    ]
    create(client, {"task_type": "triggered", "prompt": "on event"})
    scheduled = client.get("/tasks?task_type=scheduled&limit=2").json()
    assert [t["id"] for t in scheduled["items"]] == [made[2]["id"], made[1]["id"]]
    rest = client.get(f"/tasks?task_type=scheduled&limit=2&cursor={scheduled['next_cursor']}").json()
    assert [t["id"] for t in rest["items"]] == [made[0]["id"]]
    assert rest["next_cursor"] is None
    assert len(client.get("/tasks").json()["items"]) == 4
    other = {"Authorization": f"Bearer {token('ws-2')}"}
    assert client.get("/tasks?workspace_id=ws-2", headers=other).json()["items"] == []
    assert client.get(f"/tasks/{made[0]['id']}", headers=other).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task_type": "scheduled", "prompt": "x"}, "schedule_expression"),
        ({"task_type": "scheduled", "prompt": "x", "schedule_expression": "not cron"}, "schedule_expression"),
        (
            {
                "task_type": "scheduled",
                "prompt": "x",
                "schedule_expression": "0 9 * * *",
                "timezone": "Mars/Base",
            },
            "timezone",
        ),
        (
            {"task_type": "delegation", "prompt": "x", "notification_config": {"channels": ["email"]}},
            "notification_config",
        ),
        ({"task_type": "delegation", "prompt": "x", "agent_id": "agent-missing"}, "agent_id"),
        (
            {
                "task_type": "delegation",
                "prompt": "x",
                "notification_config": {
                    "channels": ["slack"],
                    "slack_webhook_url": "https://example.com/hook",
                },
            },
            "notification_config.slack_webhook_url",
        ),
        ({"task_type": "cron", "prompt": "x"}, "task_type"),
    ],
)
def test_bad_tasks_are_refused_naming_the_field_and_make_nothing(
    client: TestClient, default_agent: str, body: dict[str, Any], field: str
) -> None:
    response = client.post("/tasks", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field or field in json.dumps(response.json())
    assert client.get("/tasks").json()["items"] == []
    assert client.get("/api/proactive/schedules").json()["items"] == []
    assert client.get("/api/runs").json()["items"] == []


def test_without_a_default_agent_a_task_names_agent_id(client: TestClient) -> None:
    response = client.post("/tasks", json={"task_type": "delegation", "prompt": "do it"})
    assert response.status_code == 422
    assert response.json()["field"] == "agent_id"
