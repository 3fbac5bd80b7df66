"""Autonomous mode: its config kept in the table, executions claimed by the dispatcher once per
slot, one at a time, and start and completion notifications that carry what the agent did."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive import autonomy
from proactive.clock import iso, parse_iso
from tests.fakes import AgentService, DiscordWebhook, NtfyServer, Output
from tests.fakes.agent_service import bad_request
from tests.fakes.receivers import discord_unknown_webhook
from tests.integration.conftest import Aws, Handlers

SUCCESS, FAILURE = 5814783, 15158332


@pytest.fixture
def discord() -> Iterator[DiscordWebhook]:
    with DiscordWebhook() as d:
        yield d


@pytest.fixture
def service() -> Iterator[AgentService]:
    with AgentService() as s:
        yield s


def builtin(client: TestClient, name: str = "ops-reviewer") -> dict[str, Any]:
    return dict(client.post("/api/agents", json={"workspace_id": "ws-1", "name": name}).json())


def configure(client: TestClient, **body: Any) -> dict[str, Any]:
    resp = client.put("/api/autonomous/config", json=body)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def seconds_between(a: str, b: datetime) -> float:
    return (parse_iso(a) - b).total_seconds()


def test_config_is_kept_and_next_execution_follows_the_last(client: TestClient) -> None:
    shown = client.get("/api/autonomous/config").json()
    assert (shown["enabled"], shown["frequency"], shown["next_execution"]) == (False, "1hour", None)

    agent = builtin(client)
    before = datetime.now(UTC)
    saved = configure(client, enabled=True, frequency="15min", agent_id=agent["id"])
    assert saved["status"] == "ok"
    # Never run: the first execution is a frequency from now
    assert 15 * 60 - 5 <= seconds_between(saved["next_execution"], before) <= 15 * 60 + 5
    assert saved["last_execution"] is None
    again = client.get("/api/autonomous/config").json()
    assert (again["enabled"], again["frequency"], again["agent_id"]) == (True, "15min", agent["id"])

    # A manual execution counts: the next is 15 minutes after it
    run = client.post("/api/autonomous/execute").json()["run"]
    after = client.get("/api/autonomous/config").json()
    assert parse_iso(after["last_execution"]) == parse_iso(run["created_at"])
    assert seconds_between(after["next_execution"], parse_iso(after["last_execution"])) == 15 * 60

    # A new frequency counts from the last execution
    hourly = configure(client, enabled=True, frequency="1hour")
    assert seconds_between(hourly["next_execution"], parse_iso(after["last_execution"])) == 3600

    # Off: nothing is due
    off = configure(client, enabled=False)
    assert (off["enabled"], off["next_execution"]) == (False, None)


def test_bad_configs_get_422_saying_what_is_wrong(client: TestClient) -> None:
    resp = client.put("/api/autonomous/config", json={"enabled": True, "frequency": "15min"})
    assert resp.status_code == 422
    assert "autonomous mode needs an agent" in resp.text
    resp = client.put("/api/autonomous/config", json={"enabled": True, "frequency": "5min"})
    assert resp.status_code == 422
    assert "frequency" in resp.text
    resp = client.put("/api/autonomous/config", json={"enabled": True, "agent_id": "agent-nope"})
    assert resp.status_code == 422
    assert "agent-nope" in resp.text
    resp = client.put(
        "/api/autonomous/config",
        json={"enabled": False, "discord_webhook": "https://example.com/api/webhooks/1/abc"},
    )
    assert resp.status_code == 422
    assert "discord.com/api/webhooks/" in resp.text
    # Nothing half-saved
    assert client.get("/api/autonomous/config").json()["enabled"] is False
    assert client.get("/api/notifications/channels").json()["items"] == []
    resp = client.post("/api/autonomous/execute")
    assert resp.status_code == 422
    assert "PUT /api/autonomous/config first" in resp.text


def test_the_default_agent_is_used_when_none_is_named(client: TestClient) -> None:
    agent = builtin(client)
    client.put("/api/workspace/settings", json={"default_agent_id": agent["id"]})
    assert configure(client, enabled=True)["agent_id"] == agent["id"]


def test_discord_and_ntfy_shorthands_make_one_channel_each(
    client: TestClient, discord: DiscordWebhook
) -> None:
    agent = builtin(client)
    first = configure(
        client, enabled=True, agent_id=agent["id"], discord_webhook=discord.url, ntfy_topic="ops"
    )
    assert discord.token not in str(first)
    assert first["discord_webhook"].endswith("/••••")
    assert first["ntfy_topic"] == "ops"
    again = configure(client, enabled=True, discord_webhook=discord.url, ntfy_topic="ops-2")
    channels = client.get("/api/notifications/channels").json()["items"]
    assert sorted(c["type"] for c in channels) == ["discord", "ntfy"]
    assert sorted(again["channels"]) == sorted(c["id"] for c in channels)
    assert again["ntfy_topic"] == "ops-2"


def test_what_get_shows_can_be_put_back_and_channels_can_be_removed(
    client: TestClient, discord: DiscordWebhook
) -> None:
    agent = builtin(client)
    other = client.post(
        "/api/notifications/channels",
        json={"workspace_id": "ws-1", "name": "ops", "type": "ntfy", "config": {"topic": "ops-other"}},
    ).json()
    configure(
        client,
        enabled=True,
        agent_id=agent["id"],
        discord_webhook=discord.url,
        ntfy_topic="ops",
        channels=[other["id"]],
    )
    shown = client.get("/api/autonomous/config").json()
    assert len(shown["channels"]) == 3

    # What GET shows (the Discord URL masked) goes back unchanged: nothing moves
    put_back = {
        k: shown[k] for k in ("enabled", "frequency", "discord_webhook", "ntfy_topic", "agent_id", "task")
    }
    again = configure(client, **put_back, channels=shown["channels"])
    assert sorted(again["channels"]) == sorted(shown["channels"])
    assert again["discord_webhook"] == shown["discord_webhook"]
    # ... and leaving the shorthands and the list out keeps them too
    kept = configure(client, enabled=True, frequency="30min")
    assert sorted(kept["channels"]) == sorted(shown["channels"])

    # An empty list removes the other channels; null detaches a shorthand
    fewer = configure(client, enabled=True, channels=[], ntfy_topic=None)
    assert fewer["ntfy_topic"] is None
    assert fewer["discord_webhook"] == shown["discord_webhook"]
    assert len(fewer["channels"]) == 1


def test_a_refused_config_makes_no_channel(client: TestClient, discord: DiscordWebhook) -> None:
    resp = client.put(
        "/api/autonomous/config",
        json={"enabled": True, "agent_id": "agent-nope", "discord_webhook": discord.url, "ntfy_topic": "ops"},
    )
    assert resp.status_code == 422
    assert resp.json()["field"] == "agent_id"
    assert client.get("/api/notifications/channels").json()["items"] == []
    resp = client.put(
        "/api/autonomous/config",
        json={
            "enabled": False,
            "discord_webhook": "https://example.com/api/webhooks/1/abc",
            "ntfy_topic": "ok",
        },
    )
    assert resp.status_code == 422
    assert resp.json()["field"] == "discord_webhook"
    assert client.get("/api/notifications/channels").json()["items"] == []


def test_the_dispatcher_fires_each_slot_once_under_concurrent_ticks(aws: Aws, handlers: Handlers) -> None:
    from tests.integration.conftest import make_agent

    t0 = datetime(2026, 6, 1, 12, 0, 20, tzinfo=UTC)
    autonomy.save_config(
        aws.store, "ws-1", {"enabled": True, "frequency": "15min", "agent_id": make_agent(aws.store)}, t0
    )
    slot = t0 + timedelta(minutes=15)

    # Eight invocations of the tick before the slot at once (retries, overlapping ticks): each read
    # the config before any of them claimed the slot
    tick = slot - timedelta(seconds=40)
    stale = aws.store.autonomy.get("ws-1")
    claimed = [autonomy.dispatch(aws.store, aws.queue, stale, tick) for _ in range(8)]
    assert claimed == [1, 0, 0, 0, 0, 0, 0, 0]
    handlers.tick(tick)
    handlers.tick(tick + timedelta(minutes=1))  # and the next tick, whose window overlaps

    runs, _ = aws.store.runs.list_runs(
        "ws-1", status=None, source_type="autonomous", source_id="ws-1", limit=100, cursor=None
    )
    [run] = runs
    assert iso(run.scheduled_for) == iso(slot)
    assert "Workspace ws-1 since" in run.task
    config = aws.store.autonomy.get("ws-1")
    assert (config["last_execution"], config["next_fire_at"]) == (
        iso(slot),
        iso(slot + timedelta(minutes=15)),
    )

    # The next slot comes while the first execution has not run: it is recorded, not run alongside
    handlers.tick(slot + timedelta(minutes=15) - timedelta(seconds=40))
    runs, _ = aws.store.runs.list_runs(
        "ws-1", status=None, source_type="autonomous", source_id="ws-1", limit=100, cursor=None
    )
    skipped = [r for r in runs if r.id != run.id]
    assert [(r.status, r.reason) for r in skipped] == [
        ("cancelled", f"autonomous run {run.id} was still running")
    ]


def test_execute_tells_discord_what_the_agent_actually_did(
    client: TestClient, handlers: Handlers, discord: DiscordWebhook, service: AgentService
) -> None:
    created = client.post(
        "/api/agents",
        json={"workspace_id": "ws-1", "name": "executor", "runtime": "http", "config": {"url": service.url}},
    ).json()
    service.secret = created["secret"]
    configure(client, enabled=True, frequency="15min", agent_id=created["id"], discord_webhook=discord.url)
    service.script(Output("Reviewed 3 runs; restarted the stuck nightly export (run-42) and it finished."))

    started = client.post("/api/autonomous/execute")
    assert started.status_code == 202, started.text
    run = started.json()["run"]
    # One execution at a time
    busy = client.post("/api/autonomous/execute")
    assert busy.status_code == 409
    assert busy.json()["error"] == "conflict"
    assert run["id"] in busy.json()["message"]
    assert busy.json()["details"] == [{"field": "run_id", "message": run["id"]}]
    assert client.get("/api/autonomous/config").json()["active_run_id"] == run["id"]

    handlers.drain_until(lambda: len(discord.messages) >= 2, timeout=30, fast_forward=True)

    start, done = (m["embeds"][0] for m in discord.messages)
    assert (start["title"], start["color"]) == ("Autonomous agent started: executor", SUCCESS)
    assert "Workspace ws-1 since" in start["description"]
    assert (done["title"], done["color"]) == ("Autonomous agent succeeded: executor", SUCCESS)
    assert "restarted the stuck nightly export (run-42)" in done["description"]
    # What the agent was given: the task and the digest
    [request] = service.requests
    assert "Review what happened in this workspace" in request.json["task"]
    assert "- Runs: 0" in request.json["task"]
    # Over: nothing is shown running, and another execution may start
    shown = client.get("/api/autonomous/config").json()
    assert (shown["active_run_id"], shown["last_execution"]) == (None, run["scheduled_for"])
    assert client.post("/api/autonomous/execute").status_code == 202


def test_a_failed_execution_is_a_red_embed_with_the_error(
    client: TestClient, handlers: Handlers, discord: DiscordWebhook, service: AgentService
) -> None:
    created = client.post(
        "/api/agents",
        json={"workspace_id": "ws-1", "name": "executor", "runtime": "http", "config": {"url": service.url}},
    ).json()
    service.secret = created["secret"]
    configure(client, enabled=True, agent_id=created["id"], discord_webhook=discord.url)
    service.script(bad_request("no credentials for the ticket system"))

    client.post("/api/autonomous/execute")
    handlers.drain_until(lambda: len(discord.messages) >= 2, timeout=30, fast_forward=True)

    failed = discord.messages[1]["embeds"][0]
    assert (failed["title"], failed["color"]) == ("Autonomous agent failed: executor", FAILURE)
    assert "no credentials for the ticket system" in failed["description"]


def test_the_builtin_agent_reports_the_digest(
    client: TestClient, handlers: Handlers, aws: Aws, discord: DiscordWebhook
) -> None:
    agent = builtin(client, "reviewer")
    # Something to report: a run that failed for good
    failing = client.post(
        "/api/agents",
        json={
            "workspace_id": "ws-1",
            "name": "broken",
            "runtime": "http",
            "config": {"url": "http://127.0.0.1:9/"},
        },
    ).json()
    client.post("/api/runs", json={"workspace_id": "ws-1", "agent_id": failing["id"], "task": "export"})
    configure(client, enabled=True, agent_id=agent["id"], discord_webhook=discord.url)
    handlers.drain_until(
        lambda: client.get("/api/runs", params={"status": "failed"}).json()["items"] != [],
        timeout=30,
        fast_forward=True,
    )

    run = client.post("/api/autonomous/execute").json()["run"]
    handlers.drain_until(lambda: len(discord.messages) >= 2, timeout=30, fast_forward=True)
    done = client.get(f"/api/runs/{run['id']}").json()
    assert done["output"].startswith(
        "Builtin agent 'reviewer' reviewed the workspace: 1 item needs attention."
    )
    assert "Failed: run-" in done["output"]
    assert done["output"].split("\n", 1)[1] in discord.messages[1]["embeds"][0]["description"]


def test_test_webhook_sends_the_test_message(client: TestClient, discord: DiscordWebhook) -> None:
    resp = client.post("/api/autonomous/test-webhook", json={"webhook_url": discord.url})
    assert resp.status_code == 200, resp.text
    assert resp.json()["message"] == "Test notification sent"
    [embed] = discord.messages[0]["embeds"]
    assert embed["title"] == "Test Notification"
    assert embed["description"] == "This is a test message from Proactive Autonomous Mode! 🤖"

    discord.script(discord_unknown_webhook())
    gone = client.post("/api/autonomous/test-webhook", json={"webhook_url": discord.url})
    assert gone.status_code == 422
    assert "Unknown Webhook" in gone.text


def test_ntfy_shorthand_publishes_start_and_completion(client: TestClient, handlers: Handlers) -> None:
    with NtfyServer() as ntfy:
        agent = builtin(client)
        configure(client, enabled=True, agent_id=agent["id"])
        # The shorthand is a topic on ntfy.sh; point the channel it made at the local server instead
        configure(client, enabled=True, ntfy_topic="ops")
        [made] = client.get("/api/notifications/channels").json()["items"]
        client.patch(
            f"/api/notifications/channels/{made['id']}",
            json={"config": {"server": ntfy.base_url, "topic": "ops"}},
        )
        client.post("/api/autonomous/execute")
        handlers.drain_until(lambda: len(ntfy.messages) >= 2, timeout=30)
    start, done = ntfy.messages
    assert (start["topic"], start["title"]) == ("ops", "Autonomous agent started: ops-reviewer")
    assert done["title"] == "Autonomous agent succeeded: ops-reviewer"
    assert "nothing needs attention" in done["message"]


def test_the_digest_names_the_goals_being_worked_on(aws: Aws) -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    for goal_id, status, priority in (("goal-a", "active", 0.9), ("goal-b", "achieved", 0.5)):
        aws.store.goals.put(
            {
                "id": goal_id,
                "workspace_id": "ws-1",
                "status": status,
                "title": f"Keep p95 latency under 300 ms ({goal_id})",
                "metric": "api.latency_p95",
                "priority": priority,
                "due_by": "2026-06-01T18:00:00Z",
                "created_at": iso(now),
            }
        )
    summary = autonomy.digest(aws.store, "ws-1", None, now)
    assert (
        "- Active goal: Keep p95 latency under 300 ms (goal-a) "
        "(on api.latency_p95, due by 2026-06-01T18:00:00Z)" in summary
    )
    assert "goal-b" not in summary
