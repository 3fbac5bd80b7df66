"""Notifications through the local stack, to receivers on loopback standing in for Discord, Slack
and ntfy (each checks the exact JSON it gets, and its size limits, as the service does), to moto's
SES and to an SMTP server; and autonomous mode telling Discord what its agent did."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.waiting import eventually
from tests.fakes import AgentService, DiscordWebhook, NtfyServer, Output, SlackWebhook
from tests.fakes.agent_service import unavailable
from tests.fakes.receivers import discord_rate_limited, discord_unknown_webhook
from tests.fakes.smtp import smtp_server
from tests.localstack import Stack, running_stack

pytestmark = pytest.mark.e2e
WS = "ws-notify"
SUCCESS, FAILURE = 5814783, 15158332
# Ten thousand characters in several scripts: more than any receiver takes in one message.
LONG_OUTPUT = "Bericht über die Umsätze 📈 — 売上レポート — all green.\n" * 180


@pytest.fixture
def receivers() -> Iterator[tuple[DiscordWebhook, SlackWebhook, NtfyServer]]:
    with DiscordWebhook() as discord, SlackWebhook() as slack, NtfyServer() as ntfy:
        yield discord, slack, ntfy


@pytest.fixture
def service() -> Iterator[AgentService]:
    with AgentService() as s:
        yield s


def make_channel(c: httpx.Client, type_: str, config: dict[str, Any], name: str) -> str:
    resp = c.post(
        "/api/notifications/channels",
        json={"workspace_id": WS, "name": name, "type": type_, "config": config},
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def make_agent(c: httpx.Client, service: AgentService, name: str, notify: dict[str, Any]) -> dict[str, Any]:
    resp = c.post(
        "/api/agents",
        json={
            "workspace_id": WS,
            "name": name,
            "runtime": "http",
            "config": {"url": service.url},
            "notify": notify,
        },
    )
    assert resp.status_code == 201, resp.text
    service.secret = resp.json()["secret"]
    return dict(resp.json())


def settled(c: httpx.Client, run_id: str) -> list[dict[str, Any]] | None:
    """The run's notifications once the run is over and every one of them is done with."""
    if c.get(f"/api/runs/{run_id}").json()["status"] in ("queued", "running"):
        return None
    items = c.get("/api/notifications/log", params={"run_id": run_id}).json()["items"]
    done = items and all(n["status"] in ("sent", "failed", "dropped") for n in items)
    return list(items) if done else None


def run(c: httpx.Client, agent: dict[str, Any], task: str) -> str:
    resp = c.post("/api/runs", json={"workspace_id": WS, "agent_id": agent["id"], "task": task})
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


def test_a_run_that_fails_twice_then_succeeds_tells_each_receiver_once_within_its_limits(
    stack: Stack, service: AgentService, receivers: tuple[DiscordWebhook, SlackWebhook, NtfyServer]
) -> None:
    discord, slack, ntfy = receivers
    with stack.client(WS) as c:
        channels = [
            make_channel(c, "discord", {"webhook_url": discord.url}, "deploys (discord)"),
            make_channel(c, "slack", {"webhook_url": slack.url}, "deploys (slack)"),
            make_channel(c, "ntfy", {"server": ntfy.base_url, "topic": "deploys"}, "deploys (ntfy)"),
        ]
        agent = make_agent(c, service, "reporter", {"channels": channels, "on": ["success", "failure"]})
        service.script(unavailable(retry_after=1), unavailable(retry_after=1), Output(LONG_OUTPUT))

        run_id = run(c, agent, "Write the sales report")
        entries = eventually(lambda: settled(c, run_id), what="the run and its notifications")

    assert sorted((e["channel_type"], e["status"], e["event"]) for e in entries) == [
        ("discord", "sent", "run.succeeded"),
        ("ntfy", "sent", "run.succeeded"),
        ("slack", "sent", "run.succeeded"),
    ]
    marker = f"… [truncated] full text in run {run_id}"
    # Discord: one embed, within 4,096 characters of description and 6,000 in all
    [message] = discord.messages
    [embed] = message["embeds"]
    assert (embed["title"], embed["color"]) == ("Run succeeded: reporter", SUCCESS)
    assert len(embed["description"]) <= 4096
    assert embed["description"].endswith(marker)
    assert "Bericht über die Umsätze 📈 — 売上レポート" in embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert (fields["Attempts"], fields["Status"], fields["Agent"]) == ("3", "succeeded", "reporter")
    assert embed["url"] == f"{stack.base_url}/console/{WS}/runs/{run_id}"
    # Slack: text plus blocks, each section within 3,000 characters
    [posted] = slack.messages
    assert posted["text"].startswith("Run succeeded: reporter")
    sections = [b["text"]["text"] for b in posted["blocks"] if b["type"] == "section" and "text" in b]
    assert all(len(s) <= 3000 for s in sections)
    assert any(marker in s for s in sections)
    # ntfy: JSON publishing, within 4,096 bytes of message
    [published] = ntfy.messages
    assert (published["topic"], published["title"], published["priority"]) == (
        "deploys",
        "Run succeeded: reporter",
        3,
    )
    assert published["tags"] == ["white_check_mark", "tada", "run.succeeded"]
    assert len(published["message"].encode()) <= 4096
    assert published["message"].endswith(marker)


