"""The usage examples people already have for conversations and tasks run against the local stack
as written: only the base URL and an Authorization header are added (after the one set-up step a
workspace needs, naming its default agent)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook as Signer

from tests.localstack import Stack

WORKSPACE = "ws-seed"


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    """The stack's URL, once the workspace has a default agent."""
    with stack.client(WORKSPACE) as client:
        agent = client.post("/api/agents", json={"workspace_id": WORKSPACE, "name": "assistant"}).json()
        settings = client.put("/api/workspace/settings", json={"default_agent_id": agent["id"]})
        assert settings.status_code == 200, settings.text
    return stack.base_url


@pytest.fixture(scope="module")
def auth(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.token(WORKSPACE)}"}


def wait_for(check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def test_chatbot(base: str, auth: dict[str, str]) -> None:
    # Create a conversation
    response = httpx.post(
        f"{base}/conversations", json={"pattern_type": "chatbot", "context_data": {}}, headers=auth
    )
    conversation = response.json()
    conversation_id = conversation["id"]

    # Send a message
    response = httpx.post(
        f"{base}/conversations/{conversation_id}/messages",
        json={"message": "What is the capital of France?", "stream": False},
        headers=auth,
    )
    print(response.json())

    assert response.status_code == 200
    answer = response.json()
    assert answer["role"] == "assistant"
    assert "What is the capital of France?" in answer["content"]  # the builtin agent echoes its task
    run = httpx.get(f"{base}/api/runs/{answer['run_id']}", headers=auth).json()
    assert (run["source_type"], run["source_id"], run["status"]) == (
        "conversation",
        conversation_id,
        "succeeded",
    )

    # The same turn, streamed through the stack's server.
    events = []
    with httpx.stream(
        "POST",
        f"{base}/conversations/{conversation_id}/messages",
        json={"message": "And of Italy?", "stream": True},
        headers=auth,
        timeout=30,
    ) as streamed:
        assert streamed.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in streamed.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, json.loads(line.removeprefix("data: "))))
    assert [k for k, _ in events] == ["delta", "message"]
    assert events[1][1]["content"] == events[0][1]["text"]
    listed = httpx.get(f"{base}/conversations/{conversation_id}/messages", headers=auth).json()["items"]
    assert [m["role"] for m in listed] == ["user", "assistant", "user", "assistant"]


def test_delegation(base: str, auth: dict[str, str]) -> None:
    # Create a delegated task
    response = httpx.post(
        f"{base}/tasks",
        json={
            "task_type": "delegation",
            "prompt": "Research the latest trends in AI and write a summary",
            "notification_config": {"channels": ["email"], "email_address": "user@example.com"},
        },
        headers=auth,
    )
    task = response.json()
    print(f"Task created: {task['id']}")

    # Check task status
    response = httpx.get(f"{base}/tasks/{task['id']}", headers=auth)
    print(response.json())

    assert response.status_code == 200
    done = wait_for(
        lambda: (
            (t := httpx.get(f"{base}/tasks/{task['id']}", headers=auth).json())["status"] == "succeeded" and t
        )
    )
    assert done["runs"][0]["id"] == task["run_id"]


def test_scheduled(base: str, auth: dict[str, str]) -> None:
    now = datetime.now(UTC)
    if (now.hour == 8 and now.minute >= 58) or (now.hour == 9 and now.minute < 1):
        time.sleep(180)  # never let the example's 09:00 occurrence fire towards Slack from a test

    # Create a scheduled task (daily at 9 AM)
    response = httpx.post(
        f"{base}/tasks",
        json={
            "task_type": "scheduled",
            "prompt": "Generate a daily report of system metrics",
            "schedule_expression": "0 9 * * *",  # Cron: every day at 9 AM
            "notification_config": {
                "channels": ["slack"],
                "slack_webhook_url": "https://hooks.slack.com/services/YOUR/WEBHOOK",
            },
        },
        headers=auth,
    )
    task = response.json()
    print(f"Scheduled task created: {task['id']}")

    try:
        assert response.status_code == 201, response.text
        assert task["next_run"].endswith("T09:00:00+00:00")
        schedule = httpx.get(f"{base}/api/proactive/schedules/{task['schedule_id']}", headers=auth).json()
        assert schedule["cron_expression"] == "0 9 * * *"
    finally:
        httpx.delete(f"{base}/tasks/{task['id']}", headers=auth)


def test_event_triggered(base: str, auth: dict[str, str]) -> None:
    # Create a triggered task
    response = httpx.post(
        f"{base}/tasks",
        json={
            "task_type": "triggered",
            "prompt": "Process incoming webhook data and send analysis",
            "trigger_config": {},
            "notification_config": {"channels": ["email"], "email_address": "user@example.com"},
        },
        headers=auth,
    )
    task = response.json()
    task_id = task["id"]

    # Webhook endpoint will be: http://localhost:8000/tasks/webhooks/{task_id}
    print(f"Webhook URL: {base}/tasks/webhooks/{task_id}")

    # Trigger the task via webhook
    response = httpx.post(f"{base}/tasks/webhooks/{task_id}", json={"event": "data_received", "data": "..."})

    # Unsigned, as in the example: refused, saying what to send; nothing runs.
    assert response.status_code == 401
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert header in response.json()["message"]
    assert task["webhook_url"] == f"{base}/tasks/webhooks/{task_id}"

    body = json.dumps({"event": "data_received", "data": "..."})
    sent = datetime.now(UTC)
    headers = {
        "webhook-id": "evt-1",
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Signer(task["webhook"]["secret"]).sign("evt-1", sent, body),
        "content-type": "application/json",
    }
    signed = httpx.post(task["webhook_url"], content=body, headers=headers)
    assert signed.status_code == 202, signed.text
    runs = wait_for(lambda: httpx.get(f"{base}/tasks/{task_id}", headers=auth).json()["runs"])
    assert runs[0]["source_type"] == "webhook"
