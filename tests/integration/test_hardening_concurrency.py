"""Concurrent edits of one schedule, one monitor or one workspace's settings: both apply, nothing
is lost, and what the dispatcher reads follows the stored state."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive.schedules import window_end
from tests.integration.conftest import Aws
from tests.integration.hardening import agent

# Concurrent edits


def race(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, module: Any, reader: str, path: str, edits: Any
) -> dict[str, int]:
    """Two PATCHes of `path`, raced exactly: the first reads the item (through `module.reader`),
    the second then runs to the end, and only then does the first one write. (moto applies writes
    one at a time but does not make a conditional write atomic with a concurrent one, so the race
    is staged.) Their status codes, by "first" and "second"."""
    read = getattr(module, reader)
    first_read, second_done, armed = threading.Event(), threading.Event(), threading.Event()

    def staged(store: Any, item_id: str, workspaces: frozenset[str]) -> dict[str, Any]:
        current = read(store, item_id, workspaces)
        if armed.is_set():  # the first PATCH's first read (the other one starts only after it)
            armed.clear()
            first_read.set()
            assert second_done.wait(10)
        return current

    monkeypatch.setattr(module, reader, staged)
    answers: dict[str, int] = {}

    def patch(body: dict[str, Any]) -> None:
        name = threading.current_thread().name
        if name == "second":
            assert first_read.wait(10)
        answers[name] = client.patch(path, json=body).status_code
        if name == "second":
            second_done.set()

    armed.set()
    threads = [
        threading.Thread(target=patch, args=(b,), name=n)
        for n, b in zip(("first", "second"), edits, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    monkeypatch.setattr(module, reader, read)
    return answers


def test_concurrent_patches_of_one_schedule_lose_nothing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from proactive import schedules

    for edits in (
        ({"cron_expression": "30 17 * * *"}, {"timezone": "Asia/Tokyo"}),
        ({"timezone": "Asia/Tokyo"}, {"cron_expression": "30 17 * * *"}),
        ({"cron_expression": "30 17 * * *"}, {"is_active": False}),
    ):
        # Given a schedule, when two edits of when it fires arrive together
        sched = client.post(
            "/api/proactive/schedules",
            json={
                "name": "s",
                "workspace_id": "ws-1",
                "agent_id": agent(client),
                "task_description": "t",
                "cron_expression": "0 9 * * *",
            },
        ).json()
        path = f"/api/proactive/schedules/{sched['id']}"
        answers = race(client, monkeypatch, schedules, "get_schedule", path, edits)

        # Then both apply, and the stored next fire follows the stored cron, zone and state
        assert answers == {"first": 200, "second": 200}
        final = client.get(path).json()
        for body in edits:
            for key, value in body.items():
                assert final[key] == value, (edits, final)
        if final["is_active"]:
            next_runs = client.get(f"{path}/next-runs").json()["next_runs"]
            if datetime.fromisoformat(next_runs[0]) <= window_end(datetime.now(UTC)):
                # Due within the hand-off window when it was edited: that occurrence is already on
                # the queue, and the schedule waits for the one after.
                next_runs = next_runs[1:]
            assert final["next_run"] == next_runs[0]
            assert final["next_run"].endswith("T17:30:00+09:00")
        else:
            assert final["next_run"] is None


def test_concurrent_puts_of_workspace_settings_keep_both_fields(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One PUT sets the default agent; while it checks that agent, another sets the default
    # channels. Fields a PUT leaves out keep their value, so both are kept.
    from proactive.store.agents import Agents

    default_agent = agent(client, "assistant")
    channel = client.post(
        "/api/notifications/channels",
        json={
            "workspace_id": "ws-1",
            "name": "ops",
            "type": "webhook",
            "config": {"url": "http://127.0.0.1:9/x"},
        },
    )
    assert channel.status_code == 201, channel.text
    checking, second_done = threading.Event(), threading.Event()
    check = Agents.referenced

    def staged(self: Agents, item_id: str, workspace_id: str, *, field: str) -> dict[str, Any]:
        checking.set()
        assert second_done.wait(10)
        return check(self, item_id, workspace_id, field=field)

    monkeypatch.setattr(Agents, "referenced", staged)
    answers: dict[str, int] = {}

    def put(name: str, body: dict[str, Any]) -> None:
        if name == "second":
            assert checking.wait(10)
        answers[name] = client.put("/api/workspace/settings", json=body).status_code
        if name == "second":
            second_done.set()

    threads = [
        threading.Thread(target=put, args=("first", {"default_agent_id": default_agent})),
        threading.Thread(target=put, args=("second", {"default_channels": [channel.json()["id"]]})),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert answers == {"first": 200, "second": 200}
    settings = client.get("/api/workspace/settings").json()
    assert settings["default_agent_id"] == default_agent
    assert settings["default_channels"] == [channel.json()["id"]]


def test_concurrent_patches_of_one_monitor_lose_nothing(
    client: TestClient, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The next check is derived from the interval and the state, so neither may be stale.
    from proactive import monitors

    for edits in (
        ({"check_interval": 3600}, {"is_active": False}),
        ({"is_active": False}, {"check_interval": 3600}),
        ({"check_interval": 3600}, {"condition": "value > 200"}),
    ):
        mon = client.post(
            "/api/proactive/monitors",
            json={
                "name": "m",
                "workspace_id": "ws-1",
                "agent_id": agent(client),
                "source": {"type": "metric"},
                "condition": "value > 1",
                "action": "look",
                "check_interval": 60,
            },
        ).json()
        path = f"/api/proactive/monitors/{mon['id']}"
        assert race(client, monkeypatch, monitors, "get_monitor", path, edits) == {
            "first": 200,
            "second": 200,
        }

        final = client.get(path).json()
        for body in edits:
            for key, value in body.items():
                assert final[key] == value, (edits, final)
        # The next check (what the dispatcher reads) follows the interval and state it has now
        stored = aws.store.monitors.get(mon["id"])
        assert stored is not None
        if final["is_active"]:
            assert stored.next_fire_at is not None
            wait = stored.next_fire_at - datetime.fromisoformat(final["updated_at"])
            assert wait.total_seconds() == 3600, (edits, stored)
        else:
            assert stored.next_fire_at is None, (edits, stored)