def test_a_run_that_fails_for_good_is_exactly_one_failure_notification(
    stack: Stack, service: AgentService, receivers: tuple[DiscordWebhook, SlackWebhook, NtfyServer]
) -> None:
    discord, slack, _ = receivers
    with stack.client(WS) as c:
        ops = make_channel(c, "discord", {"webhook_url": discord.url}, "failures (discord)")
        agent = make_agent(c, service, "flaky", {"channels": [ops], "on": ["failure"]})
        service.default = unavailable(retry_after=1)

        run_id = run(c, agent, "Sync the ledger")
        eventually(lambda: settled(c, run_id), what="the failed run's notification")
        failed = c.get(f"/api/runs/{run_id}").json()
    time.sleep(2)  # nothing more arrives later

    assert (failed["status"], failed["attempts"]) == ("failed", 3)
    [message] = discord.messages
    [embed] = message["embeds"]
    assert (embed["title"], embed["color"]) == ("Run failed: flaky", FAILURE)
    assert "503" in embed["description"]
    assert {f["name"]: f["value"] for f in embed["fields"]}["Attempts"] == "3"
    assert slack.messages == []


def test_a_receiver_asking_to_wait_gets_the_message_after_that_long(
    stack: Stack, service: AgentService, receivers: tuple[DiscordWebhook, SlackWebhook, NtfyServer]
) -> None:
    discord, _, _ = receivers
    with stack.client(WS) as c:
        ops = make_channel(c, "discord", {"webhook_url": discord.url}, "rate limited")
        agent = make_agent(c, service, "quick", {"channels": [ops], "on": ["success"]})
        service.script(Output("done"))
        discord.script(discord_rate_limited(retry_after=1.5))

        run_id = run(c, agent, "Say done")
        [entry] = eventually(lambda: settled(c, run_id), what="the notification")

    limited, accepted = discord.requests
    assert (limited.status, accepted.status) == (429, 204)
    assert accepted.received_at - limited.received_at >= 1.5
    assert (entry["status"], entry["attempts"]) == ("sent", 2)


def test_a_receiver_saying_the_webhook_is_gone_turns_its_channel_off(
    stack: Stack, service: AgentService, receivers: tuple[DiscordWebhook, SlackWebhook, NtfyServer]
) -> None:
    discord, _, _ = receivers
    with stack.client(WS) as c:
        ops = make_channel(c, "discord", {"webhook_url": discord.url}, "deleted webhook")
        agent = make_agent(c, service, "quiet", {"channels": [ops], "on": ["success"]})
        service.default = Output("ok")
        discord.default = discord_unknown_webhook()

        first = run(c, agent, "One")
        [entry] = eventually(lambda: settled(c, first), what="the notification")
        channel = c.get(f"/api/notifications/channels/{ops}").json()
        second = run(c, agent, "Two")
        [dropped] = eventually(lambda: settled(c, second), what="the second notification")

    assert (entry["status"], entry["http_status"]) == ("failed", 404)
    assert channel["is_active"] is False
    assert "Unknown Webhook" in channel["disabled_reason"]
    assert dropped["status"] == "dropped"
    assert len(discord.requests) == 1


