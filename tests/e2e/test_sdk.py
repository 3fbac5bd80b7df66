"""The Python SDK against the local stack: the seed's usage example, runs started and waited for,
pages followed, and the API's refusals as exceptions that say what is wrong."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from proactive import Proactive, ProactiveError, ProactiveMonitor, Scheduler, WebhookManager
from tests.fakes import DiscordWebhook
from tests.localstack import Stack

pytestmark = pytest.mark.e2e
WORKSPACE = "ws-sdk"


@pytest.fixture
def env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the SDK finds the API and its token when none are passed."""
    monkeypatch.setenv("PROACTIVE_API_URL", stack.base_url)
    monkeypatch.setenv("PROACTIVE_TOKEN", stack.token(WORKSPACE))


@pytest.mark.usefixtures("env")
def test_the_seed_usage_example_works_as_written_once_its_monitor_names_a_source() -> None:
    async def example() -> dict[str, Any]:
        async with Proactive() as proactive:
            health = await proactive.agents.create(workspace_id=WORKSPACE, name="health-agent")
            backup = await proactive.agents.create(workspace_id=WORKSPACE, name="backup-agent")
            ci = await proactive.triggers.create(
                workspace_id=WORKSPACE,
                name="CI/CD",
                trigger_type="webhook",
                agent_id=backup.id,
                task_template="Process: {event}",
            )

        # The seed's monitor as written: refused, saying why
        monitor_manager = ProactiveMonitor()
        with pytest.raises(ProactiveError) as refused:
            await monitor_manager.create(
                name="System Health Check",
                agent_id=health.id,
                workspace_id=WORKSPACE,
                condition="CPU usage > 80%",
                action="Investigate and optimize",
                check_interval=60,
            )
        # ... and as the refusal says to write it
        monitor = await monitor_manager.create(
            name="System Health Check",
            agent_id=health.id,
            workspace_id=WORKSPACE,
            source={"type": "metric", "aggregation": "avg", "window": 300},
            condition="value > 80",
            action="Investigate and optimize",
            check_interval=60,
        )

        scheduler = Scheduler()
        schedule = await scheduler.create(
            name="Weekly Backup",
            workspace_id=WORKSPACE,
            agent_id=backup.id,
            task_description="Backup all databases",
            cron_expression="0 0 * * 0",  # Every Sunday at midnight
            timezone="UTC",
        )

        webhook_manager = WebhookManager()
        webhook = await webhook_manager.create(workspace_id=WORKSPACE, name="CI/CD Webhook", trigger_id=ci.id)
        return {
            "refused": refused.value,
            "monitor": monitor,
            "schedule": schedule,
            "next": await scheduler.next_runs(schedule.id, 3),
            "webhook": webhook,
            "shown": await webhook_manager.get(webhook.id),
        }

    made = asyncio.run(example())

    refused = made["refused"]
    assert (refused.status, refused.error) == (422, "validation_error")
    assert "free text" in refused.message
    assert "value > 80" in refused.message
    assert (made["monitor"].check_interval, made["monitor"].condition) == (60, "value > 80")
    assert made["schedule"].next_run.endswith("T00:00:00+00:00")
    assert all(t.endswith("T00:00:00+00:00") for t in made["next"])
    webhook = made["webhook"]
    assert webhook.webhook_url.endswith(f"/api/hooks/{webhook.url_path}")
    assert webhook.secret.startswith("whsec_")
    assert made["shown"].url_path == webhook.url_path


