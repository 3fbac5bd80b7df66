"""API input that once gave a 500, and deleting what others use: each answered with a clear 4xx
naming the field, or with force, the users paused or unset with the reason."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from proactive.settings import Settings, SettingsError
from tests.integration.hardening import agent

# Bad input that once gave 500


@pytest.mark.parametrize("zone", ["America", "Europe", "Etc", "x" * 300, "../../etc/passwd", "America/"])
def test_a_zone_that_is_a_folder_or_too_long_is_a_422_naming_timezone(client: TestClient, zone: str) -> None:
    resp = client.post(
        "/api/proactive/schedules",
        json={
            "name": "s",
            "workspace_id": "ws-1",
            "agent_id": agent(client),
            "task_description": "t",
            "cron_expression": "* * * * *",
            "timezone": zone,
        },
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["field"] == "timezone"


@pytest.mark.parametrize(
    "cursor",
    [
        base64.urlsafe_b64encode(b'{"a": "b"}').decode(),
        base64.urlsafe_b64encode(b'{"PK": "AGENT#x"}').decode(),
        base64.urlsafe_b64encode(
            json.dumps({"PK": "a", "SK": "b", "GSI1PK": "WS#ws-2#AGENT", "GSI1SK": "c"}).encode()
        ).decode(),
        "!!!",
    ],
)
def test_a_hand_made_cursor_is_a_422(client: TestClient, cursor: str) -> None:
    # Every list the API has (those under an item are read the same way)
    lists = [
        path
        for path, operations in client.get("/openapi.json").json()["paths"].items()
        if "{" not in path
        and any(p["name"] == "cursor" for p in operations.get("get", {}).get("parameters", []))
    ]
    assert len(lists) >= 12
    for path in lists:
        resp = client.get(path, params={"cursor": cursor})
        assert resp.status_code == 422, (path, resp.text)
        assert resp.json()["message"] == "cursor is not one this API returned", path
        assert resp.json()["field"] == "cursor", path


def test_invalid_settings_fail_at_start_up_naming_each_variable() -> None:
    env = {
        "TABLE_NAME": "tbl",
        "RUN_QUEUE_URL": "q",
        "OUTBOUND_ALLOW_NETWORKS": "banana",
        "TICK_SECONDS": "1",
    }
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert "OUTBOUND_ALLOW_NETWORKS='banana'" in str(err.value)
    assert "TICK_SECONDS='1': must be at least 10" in str(err.value)


# Deleting what others use


def test_deleting_an_agent_in_use_is_409_naming_users_and_force_pauses_them(client: TestClient) -> None:
    # Given an agent used by a schedule, a trigger and a monitor
    used = agent(client, "used")
    sched = client.post(
        "/api/proactive/schedules",
        json={
            "name": "daily",
            "workspace_id": "ws-1",
            "agent_id": used,
            "task_description": "t",
            "cron_expression": "0 9 * * *",
        },
    ).json()
    trig = client.post(
        "/api/proactive/triggers",
        json={
            "name": "on run",
            "workspace_id": "ws-1",
            "trigger_type": "event",
            "agent_id": used,
            "config": {"event": "run.failed"},
            "task_template": "look at {run_id}",
        },
    ).json()
    mon = client.post(
        "/api/proactive/monitors",
        json={
            "name": "m",
            "agent_id": used,
            "workspace_id": "ws-1",
            "source": {"type": "metric"},
            "condition": "value > 1",
            "action": "look",
        },
    ).json()

    # When it is deleted, the answer is 409 naming each of them, and nothing changed
    resp = client.delete(f"/api/agents/{used}")
    assert resp.status_code == 409
    for item in (sched, trig, mon):
        assert item["id"] in resp.json()["message"]
    assert client.get(f"/api/agents/{used}").status_code == 200

    # And with force, it is gone and each user is paused with the reason
    assert client.delete(f"/api/agents/{used}", params={"force": "true"}).status_code == 204
    assert client.get(f"/api/agents/{used}").status_code == 404
    for path in (
        f"/api/proactive/schedules/{sched['id']}",
        f"/api/proactive/triggers/{trig['id']}",
        f"/api/proactive/monitors/{mon['id']}",
    ):
        shown = client.get(path).json()
        assert shown["is_active"] is False
        assert f"its agent {used}" in shown["paused_reason"]
    assert client.get(f"/api/proactive/schedules/{sched['id']}").json()["next_run"] is None
    # Resuming is refused while its agent is gone; resuming with another agent clears the reason
    assert client.post(f"/api/proactive/monitors/{mon['id']}/resume").status_code == 422
    other = agent(client, "successor")
    resumed = client.patch(
        f"/api/proactive/monitors/{mon['id']}", json={"agent_id": other, "is_active": True}
    ).json()
    assert (resumed["is_active"], resumed["paused_reason"]) == (True, None)


def test_deleting_the_agent_of_autonomous_mode_or_the_default_agent_is_409_and_force_unsets_them(
    client: TestClient,
) -> None:
    used = agent(client, "executor")
    assert client.put("/api/workspace/settings", json={"default_agent_id": used}).status_code == 200
    assert client.put("/api/autonomous/config", json={"enabled": True, "agent_id": used}).status_code == 200

    resp = client.delete(f"/api/agents/{used}")
    assert resp.status_code == 409
    assert {d["field"] for d in resp.json()["details"]} == {"autonomy", "workspace_settings"}
    assert "autonomous mode" in resp.json()["message"]

    assert client.delete(f"/api/agents/{used}", params={"force": "true"}).status_code == 204
    config = client.get("/api/autonomous/config").json()
    assert (config["enabled"], config["agent_id"], config["next_execution"]) == (False, None, None)
    assert client.get("/api/workspace/settings").json()["default_agent_id"] is None


def test_an_event_trigger_may_not_name_another_workspaces_source(client: TestClient) -> None:
    other = {"Authorization": client.headers["Authorization"]}
    from tests.integration.conftest import token

    other["Authorization"] = f"Bearer {token('ws-2')}"
    theirs = client.post("/api/agents", json={"workspace_id": "ws-2", "name": "x"}, headers=other).json()
    their_schedule = client.post(
        "/api/proactive/schedules",
        json={
            "name": "s",
            "workspace_id": "ws-2",
            "agent_id": theirs["id"],
            "task_description": "t",
            "cron_expression": "0 9 * * *",
        },
        headers=other,
    ).json()
    resp = client.post(
        "/api/proactive/triggers",
        json={
            "name": "spy",
            "workspace_id": "ws-1",
            "trigger_type": "event",
            "agent_id": agent(client),
            "config": {"event": "run.finished", "source_id": their_schedule["id"]},
            "task_template": "x",
        },
    )
    assert resp.status_code == 422
    assert resp.json()["field"] == "config.source_id"