def test_email_goes_through_moto_ses_and_the_stack_shows_it(stack: Stack, service: AgentService) -> None:
    with stack.client(WS) as c:
        mail = make_channel(c, "email", {"to": ["oncall@example.com"], "subject_prefix": "[ops]"}, "on call")
        agent = make_agent(c, service, "mailer", {"channels": [mail], "on": ["success"]})
        service.script(Output("Nightly export finished: 1,204 rows."))
        run_id = run(c, agent, "Export")
        [entry] = eventually(lambda: settled(c, run_id), what="the email")

    assert entry["status"] == "sent", entry
    assert entry["answer"].startswith("accepted by Amazon SES as message")
    # What was sent is on moto's data page, as the stack's banner says
    assert "/moto-api/data.json (ses.Message)" in stack.log.read_text()
    data = httpx.get(f"http://127.0.0.1:{stack.moto_port}/moto-api/data.json", timeout=10).json()
    sent = [m for m in data["ses"]["Message"] if m["destinations"] == {"ToAddresses": ["oncall@example.com"]}]
    assert len(sent) == 1
    assert sent[0]["subject"].startswith("[ops] Run succeeded: mailer")
    assert "Nightly export finished: 1,204 rows." in sent[0]["body"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_goes_through_smtp_when_it_is_set(tmp_path: Path, service: AgentService) -> None:
    with smtp_server() as (mailbox, env):
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            with running_stack(tmp_path / "stack.log") as smtp_stack, smtp_stack.client(WS) as c:
                mail = make_channel(c, "email", {"to": ["ops@example.com"]}, "smtp")
                agent = make_agent(c, service, "mailer", {"channels": [mail], "on": ["success"]})
                service.script(Output("Invoices sent: 42."))
                run_id = run(c, agent, "Send invoices")
                [entry] = eventually(lambda: settled(c, run_id), what="the email")
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    assert (entry["status"], entry["answer"]) == ("sent", "accepted by 127.0.0.1 for 1 of 1 recipients")
    [(envelope, message)] = mailbox.received
    assert envelope.rcpt_tos == ["ops@example.com"]
    assert str(message["Subject"]).startswith("Run succeeded: mailer")
    text = message.get_body(("plain",))
    assert text is not None
    assert "Invoices sent: 42." in text.get_content()


def test_autonomous_execution_tells_discord_what_its_agent_did(
    stack: Stack, service: AgentService, receivers: tuple[DiscordWebhook, SlackWebhook, NtfyServer]
) -> None:
    discord, _, _ = receivers
    workspace = "ws-autonomous"
    with stack.client(workspace) as c:
        created = c.post(
            "/api/agents",
            json={
                "workspace_id": workspace,
                "name": "executor",
                "runtime": "http",
                "config": {"url": service.url},
            },
        ).json()
        service.secret = created["secret"]
        service.script(Output("Closed 2 stale incidents and re-ran the failed nightly export."))
        saved = c.put(
            "/api/autonomous/config",
            json={
                "enabled": True,
                "frequency": "15min",
                "agent_id": created["id"],
                "discord_webhook": discord.url,
            },
        ).json()
        assert discord.token not in json.dumps(saved)

        started = c.post("/api/autonomous/execute")
        assert started.status_code == 202, started.text
        run_id = started.json()["run"]["id"]
        eventually(lambda: len(discord.messages) >= 2, what="the start and completion embeds")
        config = c.get("/api/autonomous/config").json()

    start, done = (m["embeds"][0] for m in discord.messages)
    assert (start["title"], start["color"]) == ("Autonomous agent started: executor", SUCCESS)
    assert (done["title"], done["color"]) == ("Autonomous agent succeeded: executor", SUCCESS)
    assert "Closed 2 stale incidents and re-ran the failed nightly export." in done["description"]
    assert done["url"] == f"{stack.base_url}/console/{workspace}/runs/{run_id}"
    assert config["last_execution"] is not None
    assert config["active_run_id"] is None  # over: nothing running
