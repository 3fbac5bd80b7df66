"""Channel configs: what each type accepts, what it refuses and why, and what the API shows of it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from proactive.errors import InvalidInput
from proactive.notifications.channels import mask, new_channel_secret, validate
from proactive.settings import get_settings

TOKEN = "Zb3xQ_secret-token-9f8e7d6c5b4a"
DISCORD = f"https://discord.com/api/webhooks/1180000000000000001/{TOKEN}"
SLACK = "https://hooks.slack.com/services/T0AAA1111/B0BBB2222/abcDEF123ghiJKL456mnoPQR"

# What host names resolve to in these tests (no DNS here): a public look-alike and a local receiver.
_NAMES = {
    "hooks.slack.com.evil.example": "93.184.215.7",
    "discord.com.evil.example": "93.184.215.8",
    "receiver.test": "127.0.0.1",
}
_real_getaddrinfo = socket.getaddrinfo


def _resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    if host in _NAMES:
        return _real_getaddrinfo(_NAMES[host], port, *args, **kwargs)
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in str(host) else socket.AF_INET, str(host))
    except OSError:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
    return _real_getaddrinfo(host, port, *args, **kwargs)


@pytest.fixture(autouse=True)
def _names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _resolve)


@pytest.fixture
def nothing_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The production default: no private network allowed, loopback included."""
    monkeypatch.setenv("OUTBOUND_ALLOW_NETWORKS", "")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def refused(type_: str, config: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        validate(type_, config)
    return caught.value


@pytest.mark.parametrize(
    "url",
    [
        DISCORD,
        DISCORD.replace("discord.com", "discordapp.com"),
        DISCORD.replace("discord.com", "ptb.discord.com"),
        DISCORD.replace("discord.com", "canary.discordapp.com"),
        DISCORD.replace("/api/", "/api/v10/"),
        DISCORD + "?thread_id=1180000000000000009",
    ],
)
def test_discord_takes_its_own_webhook_urls(url: str) -> None:
    assert validate("discord", {"webhook_url": url, "username": "Ops bot"}) == {
        "webhook_url": url,
        "username": "Ops bot",
    }


@pytest.mark.parametrize(
    "url",
    [
        f"https://discord.example.com/api/webhooks/1/{TOKEN}",
        f"https://discord.com.evil.example/api/webhooks/1/{TOKEN}",
        f"https://discord.com@93.184.215.8/api/webhooks/1/{TOKEN}",
        f"http://discord.com/api/webhooks/1/{TOKEN}",
        f"https://discord.com:8443/api/webhooks/1/{TOKEN}",
        "https://discord.com/api/webhooks/1180000000000000001",
        f"https://discord.com/api/channels/1/{TOKEN}",
        f"https://discord.com/api/webhooks/abc/{TOKEN}",
        DISCORD + "?wait=true&redirect=https://evil.example",
    ],
)
def test_discord_refuses_any_other_url(url: str) -> None:
    assert refused("discord", {"webhook_url": url}).field == "config.webhook_url"


DISCORD_HOSTS = "canary.discord.com, canary.discordapp.com, discord.com, discordapp.com, ptb.discord.com, "
DISCORD_HOSTS += "ptb.discordapp.com"
LETTERS = "may hold only letters, digits, '-' and '_'"


@pytest.mark.parametrize(
    ("type_", "url", "problem"),
    [
        (
            "discord",
            f"https://discord.example.com/api/webhooks/1/{TOKEN}",
            f"the host 'discord.example.com' is not Discord's ({DISCORD_HOSTS})",
        ),
        ("discord", "https://discord.com/api/webhooks/123/abc...", f"the token {LETTERS}, not '.'"),
        (
            "discord",
            f"https://discord.com/api/webhooks/abc/{TOKEN}",
            "the id 'abc' is not a number of at most 25 digits",
        ),
        (
            "discord",
            "https://discord.com/api/webhooks/1180000000000000001",
            "the token after the id is missing",
        ),
        ("discord", f"https://discord.com/api/channels/1/{TOKEN}", "the path must start with /api/webhooks/"),
        ("discord", f"https://discord.com/api/webhooks/1/{TOKEN}/x", "nothing may follow the token"),
        ("discord", f"http://discord.com/api/webhooks/1/{TOKEN}", "it must be https on the default port"),
        ("discord", f"{DISCORD}?wait=true", "its only query may be thread_id=<numeric id>"),
        ("slack", "https://hooks.slack.com/services/T…/B…/…", f"the team id 'T…' {LETTERS}, not '…'"),
        (
            "slack",
            "https://hooks.slack.com/services/T0AAA1111/B…/abc",
            f"the webhook id 'B…' {LETTERS}, not '…'",
        ),
        (
            "slack",
            f"https://hooks.slack.com/services/T0AAA1111/B0BBB2222/{TOKEN}.",
            f"the token {LETTERS}, not '.'",
        ),
        (
            "slack",
            "https://hooks.slack.com/services/T0AAA1111",
            "it needs the team id, the webhook id and the token after /services/",
        ),
        (
            "slack",
            "https://hooks.slack.com/triggers/T0AAA1111/123/abc",
            "the path must start with /services/",
        ),
        ("slack", f"{SLACK}?x=1", "it has no query"),
    ],
)
def test_a_refused_webhook_url_says_which_part_is_wrong(type_: str, url: str, problem: str) -> None:
    shape = {
        "discord": "a Discord webhook URL is https://discord.com/api/webhooks/<numeric id>/<token>",
        "slack": "a Slack webhook URL is https://hooks.slack.com/services/<team id>/<webhook id>/<token>",
    }[type_]
    error = refused(type_, {"webhook_url": url})
    assert (error.field, error.message) == ("config.webhook_url", f"config.webhook_url: {shape}; {problem}")
    assert TOKEN not in error.message  # the token is a secret: never repeated


@pytest.mark.parametrize(
    ("type_", "key", "value", "problem"),
    [
        ("discord", "username", "Ops\x00bot", "control characters (U+0000 at position 4)"),
        (
            "discord",
            "username",
            "Ops \u202ebot",
            "bidirectional formatting characters (U+202E at position 5)",
        ),
        ("email", "subject_prefix", "[ops]\x85urgent", "control characters (U+0085 at position 6)"),
    ],
)
def test_names_a_message_shows_refuse_control_and_bidi_characters(
    type_: str, key: str, value: str, problem: str
) -> None:
    config = {"discord": {"webhook_url": DISCORD}, "email": {"to": ["ops@example.com"]}}[type_]
    error = refused(type_, {**config, key: value})
    assert error.message == f"config.{key}: must not contain {problem}"


@pytest.mark.parametrize(
    "url",
    [
        SLACK.replace("hooks.slack.com", "hooks.slack.com.evil.example"),
        SLACK.replace("hooks.slack.com", "hooks.slack.co"),
        SLACK.replace("https://hooks.slack.com", "https://hooks.slack.com@93.184.215.7"),
        SLACK.replace("https:", "http:"),
        "https://hooks.slack.com/triggers/T0AAA1111/123/abc",
        "https://hooks.slack.com/services/T0AAA1111",
    ],
)
def test_slack_refuses_look_alikes(url: str) -> None:
    assert refused("slack", {"webhook_url": url}).field == "config.webhook_url"


def test_slack_takes_its_own_webhook_url() -> None:
    assert validate("slack", {"webhook_url": f"  {SLACK} "}) == {"webhook_url": SLACK}


@pytest.mark.parametrize(
    ("type_", "url"),
    [
        ("discord", f"http://127.0.0.1:8080/api/webhooks/42/{TOKEN}"),
        ("discord", f"http://[::1]:8080/api/webhooks/42/{TOKEN}"),
        ("discord", f"http://receiver.test:8080/api/webhooks/42/{TOKEN}"),
        ("slack", "http://127.0.0.1:9000/services/T000FAKE/B000FAKE/XXXXXXXX"),
    ],
)
def test_receivers_on_an_allowed_network_stand_in_for_the_service(
    type_: str, url: str, nothing_allowed: None
) -> None:
    # Refused where the allow-list is empty, as in production...
    assert refused(type_, {"webhook_url": url}).field == "config.webhook_url"
    # ...and taken where it names loopback, as the local stack and the tests do.
    get_settings.cache_clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTBOUND_ALLOW_NETWORKS", "127.0.0.0/8,::1/128")
        get_settings.cache_clear()
        assert validate(type_, {"webhook_url": url}) == {"webhook_url": url}
    get_settings.cache_clear()


def test_a_receiver_on_an_allowed_network_still_needs_the_services_path_shape() -> None:
    assert refused("discord", {"webhook_url": "http://127.0.0.1:8080/hook"}).field == "config.webhook_url"
    assert refused("slack", {"webhook_url": "http://127.0.0.1:8080/api/webhooks/1/x"}).field == (
        "config.webhook_url"
    )


def test_discord_username_follows_discords_rules() -> None:
    assert refused("discord", {"webhook_url": DISCORD, "username": "x" * 81}).field == "config.username"
    assert "Discord refuses" in refused("discord", {"webhook_url": DISCORD, "username": "My Discord"}).message


def test_ntfy_fills_in_the_public_server_and_checks_the_topic() -> None:
    assert validate("ntfy", {"topic": "ops-alerts_1"}) == {
        "server": "https://ntfy.sh",
        "topic": "ops-alerts_1",
    }
    for topic in ("", "a" * 65, "ops alerts", "ops/alerts", "ünïcode", 42):
        assert refused("ntfy", {"topic": topic}).field == "config.topic"
    assert validate("ntfy", {"topic": "a" * 64})["topic"] == "a" * 64


def test_ntfy_token_is_a_secret_name_and_priority_is_one_to_five() -> None:
    config = {"topic": "ops", "token_secret": "ntfy.token", "priority": 5}
    assert validate("ntfy", config) == {"server": "https://ntfy.sh", **config}
    assert refused("ntfy", {"topic": "ops", "token_secret": "tk_abc def"}).field == "config.token_secret"
    for priority in (0, 6, True, "5", 2.5):
        assert refused("ntfy", {"topic": "ops", "priority": priority}).field == "config.priority"


def test_ntfy_server_passes_the_outbound_guard(nothing_allowed: None) -> None:
    error = refused("ntfy", {"topic": "ops", "server": "http://127.0.0.1:8080"})
    assert error.field == "config.server"
    assert "loopback" in error.message
    assert refused("ntfy", {"topic": "ops", "server": "http://10.1.2.3"}).field == "config.server"
    assert (
        validate("ntfy", {"topic": "ops", "server": "https://93.184.215.9/"})["server"]
        == "https://93.184.215.9"
    )


def test_ntfy_server_on_an_allowed_network_is_taken() -> None:
    assert validate("ntfy", {"topic": "ops", "server": "http://127.0.0.1:8080/"}) == {
        "server": "http://127.0.0.1:8080",
        "topic": "ops",
    }


def test_email_needs_one_to_fifty_distinct_addresses() -> None:
    assert validate(
        "email", {"to": ["ops@example.com", "a.b+tag@mail.example.org"], "subject_prefix": "[ops]"}
    ) == {
        "to": ["ops@example.com", "a.b+tag@mail.example.org"],
        "subject_prefix": "[ops]",
    }
    for to in ([], [f"u{i}@example.com" for i in range(51)], "ops@example.com"):
        assert refused("email", {"to": to}).field == "config.to"
    for address in (
        "ops",
        "ops@localhost",
        "ops@@example.com",
        "ops@example.com\nBcc: x@evil.example",
        "a b@x.io",
    ):
        assert refused("email", {"to": [address]}).field == "config.to"
    assert "more than once" in refused("email", {"to": ["Ops@example.com", "ops@example.com"]}).message


def test_email_subject_prefix_is_one_line() -> None:
    error = refused("email", {"to": ["ops@example.com"], "subject_prefix": "[ops]\r\nBcc: x@evil.example"})
    assert error.field == "config.subject_prefix"


def test_webhook_url_passes_the_outbound_guard(nothing_allowed: None) -> None:
    for url in (
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/hook",
        "http://127.0.0.1:9000/hook",
    ):
        assert refused("webhook", {"url": url}).field == "config.url"
    for url in (
        "ftp://93.184.215.9/hook",
        "https://user:pw@93.184.215.9/hook",
        "https://unknown.invalid/hook",
    ):
        assert refused("webhook", {"url": url}).field == "config.url"
    assert validate("webhook", {"url": "https://93.184.215.9/hook?team=ops"}) == {
        "url": "https://93.184.215.9/hook?team=ops"
    }


def test_unknown_types_keys_and_wrong_types_name_the_field() -> None:
    assert refused("teams", {"webhook_url": DISCORD}).field == "type"
    assert refused("discord", [DISCORD]).field == "config"
    error = refused("discord", {"webhook_url": DISCORD, "channel": "#ops"})
    assert (error.field, error.details) == (
        "config.channel",
        [
            {
                "field": "config.channel",
                "message": "is not a setting of a discord channel (settings: webhook_url, username)",
            }
        ],
    )
    assert refused("slack", {}).field == "config.webhook_url"
    assert refused("slack", {"webhook_url": 42}).field == "config.webhook_url"
    assert (
        refused("webhook", {"url": "https://93.184.215.9/hook", "secret": "whsec_x"}).field == "config.secret"
    )


def test_masking_keeps_enough_to_recognise_a_webhook_but_never_its_token() -> None:
    shown = mask("discord", {"webhook_url": DISCORD, "username": "Ops bot"})
    assert shown == {"webhook_url": "https://discord.com/api/webhooks/1180…/••••", "username": "Ops bot"}
    slack = mask("slack", {"webhook_url": SLACK})["webhook_url"]
    assert slack == "https://hooks.slack.com/services/T0AAA1111/B0BBB2222/••••"
    local = mask("discord", {"webhook_url": f"http://127.0.0.1:8080/api/v10/webhooks/42/{TOKEN}"})
    assert local["webhook_url"] == "http://127.0.0.1:8080/api/v10/webhooks/42…/••••"
    assert TOKEN not in str(shown) + slack + str(local)
    # A URL of another shape shows nothing of itself.
    assert mask("slack", {"webhook_url": "https://hooks.slack.com/odd/abcDEF123"})["webhook_url"] == "••••"


def test_masking_leaves_a_webhook_channels_secret_out_and_other_settings_alone() -> None:
    assert mask("webhook", {"url": "https://93.184.215.9/hook", "secret": "whsec_abc"}) == {
        "url": "https://93.184.215.9/hook"
    }
    ntfy = {"server": "https://ntfy.sh", "topic": "ops", "token_secret": "ntfy-token", "priority": 4}
    assert mask("ntfy", ntfy) == ntfy
    assert mask("email", {"to": ["ops@example.com"]}) == {"to": ["ops@example.com"]}


def test_each_webhook_channel_gets_its_own_standard_webhooks_secret() -> None:
    first, second = new_channel_secret(), new_channel_secret()
    assert first.startswith("whsec_")
    assert second.startswith("whsec_")
    assert first != second