def test_a_run_is_started_waited_for_replayed_and_refused_a_cancel(stack: Stack) -> None:
    async def scenario() -> dict[str, Any]:
        async with Proactive(stack.base_url, stack.token(WORKSPACE)) as proactive:
            agent = await proactive.agents.create(workspace_id=WORKSPACE, name="reporter")
            run = await proactive.runs.create(
                workspace_id=WORKSPACE, agent_id=agent.id, task="Summarise the night's deploys"
            )
            done = await proactive.runs.wait(run.id, timeout=60, interval=0.2)
            again = await proactive.runs.wait(
                (await proactive.runs.replay(run.id)).id, timeout=60, interval=0.2
            )
            with pytest.raises(ProactiveError) as finished:
                await proactive.runs.cancel(run.id)
            with pytest.raises(ProactiveError) as missing:
                await proactive.runs.get("run-does-not-exist")
            statuses = [r.status async for r in proactive.runs.list(source_type="replay", limit=1)]
            return {
                "done": done,
                "again": again,
                "finished": finished.value,
                "missing": missing.value,
                "statuses": statuses,
            }

    seen = asyncio.run(scenario())

    assert seen["done"].status == "succeeded"
    assert "Summarise the night's deploys" in seen["done"].output
    assert (seen["again"].status, seen["again"].replay_of) == ("succeeded", seen["done"].id)
    assert seen["finished"].status == 409
    assert "already finished" in seen["finished"].message
    assert (seen["missing"].status, seen["missing"].error) == (404, "not_found")
    assert seen["statuses"] == ["succeeded"]


def test_listing_follows_pages_to_the_end(stack: Stack) -> None:
    async def scenario() -> tuple[set[str], list[str]]:
        async with Proactive(stack.base_url, stack.token("ws-sdk-pages")) as proactive:
            agent = await proactive.agents.create(workspace_id="ws-sdk-pages", name="pager")
            made = set()
            for hour in range(5):
                schedule = await proactive.schedules.create(
                    name=f"hourly {hour}",
                    workspace_id="ws-sdk-pages",
                    agent_id=agent.id,
                    task_description="tick",
                    cron_expression=f"0 {hour} * * *",
                    timezone="Europe/Berlin",
                )
                made.add(schedule.id)
            listed = [s.id async for s in proactive.schedules.list(limit=2)]
            # A route no resource covers, with the same token and errors
            assert await proactive.request("GET", "/tasks") == {"items": [], "next_cursor": None}
            with pytest.raises(ProactiveError) as missing:
                await proactive.request("GET", "/tasks/task-none")
            assert (missing.value.status, missing.value.error) == (404, "not_found")
            return made, listed

    made, listed = asyncio.run(scenario())
    assert sorted(listed) == sorted(made)


def test_autonomous_mode_and_its_notifications_through_the_sdk(stack: Stack) -> None:
    workspace = "ws-sdk-auto"

    async def scenario(discord: DiscordWebhook) -> dict[str, Any]:
        async with Proactive(stack.base_url, stack.token(workspace)) as proactive:
            agent = await proactive.agents.create(workspace_id=workspace, name="reviewer")
            channel = await proactive.channels.create(
                workspace_id=workspace, name="ops", type="discord", config={"webhook_url": discord.url}
            )
            tested = await proactive.channels.test(channel.id, message="hello from the SDK")
            await proactive.autonomous.configure(
                enabled=True, frequency="15min", agent_id=agent.id, channels=[channel.id]
            )
            await proactive.autonomous.update_settings(default_agent_id=agent.id)
            run = await proactive.autonomous.execute()
            done = await proactive.runs.wait(run.id, timeout=60, interval=0.2)
            deadline = time.monotonic() + 30
            while True:
                log = [n async for n in proactive.channels.log(channel_id=channel.id, run_id=run.id)]
                if sum(n.status == "sent" for n in log) >= 2 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.25)
            return {
                "channel": channel,
                "tested": tested,
                "done": done,
                "config": await proactive.autonomous.config(),
                "settings": await proactive.autonomous.settings(),
                "log": log,
            }

    with DiscordWebhook() as discord:
        seen = asyncio.run(scenario(discord))

    # The channel's URL holds its token: the API shows it masked
    assert discord.token not in seen["channel"].config["webhook_url"]
    assert seen["tested"].status == "sent"
    assert discord.messages[0]["embeds"][0]["description"] == "hello from the SDK"
    done = seen["done"]
    assert (done.status, done.source_type) == ("succeeded", "autonomous")
    config = seen["config"]
    assert (config.enabled, config.frequency, config.active_run_id) == (True, "15min", None)
    assert config.next_execution is not None
    assert seen["settings"].default_agent_id == done.agent_id
    events = sorted(n.event for n in seen["log"] if n.status == "sent")
    assert events == ["autonomous.started", "autonomous.succeeded"], seen["log"]
    assert done.output.split("\n", 1)[0] in discord.messages[-1]["embeds"][0]["description"]
