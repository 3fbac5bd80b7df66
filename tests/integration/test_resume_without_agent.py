"""What was paused because its agent was deleted cannot be turned back on while the agent is
gone: resuming, enabling or `is_active: true` answer 422 saying so; given another agent, it
resumes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def made(resp: Any) -> dict[str, Any]:
    assert resp.status_code in (200, 201, 202), resp.text
    return dict(resp.json())


def agent(client: TestClient, name: str) -> str:
    return str(made(client.post("/api/agents", json={"workspace_id": "ws-1", "name": name}))["id"])


def refused(resp: Any, what: str, agent_id: str) -> None:
    assert resp.status_code == 422, resp.text
    answer = resp.json()
    assert (answer["error"], answer["field"]) == ("validation_error", "agent_id")
    assert f"{what} " in answer["message"]
    assert f"cannot be resumed: its agent {agent_id} no longer exists" in answer["message"]


def test_a_schedule_paused_by_its_agents_deletion_is_not_resumed_until_it_has_an_agent(
    client: TestClient,
) -> None:
    gone = agent(client, "old")
    body = {
        "name": "nightly",
        "workspace_id": "ws-1",
        "agent_id": gone,
        "task_description": "t",
        "cron_expression": "* * * * *",
    }
    schedule = made(client.post("/api/proactive/schedules", json=body))
    path = f"/api/proactive/schedules/{schedule['id']}"
    assert client.delete(f"/api/agents/{gone}?force=true").status_code == 204
    assert client.get(path).json()["is_active"] is False

    refused(client.post(f"{path}/resume"), "schedule", gone)
    refused(client.patch(path, json={"is_active": True}), "schedule", gone)
    paused = client.get(path).json()
    assert (paused["is_active"], paused["next_run"]) == (False, None)
    assert "was deleted" in paused["paused_reason"]

    # Given another agent (in the same change), it resumes
    fresh = agent(client, "new")
    resumed = made(client.patch(path, json={"agent_id": fresh, "is_active": True}))
    assert (resumed["is_active"], resumed["agent_id"], resumed["paused_reason"]) == (True, fresh, None)
    assert resumed["next_run"] is not None


def test_a_scheduled_tasks_enable_and_a_trigger_and_a_monitor_are_refused_too(client: TestClient) -> None:
    gone = agent(client, "old")
    task = made(
        client.post(
            "/tasks",
            json={
                "task_type": "scheduled",
                "prompt": "p",
                "schedule_expression": "0 4 * * *",
                "agent_id": gone,
            },
        )
    )
    trigger = made(
        client.post(
            "/api/proactive/triggers",
            json={
                "name": "by hand",
                "workspace_id": "ws-1",
                "trigger_type": "manual",
                "agent_id": gone,
                "task_template": "t",
            },
        )
    )
    monitor = made(
        client.post(
            "/api/proactive/monitors",
            json={
                "name": "m",
                "workspace_id": "ws-1",
                "agent_id": gone,
                "source": {"type": "metric"},
                "condition": "value > 1",
                "action": "look",
                "check_interval": 60,
            },
        )
    )
    assert client.delete(f"/api/agents/{gone}?force=true").status_code == 204

    refused(client.post(f"/tasks/{task['id']}/enable"), "schedule", gone)
    refused(
        client.patch(f"/api/proactive/triggers/{trigger['id']}", json={"is_active": True}), "trigger", gone
    )
    refused(client.post(f"/api/proactive/monitors/{monitor['id']}/resume"), "monitor", gone)
    assert client.get(f"/api/proactive/triggers/{trigger['id']}").json()["is_active"] is False
    assert client.get(f"/api/proactive/monitors/{monitor['id']}").json()["is_active"] is False
