"""Sending notices to real receivers on loopback (Discord, Slack, ntfy and a webhook endpoint that
each check what they get as the real services do), to SES in moto and to an SMTP server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from proactive import secret_store
from proactive.models.notifications import ChannelRecord
from proactive.notifications import send as sending
from proactive.notifications.channels import new_channel_secret, validate
from proactive.notifications.notice import Notice
from proactive.notifications.render import Rendered, render
from proactive.notifications.send import Delivery, deliver
from tests.fakes import Disconnect, DiscordWebhook, HttpReply, NtfyServer, SlackWebhook, WebhookReceiver
from tests.fakes.receivers import (
    discord_rate_limited,
    discord_server_error,
    discord_unknown_webhook,
    ntfy_rate_limited,
    slack_channel_is_archived,
    slack_rate_limited,
)
from tests.fakes.smtp import MailHandler, smtp_server
from tests.mockaws import mocked_aws

RUN = "run-0a1b2c3d4e5f60718293a4b5"
MARKER = f"… [truncated] full text in run {RUN}"

NOTICE = Notice(
    event="run.failed",
    title="Run failed: Daily Report (schedule)",
    outcome="failure",
    summary="schedule Daily Report (sched-1) failed: the agent answered HTTP 500",
    fields=(("Source", "schedule Daily Report (sched-1)"), ("Status", "failed"), ("Attempts", "3")),
    body="Traceback: the upstream API refused the key",
    link=f"https://api.example.com/api/runs/{RUN}",
    ref=RUN,
    at=datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC),
    actions=(("Retry", "https://api.example.com/retry?t=abc"),),
)
# A 300-character title and a 10,000-character output, in several scripts.
LONG = replace(
    NOTICE,
    title="Run failed: " + "Überprüfung der Umsätze 📈 " * 12,
    body="Zeile mit Umlauten äöü 🚀\n" * 400,
)


def channel_of(type_: str, config: dict[str, Any], **fields: Any) -> ChannelRecord:
    """A channel of `type_` with this config (and any other `fields`: its workspace, its secret)."""
    made = "2025-03-04T05:06:07Z"
    return ChannelRecord.model_validate(
        {
            "id": "chn-1",
            "workspace_id": "",
            "name": "receiver",
            "type": type_,
            "config": config,
            "is_active": True,
            "created_at": made,
            "updated_at": made,
            **fields,
        }
    )


def send(type_: str, config: dict[str, Any], notice: Notice = LONG, **channel: Any) -> Delivery:
    """Validate the config, render the notice and deliver it, as the platform does."""
    stored = validate(type_, config)
    rendered = render(type_, notice, stored)
    item = channel_of(type_, stored, **channel)
    return deliver(item, rendered, message_id="ntf-0001", now=datetime.now(UTC))


def send_rendered(type_: str, config: dict[str, Any], payload: dict[str, Any]) -> Delivery:
    channel = channel_of(type_, config)
    return deliver(channel, Rendered(type_, payload), message_id="ntf-0001", now=datetime.now(UTC))


# -- Discord ------------------------------------------------------------------------------------------------


def test_discord_takes_a_long_notice_cut_to_its_limits() -> None:
    with DiscordWebhook() as discord:
        delivery = send("discord", {"webhook_url": discord.url})
        assert (delivery.status, delivery.http_status) == ("sent", 204)
        [embed] = discord.messages[0]["embeds"]
    assert embed["title"].startswith("Run failed: Überprüfung der Umsätze 📈")
    assert embed["title"].endswith(MARKER)
    assert embed["description"].endswith(f"{MARKER}\n\n[Retry](https://api.example.com/retry?t=abc)")
    assert embed["color"] == 15158332


def test_discord_rate_limit_is_retried_after_the_seconds_it_asked_for() -> None:
    with DiscordWebhook() as discord:
        discord.script(discord_rate_limited(1.5))
        delivery = send("discord", {"webhook_url": discord.url}, NOTICE)
    assert (delivery.status, delivery.http_status, delivery.retry_after) == ("retry", 429, 1.5)
    assert "rate limited" in delivery.answer


def test_a_deleted_discord_webhook_is_gone_and_its_token_never_repeated() -> None:
    with DiscordWebhook() as discord:
        discord.script(discord_unknown_webhook())
        deleted = send("discord", {"webhook_url": discord.url}, NOTICE)
        wrong_token = send(
            "discord", {"webhook_url": discord.url.replace(discord.token, "reset-token")}, NOTICE
        )
    assert (deleted.status, deleted.http_status) == ("gone", 404)
    assert deleted.reason is not None
    assert deleted.reason.startswith("Discord says the webhook no longer exists (Unknown Webhook)")
    assert (wrong_token.status, wrong_token.http_status) == ("gone", 401)
    assert "Invalid Webhook Token" in str(wrong_token.reason)
    for delivery in (deleted, wrong_token):
        assert discord.token not in f"{delivery.answer} {delivery.reason}"
        assert "reset-token" not in f"{delivery.answer} {delivery.reason}"


def test_discord_refusing_a_message_fails_with_what_it_found_wrong() -> None:
    with DiscordWebhook() as discord:
        delivery = send_rendered(
            "discord", {"webhook_url": discord.url}, {"embeds": [{"title": "x", "description": "d" * 5000}]}
        )
    assert (delivery.status, delivery.http_status) == ("failed", 400)
    assert delivery.reason == (
        "Discord refused the message (HTTP 400: Invalid Form Body; "
        "embeds.0.description: Must be 4096 or fewer in length.)."
    )


def test_discord_outages_and_dropped_connections_are_retried() -> None:
    with DiscordWebhook() as discord:
        discord.script(discord_server_error(502), Disconnect())
        outage = send("discord", {"webhook_url": discord.url}, NOTICE)
        dropped = send("discord", {"webhook_url": discord.url}, NOTICE)
    assert (outage.status, outage.http_status) == ("retry", 502)
    assert (dropped.status, dropped.http_status) == ("retry", None)
    assert discord.token not in dropped.answer


# -- Slack --------------------------------------------------------------------------------------------------


def test_slack_takes_a_long_notice_cut_to_its_limits() -> None:
    with SlackWebhook() as slack:
        delivery = send("slack", {"webhook_url": slack.url})
        assert (delivery.status, delivery.http_status, delivery.answer) == ("sent", 200, "ok")
        [message] = slack.messages
    header, section = message["blocks"][0]["text"]["text"], message["blocks"][1]["text"]["text"]
    assert header.endswith(MARKER)
    assert section.endswith(MARKER)
    assert message["blocks"][-1]["elements"][0]["url"] == "https://api.example.com/retry?t=abc"


def test_an_archived_slack_channel_is_gone() -> None:
    with SlackWebhook() as slack:
        slack.script(slack_channel_is_archived())
        delivery = send("slack", {"webhook_url": slack.url}, NOTICE)
    assert (delivery.status, delivery.http_status, delivery.answer) == ("gone", 410, "channel_is_archived")
    assert str(delivery.reason).startswith("The Slack channel the webhook posts to is archived")


def test_a_removed_slack_webhook_is_gone_without_repeating_its_url() -> None:
    with SlackWebhook() as slack:
        delivery = send("slack", {"webhook_url": slack.url.replace("XXXX", "YYYY")}, NOTICE)
    assert (delivery.status, delivery.http_status, delivery.answer) == ("gone", 404, "no_service")
    assert "/services/" not in f"{delivery.answer} {delivery.reason}"


def test_slack_rate_limit_and_invalid_blocks() -> None:
    with SlackWebhook() as slack:
        slack.script(slack_rate_limited(30))
        limited = send("slack", {"webhook_url": slack.url}, NOTICE)
        invalid = send_rendered("slack", {"webhook_url": slack.url}, {"blocks": [{"type": "divider"}] * 51})
    assert (limited.status, limited.retry_after) == ("retry", 30.0)
    assert (invalid.status, invalid.http_status, invalid.answer) == ("failed", 400, "invalid_blocks")


# -- ntfy ---------------------------------------------------------------------------------------------------


def test_ntfy_takes_a_long_multibyte_notice_within_its_byte_limit() -> None:
    with NtfyServer() as ntfy:
        delivery = send("ntfy", {"server": ntfy.url, "topic": "ops-alerts"})
        assert (delivery.status, delivery.http_status) == ("sent", 200)
        [published] = ntfy.messages
    assert published["topic"] == "ops-alerts"
    assert 4000 < len(published["message"].encode()) <= 4096
    assert published["message"].endswith(MARKER)
    assert (published["priority"], published["tags"]) == (4, ["x", "run.failed"])
    assert published["click"] == NOTICE.link


def test_ntfy_rate_limit_without_retry_after_waits_at_least_five_seconds() -> None:
    with NtfyServer() as ntfy:
        ntfy.script(ntfy_rate_limited())
        delivery = send("ntfy", {"server": ntfy.url, "topic": "ops"}, NOTICE)
    assert (delivery.status, delivery.http_status) == ("retry", 429)
    assert delivery.retry_after is not None
    assert delivery.retry_after >= 5


def test_ntfy_token_comes_from_the_named_secret() -> None:
    secret_store.put("ws-1", "ntfy-token", "tk_right")
    named = {"token_secret": "ntfy-token"}
    with NtfyServer(token="tk_right") as ntfy:
        sent = send("ntfy", {"server": ntfy.url, "topic": "ops", **named}, NOTICE, workspace_id="ws-1")
        assert ntfy.requests.last.header("authorization") == "Bearer tk_right"
        without = send("ntfy", {"server": ntfy.url, "topic": "ops"}, NOTICE, workspace_id="ws-1")
        secret_store.put("ws-1", "ntfy-token", "tk_wrong")
        wrong = send("ntfy", {"server": ntfy.url, "topic": "ops", **named}, NOTICE, workspace_id="ws-1")
        unset = {"token_secret": "not-set"}
        missing = send("ntfy", {"server": ntfy.url, "topic": "ops", **unset}, NOTICE, workspace_id="ws-1")
        # Another workspace's channel naming the same secret does not get it.
        elsewhere = send("ntfy", {"server": ntfy.url, "topic": "ops", **named}, NOTICE, workspace_id="ws-2")
        assert len(ntfy.requests) == 3
    assert sent.status == "sent"
    assert (without.status, without.http_status) == ("gone", 403)
    assert (wrong.status, wrong.http_status) == ("gone", 401)
    assert "tk_wrong" not in f"{wrong.answer} {wrong.reason}"
    assert (missing.status, missing.http_status) == ("failed", None)
    assert "'not-set' is not set" in str(missing.reason)
    assert (elsewhere.status, elsewhere.http_status) == ("failed", None)
    assert "secret 'ntfy-token' is not set in workspace 'ws-2'" in str(elsewhere.reason)


# -- webhook ------------------------------------------------------------------------------------------------


def test_webhook_delivery_is_signed_with_the_channels_secret() -> None:
    secret = new_channel_secret()
    with WebhookReceiver(secret=secret) as receiver:
        delivery = send("webhook", {"url": receiver.url}, NOTICE, secret=secret)
        assert (delivery.status, delivery.http_status) == ("sent", 200)
        [check] = receiver.verifications
        assert check.ok, check.error
    assert check.request.header("webhook-id") == "ntf-0001"
    event = json.loads(check.request.body)
    assert (event["type"], event["ref"], event["body"]) == ("run.failed", RUN, NOTICE.body)


def test_webhook_answers_are_classified() -> None:
    secret = new_channel_secret()
    with WebhookReceiver(secret=secret) as receiver:
        receiver.script(
            HttpReply(410, {"error": "unsubscribed"}),
            HttpReply(503, "busy", {"Retry-After": "7"}),
            HttpReply(422, {"error": "unknown event type"}),
            HttpReply(302, None, {"Location": "https://elsewhere.example/hook"}),
        )
        gone, busy, refused, moved = (
            send("webhook", {"url": receiver.url}, NOTICE, secret=secret) for _ in "1234"
        )
        unsigned = send("webhook", {"url": receiver.url}, NOTICE, secret=new_channel_secret())
    assert (gone.status, gone.http_status) == ("gone", 410)
    assert (busy.status, busy.retry_after, busy.answer) == ("retry", 7.0, "busy")
    assert (refused.status, refused.answer) == ("failed", '{"error": "unknown event type"}')
    assert (moved.status, moved.http_status) == ("failed", 302)
    assert (unsigned.status, unsigned.http_status) == ("failed", 401)
    assert "current secret" in str(unsigned.reason)


# -- email --------------------------------------------------------------------------------------------------


def test_email_through_ses() -> None:
    with mocked_aws():
        ses = boto3.client("ses")
        ses.verify_email_identity(EmailAddress="notifications@proactive.local")
        delivery = send("email", {"to": ["ops@example.com", "cto@example.com"], "subject_prefix": "[ops]"})
        [message] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
        statistics = ses.get_send_statistics()["SendDataPoints"]
    assert delivery.status == "sent"
    assert delivery.answer == f"accepted by Amazon SES as message {message.id}"
    assert message.source == "notifications@proactive.local"
    assert message.destinations == {"ToAddresses": ["ops@example.com", "cto@example.com"]}
    assert message.subject.startswith("[ops] Run failed: Überprüfung")
    assert message.subject.endswith(MARKER)
    assert "Zeile mit Umlauten äöü 🚀" in message.body
    assert statistics[0]["DeliveryAttempts"] == 2


def test_email_from_an_unverified_sender_fails_saying_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_FROM", "alerts@example.org")
    with mocked_aws():
        delivery = send("email", {"to": ["ops@example.com"]}, NOTICE)
    assert delivery.status == "failed"
    assert delivery.reason == (
        "Amazon SES refused the message (MessageRejected: Email address not verified alerts@example.org)."
        " Verify the addresses in Amazon SES."
    )


def test_ses_throttling_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    client = boto3.client("ses", region_name="us-east-1")  # a client of its own: it is stubbed
    stubber = Stubber(client)
    stubber.add_client_error(
        "send_email", "Throttling", "Maximum sending rate exceeded.", http_status_code=400
    )
    monkeypatch.setattr(sending, "_ses_client", lambda: client)
    with stubber:
        delivery = send("email", {"to": ["ops@example.com"]}, NOTICE)
    assert (delivery.status, delivery.answer) == ("retry", "Throttling: Maximum sending rate exceeded.")


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[MailHandler]:
    """An SMTP server on loopback asking for a login, and the settings that point email at it."""
    with smtp_server() as (handler, env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield handler


# The server is on loopback: a login without TLS is what the test needs.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_through_smtp(smtp: MailHandler) -> None:
    delivery = send("email", {"to": ["ops@example.com", "cto@example.com"], "subject_prefix": "[ops]"})
    assert (delivery.status, delivery.answer) == ("sent", "accepted by 127.0.0.1 for 2 of 2 recipients")
    [(envelope, message)] = smtp.received
    assert envelope.rcpt_tos == ["ops@example.com", "cto@example.com"]
    assert message["From"] == "Proactive <alerts@example.org>"
    assert message["To"] == "ops@example.com, cto@example.com"
    assert envelope.mail_from == "alerts@example.org"
    assert b"\r\nMessage-ID: <ntf-0001@example.org>\r\n" in bytes(envelope.content or b"")
    assert str(message["Subject"]).startswith("[ops] Run failed: Überprüfung der Umsätze 📈")
    assert str(message["Subject"]).endswith(MARKER)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "Zeile mit Umlauten äöü 🚀" in text.get_content()
    assert "Retry: https://api.example.com/retry?t=abc" in text.get_content()
    assert '<a href="https://api.example.com/retry?t=abc">Retry</a>' in html.get_content()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_answers_are_classified(smtp: MailHandler, monkeypatch: pytest.MonkeyPatch) -> None:
    smtp.refuse_data = "451 4.3.0 Try again later"
    later = send("email", {"to": ["ops@example.com"]}, NOTICE)
    smtp.refuse_data, smtp.refuse_rcpt = None, "550 5.1.1 No such mailbox"
    nobody = send("email", {"to": ["ops@example.com"]}, NOTICE)
    monkeypatch.setenv("PROACTIVE_SECRET_SMTP_PASSWORD", "wrong")
    login = send("email", {"to": ["ops@example.com"]}, NOTICE)
    monkeypatch.setenv("SMTP_PORT", "1")
    unreachable = send("email", {"to": ["ops@example.com"]}, NOTICE)
    assert (later.status, later.answer) == ("retry", "451 4.3.0 Try again later")
    assert (nobody.status, nobody.answer) == ("failed", "ops@example.com: 550 5.1.1 No such mailbox")
    assert login.status == "failed"
    assert "check SMTP_USERNAME and SMTP_PASSWORD_SECRET" in str(login.reason)
    assert unreachable.status == "retry"
    assert smtp.received == []
