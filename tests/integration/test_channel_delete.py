"""Deleting a notification channel that others still name: 409 naming them; with `?force=true`,
the channel is taken out of each of them, each saying why, so nothing is left naming it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def made(resp: Any) -> dict[str, Any]:
    assert resp.status_code in (200, 201), resp.text
    return dict(resp.json())


def channel(client: TestClient, name: str) -> str:
    body = {
        "workspace_id": "ws-1",
        "name": name,
        "type": "webhook",
        "config": {"url": "http://127.0.0.1:9/h"},
    }
    return str(made(client.post("/api/notifications/channels", json=body))["id"])


def users_of(client: TestClient, ops: str, other: str) -> dict[str, str]:
    """One of everything that can name a channel, each naming `ops` (and `other`, to keep)."""
    notify = {"channels": [ops, other], "on": ["failure"]}
    agent = made(client.post("/api/agents", json={"workspace_id": "ws-1", "name": "a", "notify": notify}))
    made(client.put("/api/workspace/settings", json={"default_agent_id": agent["id"]}))
    schedule = made(
        client.post(
            "/api/proactive/schedules",
            json={
                "name": "nightly",
                "workspace_id": "ws-1",
                "agent_id": agent["id"],
                "task_description": "t",
                "cron_expression": "0 3 * * *",
                "notify": notify,
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
                "agent_id": agent["id"],
                "task_template": "t",
                "notify": notify,
            },
        )
    )
    monitor = made(
        client.post(
            "/api/proactive/monitors",
            json={
                "name": "m",
                "workspace_id": "ws-1",
                "agent_id": agent["id"],
                "source": {"type": "metric"},
                "condition": "value > 1",
                "action": "look",
                "check_interval": 60,
                "notify": notify,
            },
        )
    )
    action = made(
        client.post(
            "/api/autonomous/actions",
            json={"name": "tell", "goal_types": ["COST_REDUCTION"], "kind": "notify", "channels": [ops]},
        )
    )
    task = made(
        client.post(
            "/tasks",
            json={
                "task_type": "scheduled",
                "prompt": "p",
                "schedule_expression": "0 4 * * *",
                "notification_config": {"channel_ids": [ops, other]},
            },
        )
    )
    conversation = made(client.post("/conversations", json={"notification_config": {"channel_ids": [ops]}}))
    made(client.put("/api/autonomous/config", json={"enabled": False, "channels": [ops, other]}))
    made(client.put("/api/workspace/settings", json={"default_channels": [ops, other]}))
    return {
        "agents": f"/api/agents/{agent['id']}",
        "schedules": f"/api/proactive/schedules/{schedule['id']}",
        "triggers": f"/api/proactive/triggers/{trigger['id']}",
        "monitors": f"/api/proactive/monitors/{monitor['id']}",
        "actions": f"/api/autonomous/actions/{action['id']}",
        "tasks": f"/tasks/{task['id']}",
        "conversations": f"/conversations/{conversation['id']}",
    }


def test_deleting_a_channel_in_use_is_refused_naming_its_users_and_force_takes_it_out_of_each(
    client: TestClient,
) -> None:
    ops, other = channel(client, "ops"), channel(client, "other")
    users = users_of(client, ops, other)

    # Refused while named, naming each kind of user
    refused = client.delete(f"/api/notifications/channels/{ops}")
    assert refused.status_code == 409
    named = {d["field"] for d in refused.json()["details"]}
    assert named == {*users, "autonomy", "workspace_settings"}
    assert client.get(f"/api/notifications/channels/{ops}").status_code == 200

    # Deleted with force: gone, and out of everything that named it
    assert client.delete(f"/api/notifications/channels/{ops}?force=true").status_code == 204
    assert client.get(f"/api/notifications/channels/{ops}").status_code == 404
    for kind, path in users.items():
        shown = client.get(path).json()
        reason = shown.pop("channel_removed_reason")
        assert ops in reason, kind
        assert "was deleted" in reason, kind
        assert ops not in str({k: v for k, v in shown.items() if k != "paused_reason"}), kind
    assert client.get(users["schedules"]).json()["notify"] == {"channels": [other], "on": ["failure"]}
    assert client.get(users["tasks"]).json()["notification_config"]["channel_ids"] == [other]
    # A notify action left with no channel could tell no one: it is paused, saying why.
    action = client.get(users["actions"]).json()
    assert (action["channels"], action["is_active"]) == ([], False)
    assert "no channel left" in action["paused_reason"]
    autonomy = client.get("/api/autonomous/config").json()
    assert autonomy["channels"] == [other]
    assert ops in autonomy["channel_removed_reason"]

    # The workspace settings name only what exists, and save back unchanged
    settings = client.get("/api/workspace/settings").json()
    assert settings["default_channels"] == [other]
    assert ops in settings["channel_removed_reason"]
    again = client.put("/api/workspace/settings", json=settings)
    assert again.status_code == 200, again.text
    assert again.json()["default_channels"] == [other]


def test_a_channel_nothing_names_is_deleted_at_once(client: TestClient) -> None:
    ops = channel(client, "ops")
    assert client.delete(f"/api/notifications/channels/{ops}").status_code == 204
    assert client.get(f"/api/notifications/channels/{ops}").status_code == 404


def test_default_channels_set_to_null_means_none_and_reads_back(client: TestClient) -> None:
    ops = channel(client, "ops")
    made(client.put("/api/workspace/settings", json={"default_channels": [ops]}))
    # When the defaults are set to null
    cleared = made(client.put("/api/workspace/settings", json={"default_channels": None}))
    # Then there are none, and what is stored reads back (and saves back unchanged)
    assert cleared["default_channels"] == []
    settings = made(client.get("/api/workspace/settings"))
    assert settings["default_channels"] == []
    made(client.put("/api/workspace/settings", json=settings))
