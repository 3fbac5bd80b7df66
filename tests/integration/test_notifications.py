"""Notifications end to end in one process: channels made through the API, runs, monitors and
schedules that tell them, the worker sending to receivers on loopback that check every message as
Discord, Slack and ntfy do, and the log of what each receiver answered."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from proactive.dev.local import LocalContext, load_handler, sqs_event
from proactive.settings import get_settings
from tests.fakes import AgentService, DiscordWebhook, NtfyServer, Output, SlackWebhook
from tests.fakes.agent_service import bad_request, unavailable
from tests.fakes.receivers import discord_rate_limited, discord_server_error, discord_unknown_webhook
from tests.integration.conftest import Aws, Handlers
from tests.quotes import Quote, running_quote

SUCCESS, FAILURE = 5814783, 15158332


@pytest.fixture
def discord() -> Iterator[DiscordWebhook]:
    with DiscordWebhook() as d:
        yield d


@pytest.fixture
def slack() -> Iterator[SlackWebhook]:
    with SlackWebhook() as s:
        yield s


@pytest.fixture
def ntfy() -> Iterator[NtfyServer]:
    with NtfyServer() as n:
        yield n


@pytest.fixture
def service() -> Iterator[AgentService]:
    with AgentService() as s:
        yield s


def channel(
    client: TestClient, type_: str, config: dict[str, Any], name: str | None = None
) -> dict[str, Any]:
    resp = client.post(
        "/api/notifications/channels",
        json={"workspace_id": "ws-1", "name": name or f"ops {type_}", "type": type_, "config": config},
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def http_agent(client: TestClient, service: AgentService, **extra: Any) -> dict[str, Any]:
    resp = client.post(
        "/api/agents",
        json={
            "workspace_id": "ws-1",
            "name": "deploy-checker",
            "runtime": "http",
            "config": {"url": service.url},
            **extra,
        },
    )
    assert resp.status_code == 201, resp.text
    service.secret = resp.json()["secret"]
    return dict(resp.json())


def reporter(client: TestClient, channel_id: str) -> dict[str, Any]:
    """A builtin agent whose successes are told to the channel."""
    resp = client.post(
        "/api/agents",
        json={
            "workspace_id": "ws-1",
            "name": "reporter",
            "notify": {"channels": [channel_id], "on": ["success"]},
        },
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def defaults(client: TestClient, *channel_ids: str) -> None:
    resp = client.put("/api/workspace/settings", json={"default_channels": list(channel_ids)})
    assert resp.status_code == 200, resp.text


def log(client: TestClient, **params: str) -> list[dict[str, Any]]:
    resp = client.get("/api/notifications/log", params=params)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


def settled(client: TestClient, run_id: str) -> bool:
    """The run is over and every notification about it was sent or given up."""
    if client.get(f"/api/runs/{run_id}").json()["status"] in ("queued", "running"):
        return False
    return all(n["status"] in ("sent", "failed", "dropped") for n in log(client, run_id=run_id))


def start(client: TestClient, agent: dict[str, Any], task: str = "Check the deploy") -> dict[str, Any]:
    resp = client.post("/api/runs", json={"workspace_id": "ws-1", "agent_id": agent["id"], "task": task})
    assert resp.status_code == 202, resp.text
    return dict(resp.json())


# -- channels ----------------------------------------------------------------------------------------------


def test_channels_are_checked_and_never_show_their_tokens(
    client: TestClient, discord: DiscordWebhook
) -> None:
    token = "Zx9-secret-token-abcdefghijklmnopqrstuvwxyz0123456789"
    made = channel(client, "discord", {"webhook_url": f"https://discord.com/api/webhooks/1234567890/{token}"})
    assert made["config"]["webhook_url"] == "https://discord.com/api/webhooks/1234…/••••"
    assert (made["is_active"], made["disabled_reason"], made["secret"]) == (True, None, None)
    shown = [client.get(f"/api/notifications/channels/{made['id']}").json()]
    shown += client.get("/api/notifications/channels").json()["items"]
    assert token not in json.dumps(shown)

    # Lookalikes and other services' URLs are refused, saying what a Discord URL looks like.
    for url in (
        f"https://discord.com.evil.example/api/webhooks/1/{token}",
        "https://discord.com/channels/1/2",
        f"http://discord.com/api/webhooks/1/{token}",
    ):
        resp = client.post(
            "/api/notifications/channels",
            json={"workspace_id": "ws-1", "name": "x", "type": "discord", "config": {"webhook_url": url}},
        )
        assert resp.status_code == 422, url
        assert "discord.com/api/webhooks/" in resp.text
    resp = client.post(
        "/api/notifications/channels",
        json={
            "workspace_id": "ws-1",
            "name": "x",
            "type": "slack",
            "config": {"webhook_url": "https://example.com/services/T1/B2/abc"},
        },
    )
    assert resp.status_code == 422
    assert "hooks.slack.com/services/" in resp.text

    # A receiver on loopback (allowed for outbound requests) stands in when its path has Discord's shape.
    assert channel(client, "discord", {"webhook_url": discord.url})["config"]["webhook_url"].startswith(
        discord.base_url
    )
    resp = client.post(
        "/api/notifications/channels",
        json={
            "workspace_id": "ws-1",
            "name": "x",
            "type": "discord",
            "config": {"webhook_url": f"{discord.base_url}/hooks/1"},
        },
    )
    assert resp.status_code == 422


def test_a_webhooks_token_is_never_logged(
    client: TestClient,
    handlers: Handlers,
    discord: DiscordWebhook,
    capfd: pytest.CaptureFixture[str],
) -> None:
    import logging

    from proactive.observability import logger

    # Everything the platform logs, and what the libraries it uses log at INFO (at DEBUG, botocore
    # logs whole requests, the table's items included, as it would any secret)
    level, root = logger.log_level, logging.getLogger()
    root_level = root.level
    everything = logging.StreamHandler()
    root.addHandler(everything)
    root.setLevel(logging.INFO)
    logger.setLevel("DEBUG")
    try:
        ops = channel(client, "discord", {"webhook_url": discord.url})
        assert client.post("/api/notifications/test", json={"channel_id": ops["id"]}).status_code == 200
        run = start(client, reporter(client, ops["id"]))
        handlers.drain_until(lambda: settled(client, run["id"]), timeout=30)
        discord.script(discord_unknown_webhook())
        run = start(client, reporter(client, ops["id"]))
        handlers.drain_until(lambda: settled(client, run["id"]), timeout=30)
    finally:
        root.removeHandler(everything)
        root.setLevel(root_level)
        logger.setLevel(level)

    assert client.get(f"/api/notifications/channels/{ops['id']}").json()["is_active"] is False
    out, err = capfd.readouterr()
    assert "notification channel turned off" in out + err  # the logs were captured
    assert discord.token not in out + err


def test_a_webhook_channels_secret_is_shown_once(client: TestClient) -> None:
    made = channel(client, "webhook", {"url": "http://127.0.0.1:9/events"})
    assert made["secret"].startswith("whsec_")
    again = client.get(f"/api/notifications/channels/{made['id']}").json()
    assert "secret" not in again or again["secret"] is None
    patched = client.patch(f"/api/notifications/channels/{made['id']}", json={"name": "renamed"}).json()
    assert patched["name"] == "renamed"
    assert made["secret"] not in json.dumps(patched)


def test_channels_belong_to_their_workspace(client: TestClient, aws: Aws) -> None:
    from tests.integration.conftest import token

    made = channel(client, "ntfy", {"topic": "ops-alerts"})
    assert made["config"] == {"topic": "ops-alerts", "server": "https://ntfy.sh"}
    other = {"Authorization": f"Bearer {token('ws-2')}"}
    assert client.get(f"/api/notifications/channels/{made['id']}", headers=other).status_code == 404
    assert client.delete(f"/api/notifications/channels/{made['id']}", headers=other).status_code == 404
    # Nor may another workspace's resources name it.
    resp = client.post(
        "/api/agents",
        headers=other,
        json={"workspace_id": "ws-2", "name": "a", "notify": {"channels": [made["id"]]}},
    )
    assert resp.status_code == 422
    assert "notify.channels" in resp.text
    assert client.delete(f"/api/notifications/channels/{made['id']}").status_code == 204
    assert client.get(f"/api/notifications/channels/{made['id']}").status_code == 404


# -- runs ----------------------------------------------------------------------------------------------------


def test_a_run_that_fails_twice_then_succeeds_is_one_success_notification(
    client: TestClient,
    handlers: Handlers,
    service: AgentService,
    discord: DiscordWebhook,
    slack: SlackWebhook,
) -> None:
    # Given an agent whose channel hears of successes and failures, and a default failure channel
    ops = channel(client, "discord", {"webhook_url": discord.url})
    defaults(client, channel(client, "slack", {"webhook_url": slack.url})["id"])
    agent = http_agent(client, service, notify={"channels": [ops["id"]], "on": ["success", "failure"]})
    service.script(
        unavailable(retry_after=1), unavailable(retry_after=1), Output("deploy 4512 looks healthy")
    )

    # When its run fails twice, then succeeds
    run = start(client, agent)
    handlers.drain_until(lambda: settled(client, run["id"]), timeout=30, fast_forward=True)

    # Then Discord heard once, of the success, with the agent's own words; Slack heard nothing
    [message] = discord.messages
    [embed] = message["embeds"]
    assert embed["title"] == "Run succeeded: deploy-checker"
    assert embed["color"] == SUCCESS
    assert "deploy 4512 looks healthy" in embed["description"]
    assert {f["name"]: f["value"] for f in embed["fields"]}["Attempts"] == "3"
    assert embed["footer"] == {"text": "Proactive"}
    assert slack.messages == []
    [entry] = log(client, run_id=run["id"])
    assert (entry["status"], entry["channel_id"], entry["attempts"], entry["http_status"]) == (
        "sent",
        ops["id"],
        1,
        204,
    )


def test_a_run_that_fails_for_good_is_one_failure_notification_per_channel(
    client: TestClient,
    handlers: Handlers,
    service: AgentService,
    discord: DiscordWebhook,
    slack: SlackWebhook,
) -> None:
    ops = channel(client, "discord", {"webhook_url": discord.url})
    default = channel(client, "slack", {"webhook_url": slack.url})
    defaults(client, default["id"], ops["id"])
    agent = http_agent(client, service, notify={"channels": [ops["id"]], "on": ["failure"]})
    service.default = unavailable(retry_after=1)

    run = start(client, agent)
    handlers.drain_until(lambda: settled(client, run["id"]), timeout=30, fast_forward=True)
    handlers.drain()  # and anything a duplicate event could still have queued

    assert client.get(f"/api/runs/{run['id']}").json()["attempts"] == 3
    [message] = discord.messages  # the same channel named twice is told once
    [embed] = message["embeds"]
    assert (embed["title"], embed["color"]) == ("Run failed: deploy-checker", FAILURE)
    assert "503" in embed["description"]
    [posted] = slack.messages
    assert posted["text"].startswith("Run failed: deploy-checker")
    entries = log(client, run_id=run["id"])
    assert sorted(e["channel_id"] for e in entries) == sorted([ops["id"], default["id"]])
    assert {e["status"] for e in entries} == {"sent"}
    assert [e["channel_id"] for e in log(client, channel_id=default["id"])] == [default["id"]]


def test_a_failure_that_is_not_retried_is_told_once_with_its_error(
    client: TestClient, handlers: Handlers, service: AgentService, ntfy: NtfyServer
) -> None:
    alerts = channel(client, "ntfy", {"server": ntfy.base_url, "topic": "deploys"})
    agent = http_agent(client, service, notify={"channels": [alerts["id"]], "on": ["start", "failure"]})
    service.script(bad_request("the task names no deploy"))

    run = start(client, agent)
    handlers.drain_until(lambda: settled(client, run["id"]), timeout=30, fast_forward=True)

    started, failed = ntfy.messages
    assert started["topic"] == failed["topic"] == "deploys"
    assert started["title"] == "Run started: deploy-checker"
    assert (started["priority"], started["tags"]) == (4, ["robot", "rocket", "run.started"])
    assert "Check the deploy" in started["message"]
    assert (failed["title"], failed["priority"], failed["tags"]) == (
        "Run failed: deploy-checker",
        4,
        ["x", "run.failed"],
    )
    assert "the task names no deploy" in failed["message"]


def test_control_and_bidi_characters_in_a_runs_task_and_output_reach_the_message_escaped(
    client: TestClient, handlers: Handlers, service: AgentService, discord: DiscordWebhook, ntfy: NtfyServer
) -> None:
    ops = channel(client, "discord", {"webhook_url": discord.url})
    alerts = channel(client, "ntfy", {"server": ntfy.base_url, "topic": "deploys"})
    agent = http_agent(client, service, notify={"channels": [ops["id"], alerts["id"]], "on": ["success"]})
    service.script(Output("Paid: invoice\u202efdp.exe\x1b[2J\nNext: none"))

    run = start(client, agent, task="Pay invoice\u2067 7\x00")
    handlers.drain_until(lambda: settled(client, run["id"]), timeout=30)

    [message] = discord.messages
    [posted] = ntfy.messages
    for shown in (json.dumps(message, ensure_ascii=False), json.dumps(posted, ensure_ascii=False)):
        assert not {"\u202e", "\u2067", "\x1b", "\x00"} & set(shown)
        assert "Paid: invoice\\\\u202efdp.exe\\\\u001b[2J\\nNext: none" in shown
    assert "Paid: invoice\\u202efdp.exe\\u001b[2J\nNext: none" in message["embeds"][0]["description"]
    # The run itself keeps what the agent said, as it said it.
    assert (
        client.get(f"/api/runs/{run['id']}").json()["output"]
        == "Paid: invoice\u202efdp.exe\x1b[2J\nNext: none"
    )


def test_a_receiver_asking_to_wait_is_tried_again_after_that_long(
    client: TestClient, handlers: Handlers, discord: DiscordWebhook
) -> None:
    ops = channel(client, "discord", {"webhook_url": discord.url})
    agent = reporter(client, ops["id"])
    discord.script(discord_rate_limited(retry_after=1.5))

    run = start(client, agent)
    handlers.drain_until(lambda: settled(client, run["id"]), timeout=30)

    limited, accepted = discord.requests
    assert (limited.status, accepted.status) == (429, 204)
    assert accepted.received_at - limited.received_at >= 1.5
    [entry] = log(client, run_id=run["id"])
    assert (entry["status"], entry["attempts"]) == ("sent", 2)
    # The run was not held up by its notification.
    done = client.get(f"/api/runs/{run['id']}").json()
    assert done["finished_at"] < entry["sent_at"]


def test_a_webhook_that_is_gone_turns_its_channel_off(
    client: TestClient, handlers: Handlers, discord: DiscordWebhook
) -> None:
    ops = channel(client, "discord", {"webhook_url": discord.url})
    agent = reporter(client, ops["id"])
    discord.script(discord_unknown_webhook())

    first = start(client, agent)
    handlers.drain_until(lambda: settled(client, first["id"]), timeout=30)
    off = client.get(f"/api/notifications/channels/{ops['id']}").json()
    assert off["is_active"] is False
    assert "Unknown Webhook" in off["disabled_reason"]
    [entry] = log(client, run_id=first["id"])
    assert (entry["status"], entry["attempts"], entry["http_status"]) == ("failed", 1, 404)

    # What comes next for it is dropped, not sent
    second = start(client, agent)
    handlers.drain_until(lambda: settled(client, second["id"]), timeout=30)
    [dropped] = log(client, run_id=second["id"])
    assert dropped["status"] == "dropped"
    assert "the channel is off" in dropped["reason"]
    assert len(discord.requests) == 1

    # until it is turned back on
    back = client.patch(f"/api/notifications/channels/{ops['id']}", json={"is_active": True}).json()
    assert (back["is_active"], back["disabled_reason"]) == (True, None)


def test_a_receiver_that_keeps_failing_never_fails_the_run(
    client: TestClient,
    handlers: Handlers,
    discord: DiscordWebhook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOTIFICATION_MAX_ATTEMPTS", "2")
    get_settings.cache_clear()
    ops = channel(client, "discord", {"webhook_url": discord.url})
    agent = reporter(client, ops["id"])
    discord.default = discord_server_error(502)

    run = start(client, agent)
    handlers.drain_until(lambda: settled(client, run["id"]), timeout=30, fast_forward=True)

    assert client.get(f"/api/runs/{run['id']}").json()["status"] == "succeeded"
    [entry] = log(client, run_id=run["id"])
    assert (entry["status"], entry["attempts"], entry["http_status"]) == ("failed", 2, 502)
    assert entry["reason"].startswith("gave up after 2 attempts")
    assert client.get(f"/api/notifications/channels/{ops['id']}").json()["is_active"] is True


def test_a_start_that_cannot_be_told_neither_holds_the_run_up_nor_is_lost(
    client: TestClient,
    handlers: Handlers,
    discord: DiscordWebhook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from proactive.notifications import outbox

    ops = channel(client, "discord", {"webhook_url": discord.url})
    agent = client.post(
        "/api/agents",
        json={
            "workspace_id": "ws-1",
            "name": "reporter",
            "notify": {"channels": [ops["id"]], "on": ["start", "success"]},
        },
    ).json()
    # The first time the run's start is to be told, the table or the queue is out of reach
    real, failures = outbox.queue_notice, []

    def flaky(*args: Any, **kwargs: Any) -> int:
        if kwargs["event_type"] == "run.started" and not failures:
            failures.append(1)
            raise ConnectionError("the queue could not be reached")
        return real(*args, **kwargs)

    monkeypatch.setattr(outbox, "queue_notice", flaky)

    run = start(client, agent)
    handlers.drain_until(
        lambda: settled(client, run["id"]) and len(discord.messages) >= 2, timeout=30, fast_forward=True
    )

    done = client.get(f"/api/runs/{run['id']}").json()
    assert (done["status"], done["attempts"]) == ("succeeded", 1)
    assert failures == [1]
    # Told with the run's end, start first
    titles = [m["embeds"][0]["title"] for m in discord.messages]
    assert titles == ["Run started: reporter", "Run succeeded: reporter"]


def test_test_messages_answer_what_the_receiver_said(
    client: TestClient, discord: DiscordWebhook, slack: SlackWebhook
) -> None:
    ops = channel(client, "discord", {"webhook_url": discord.url})
    sent = client.post("/api/notifications/test", json={"channel_id": ops["id"], "message": "hello from ops"})
    assert sent.status_code == 200, sent.text
    assert (sent.json()["status"], sent.json()["http_status"]) == ("sent", 204)
    assert discord.messages[0]["embeds"][0]["description"] == "hello from ops"

    inline = client.post(
        "/api/notifications/test",
        json={"workspace_id": "ws-1", "channel": {"type": "slack", "config": {"webhook_url": slack.url}}},
    )
    assert inline.json()["status"] == "sent"
    assert slack.messages[0]["text"].startswith("Test Notification")

    gone = client.post(
        "/api/notifications/test",
        json={
            "channel": {"type": "discord", "config": {"webhook_url": discord.url.replace("0001/", "0009/")}}
        },
    )
    assert (gone.json()["status"], gone.json()["http_status"]) == ("gone", 404)
    neither = client.post("/api/notifications/test", json={})
    assert neither.status_code == 422
    assert "channel_id" in neither.text


# -- monitors, missed occurrences, dead letters ---------------------------


@pytest.fixture
def quote() -> Iterator[Quote]:
    with running_quote() as q:
        yield q


def test_a_monitor_failing_and_recovering_tells_the_default_channels(
    client: TestClient, handlers: Handlers, quote: Quote, slack: SlackWebhook
) -> None:
    defaults(client, channel(client, "slack", {"webhook_url": slack.url})["id"])
    agent = client.post("/api/agents", json={"workspace_id": "ws-1", "name": "trader"}).json()
    monitor = client.post(
        "/api/proactive/monitors",
        json={
            "name": "Stock Price Monitor",
            "agent_id": agent["id"],
            "workspace_id": "ws-1",
            "source": {"type": "http", "url": quote.url, "select": "data.price"},
            "condition": "value > 150",
            "action": "AAPL is at {value}",
            "check_interval": 60,
        },
    ).json()
    quote.status = 503
    for _ in range(get_settings().monitor_failure_threshold + 1):
        client.post(f"/api/proactive/monitors/{monitor['id']}/check")
    quote.status = 200
    client.post(f"/api/proactive/monitors/{monitor['id']}/check")
    handlers.drain_until(lambda: len(slack.messages) >= 2, timeout=15)

    # (sent concurrently, so in either order)
    recovered, failing = sorted(slack.messages, key=lambda m: str(m["text"]), reverse=True)
    assert failing["text"].startswith("Monitor failing: Stock Price Monitor")
    assert "HTTP 503 from 127.0.0.1" in json.dumps(failing["blocks"])
    assert recovered["text"].startswith("Monitor recovered: Stock Price Monitor")
    assert "140" in json.dumps(recovered["blocks"])


def test_missed_occurrences_are_one_notification_not_one_per_occurrence(
    client: TestClient, handlers: Handlers, ntfy: NtfyServer, aws: Aws
) -> None:
    from proactive import schedules
    from proactive.models.schedules import ScheduleCreate

    defaults(client, channel(client, "ntfy", {"server": ntfy.base_url, "topic": "ops"})["id"])
    agent = client.post("/api/agents", json={"workspace_id": "ws-1", "name": "reporter"}).json()
    body = ScheduleCreate(
        name="Ten-minute sync",
        workspace_id="ws-1",
        agent_id=agent["id"],
        task_description="Sync",
        cron_expression="*/10 * * * *",
        catch_up="skip",
    )
    schedule = schedules.create_schedule(
        aws.store, aws.queue, aws.bus, body, datetime(2026, 5, 1, 0, 0, 30, tzinfo=UTC)
    )
    # After an hour without a dispatcher, six occurrences were missed
    summary = handlers.tick(datetime(2026, 5, 1, 1, 5, tzinfo=UTC))
    assert summary["missed"] == 6
    handlers.drain_until(lambda: len(ntfy.messages) >= 1, timeout=15)
    handlers.drain()

    [message] = ntfy.messages
    assert message["title"] == "Occurrence missed: Ten-minute sync"
    assert "2026-05-01T00:10:00" in message["message"]
    assert f"source_id={schedule.id}&status=missed" in message["message"]
    missed = client.get("/api/runs", params={"source_id": schedule.id, "status": "missed"}).json()["items"]
    assert len(missed) == 6


def test_a_dead_letter_fails_its_run_and_tells_the_default_channels_by_email(
    client: TestClient, handlers: Handlers, aws: Aws
) -> None:
    boto3.client("ses").verify_email_identity(EmailAddress="notifications@proactive.local")
    defaults(client, channel(client, "email", {"to": ["oncall@example.com"]})["id"])
    agent = client.post("/api/agents", json={"workspace_id": "ws-1", "name": "reporter"}).json()
    run = start(client, agent)
    [message] = aws.receive()

    # The message failed every receive and landed in the dead-letter queue
    deadletters = load_handler("deadletters", instance="_t")
    result = deadletters.handler(sqs_event([message], aws.queue_arn), LocalContext("DeadLetterFunction"))
    assert result == {"batchItemFailures": []}
    handlers.drain_until(lambda: settled(client, run["id"]), timeout=15)

    failed = client.get(f"/api/runs/{run['id']}").json()
    assert failed["status"] == "failed"
    assert "failed 5 times and was set aside" in failed["reason"]
    [mail] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert mail.destinations == {"ToAddresses": ["oncall@example.com"]}
    assert mail.subject.startswith("Run failed: reporter")
    assert run["id"] in mail.body
    [entry] = log(client, run_id=run["id"])
    assert entry["status"] == "sent"
    assert entry["answer"].startswith("accepted by Amazon SES as message")


def test_a_notification_whose_message_is_set_aside_is_logged_failed(
    client: TestClient, handlers: Handlers, aws: Aws, discord: DiscordWebhook
) -> None:
    ops = channel(client, "discord", {"webhook_url": discord.url})
    run = start(client, reporter(client, ops["id"]))
    # The run goes; its success notification's message then fails every receive
    [run_message] = aws.receive()
    handlers.deliver([run_message])
    [message] = [m for m in aws.receive() if "notification_id" in m["Body"]]

    deadletters = load_handler("deadletters", instance="_t")
    result = deadletters.handler(sqs_event([message], aws.queue_arn), LocalContext("DeadLetterFunction"))

    assert result == {"batchItemFailures": []}
    [entry] = log(client, run_id=run["id"])
    assert entry["status"] == "failed"
    assert "failed 5 times and was set aside" in entry["reason"]
    assert discord.messages == []


def test_the_log_is_newest_first_and_expires(
    client: TestClient, handlers: Handlers, discord: DiscordWebhook, aws: Aws
) -> None:
    ops = channel(client, "discord", {"webhook_url": discord.url})
    agent = reporter(client, ops["id"])
    runs = []
    for n in range(3):
        runs.append(start(client, agent, task=f"report {n}"))
        time.sleep(0.01)
    handlers.drain_until(lambda: all(settled(client, r["id"]) for r in runs), timeout=30)
    entries = log(client, channel_id=ops["id"])
    finished = sorted(
        (client.get(f"/api/runs/{r['id']}").json() for r in runs),
        key=lambda r: r["finished_at"],
        reverse=True,
    )
    assert [e["run_id"] for e in entries] == [r["id"] for r in finished]
    assert [e["created_at"] for e in entries] == sorted((e["created_at"] for e in entries), reverse=True)
    # Each entry expires (DynamoDB's TTL) after the retention period.
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    [stored] = [i for i in table.scan()["Items"] if i.get("id") == entries[0]["id"]]
    created = datetime.fromisoformat(stored["created_at"].replace("Z", "+00:00"))
    retention = timedelta(days=get_settings().notification_retention_days)
    assert abs(int(stored["ttl"]) - (created + retention).timestamp()) < 5
