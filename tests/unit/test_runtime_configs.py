"""Agent runtime configs (http and llm), the http runtime's signatures against the Standard Webhooks
reference library, and the tool registry's argument checks."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from proactive.agents import tools
from proactive.agents.runtimes.http import HttpRuntime, new_secret
from proactive.agents.runtimes.llm import LlmRuntime
from proactive.clock import iso
from proactive.errors import InvalidInput
from proactive.lib.signatures import SignatureError, sign, verify_callback

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
BODY = b'{"run_id":"run_1","output":"done"}'


def refused(runtime: Any, config: dict[str, Any]) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised:
        runtime.validate_config(config)
    return raised.value


# -- http config -------------------------------------------------------------------------------------------


def test_http_config_is_stored_with_its_defaults() -> None:
    stored = HttpRuntime().validate_config(
        {"url": "https://agents.example.com/run", "headers": {"X-Api-Key": {"secret": "agent-key"}}}
    )
    assert stored == {
        "url": "https://agents.example.com/run",
        "timeout_seconds": 30,
        "headers": {"X-Api-Key": {"secret": "agent-key", "prefix": ""}},
        "mode": "sync",
        "callback_timeout_seconds": 3600,
        "max_attempts": 3,
    }


@pytest.mark.parametrize(
    ("config", "field", "text"),
    [
        ({}, "config.url", "Field required"),
        ({"url": "ftp://agents.example.com"}, "config.url", "http or https URL"),
        ({"url": "https://user:pw@agents.example.com"}, "config.url", "must not carry credentials"),
        ({"url": "http://10.1.2.3/run"}, "config.url", "a private address; requests there are refused"),
        ({"url": "https://a.example.com", "retries": 2}, "config.retries", "not a setting of this runtime"),
        ({"url": "https://a.example.com", "timeout_seconds": 901}, "config.timeout_seconds", "900"),
        ({"url": "https://a.example.com", "mode": "async"}, "config.mode", "'sync' or 'callback'"),
        (
            {"url": "https://a.example.com", "callback_timeout_seconds": 59},
            "config.callback_timeout_seconds",
            "60",
        ),
        ({"url": "https://a.example.com", "max_attempts": 11}, "config.max_attempts", "10"),
        (
            {"url": "https://a.example.com", "headers": {"Authorization": "Bearer abc"}},
            "config.headers",
            "carries a credential: store it as a secret",
        ),
        (
            {"url": "https://a.example.com", "headers": {"X-Team": {"secret": "has space"}}},
            "config.headers",
            "X-Team: secret: String should match pattern",
        ),
        ({"url": "https://a.example.com", "headers": {"X-Team": 7}}, "config.headers", "must be a string or"),
        (
            {"url": "https://a.example.com", "headers": {"webhook-id": "x"}},
            "config.headers",
            "set by the runtime",
        ),
    ],
)
def test_http_config_refusals_name_the_field(config: dict[str, Any], field: str, text: str) -> None:
    error = refused(HttpRuntime(), config)
    assert error.field == field
    assert text in error.message


# -- llm config --------------------------------------------------------------------------------------------


def test_llm_config_is_stored_without_unset_options() -> None:
    stored = LlmRuntime().validate_config(
        {
            "provider": "openai",
            "model": "llama-3.1-8b",
            "base_url": "http://127.0.0.1:8080/v1",
            "temperature": 0.2,
            "tools": ["fetch_url", "recent_runs"],
            "usage_limits": {"max_requests": 5},
        }
    )
    assert stored == {
        "provider": "openai",
        "model": "llama-3.1-8b",
        "base_url": "http://127.0.0.1:8080/v1",
        "temperature": 0.2,
        "timeout_seconds": 120,
        "tools": ["fetch_url", "recent_runs"],
        "usage_limits": {"max_requests": 5},
        "max_attempts": 3,
    }
    bedrock = {
        "provider": "bedrock",
        "model": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "region": "eu-west-1",
    }
    assert LlmRuntime().validate_config(bedrock)["region"] == "eu-west-1"


@pytest.mark.parametrize(
    ("config", "field", "text"),
    [
        ({"model": "gpt-4o"}, "config.provider", "Field required"),
        ({"provider": "mistral", "model": "m"}, "config.provider", "'openai', 'anthropic' or 'bedrock'"),
        (
            {"provider": "openai", "model": "gpt-4o", "api_key": "sk-abc"},
            "config.api_key",
            "store the API key",
        ),
        ({"provider": "openai", "model": "gpt-4o", "apiKey": "sk-abc"}, "config.apiKey", "must not carry"),
        (
            {"provider": "openai", "model": "gpt-4o", "api_key_secret": "sk-proj-abcdef123456"},
            "config.api_key_secret",
            "looks like an API key itself",
        ),
        ({"provider": "openai", "model": "gpt-4o"}, "config.api_key_secret", "the openai API needs a key"),
        (
            {"provider": "anthropic", "model": "claude", "api_key_secret": "k", "tools": ["shell"]},
            "config.tools",
            "unknown tool(s) ['shell']; available: fetch_url, notify, recent_runs",
        ),
        (
            {"provider": "bedrock", "model": "m", "temperature": 2.5},
            "config.temperature",
            "less than or equal to 2",
        ),
        (
            {"provider": "bedrock", "model": "m", "max_tokens": 0},
            "config.max_tokens",
            "greater than or equal to 1",
        ),
        ({"provider": "bedrock", "model": "m", "timeout_seconds": 0}, "config.timeout_seconds", "1"),
        (
            {"provider": "bedrock", "model": "m", "usage_limits": {"max_requests": 0}},
            "config.usage_limits.max_requests",
            "greater than 0",
        ),
        (
            {"provider": "bedrock", "model": "m", "usage_limits": {"max_cost": 1}},
            "config.usage_limits.max_cost",
            "not a setting",
        ),
        (
            {"provider": "bedrock", "model": "m", "base_url": "https://x.example.com"},
            "config.base_url",
            "bedrock",
        ),
        (
            {"provider": "openai", "model": "m", "api_key_secret": "k", "region": "us-east-1"},
            "config.region",
            "not a setting of the openai",
        ),
        (
            {"provider": "openai", "model": "m", "base_url": "http://192.168.1.9/v1"},
            "config.base_url",
            "private",
        ),
        ({"provider": "bedrock", "model": "m", "max_attempts": 0}, "config.max_attempts", "1"),
        ({"provider": "bedrock", "model": ""}, "config.model", "at least 1 character"),
    ],
)
def test_llm_config_refusals_name_the_field(config: dict[str, Any], field: str, text: str) -> None:
    error = refused(LlmRuntime(), config)
    assert error.field == field
    assert text in error.message


def test_validating_an_llm_config_leaves_the_llm_libraries_unloaded() -> None:
    script = (
        "import sys\n"
        "from proactive.agents.runtimes.llm import LlmRuntime\n"
        "LlmRuntime().validate_config({'provider': 'openai', 'model': 'm', 'api_key_secret': 'k'})\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pydantic_ai', 'openai', 'anthropic'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# -- signatures ----------------------------------------------------------------------------------------------


def test_new_secret_is_standard_webhooks_form() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret


def test_signature_matches_the_reference_library() -> None:
    secret = new_secret()
    body = json.dumps({"run_id": "run_1", "task": "Résumé ✓"}, ensure_ascii=False).encode()
    timestamp = int(time.time())
    ours = sign(secret, "run_1-2", timestamp, body)
    reference = Webhook(secret).sign("run_1-2", datetime.fromtimestamp(timestamp, UTC), body.decode())
    assert ours == reference
    headers = {"webhook-id": "run_1-2", "webhook-timestamp": str(timestamp), "webhook-signature": ours}
    assert Webhook(secret).verify(body, headers) == {"run_id": "run_1", "task": "Résumé ✓"}


def callback_headers(secret: str, at: datetime = NOW, msg_id: str = "cb_1") -> dict[str, str]:
    """Headers as the agent's service signs its callback, with the reference library."""
    return {
        "Webhook-Id": msg_id,
        "Webhook-Timestamp": str(int(at.timestamp())),
        "Webhook-Signature": Webhook(secret).sign(msg_id, at, BODY.decode()),
    }


def test_verify_callback_accepts_the_agent_signature_and_returns_its_id() -> None:
    agent = {"secret": new_secret()}
    assert verify_callback(agent, callback_headers(agent["secret"]), BODY, NOW) == "cb_1"


def test_verify_callback_refuses_another_secret_a_changed_body_and_an_old_timestamp() -> None:
    agent = {"secret": new_secret()}
    with pytest.raises(SignatureError, match="no v1 signature"):
        verify_callback(agent, callback_headers(new_secret()), BODY, NOW)
    with pytest.raises(SignatureError, match="no v1 signature"):
        verify_callback(agent, callback_headers(agent["secret"]), BODY + b" ", NOW)
    old = callback_headers(agent["secret"], at=NOW - timedelta(minutes=6))
    with pytest.raises(SignatureError, match="more than 5 minutes old"):
        verify_callback(agent, old, BODY, NOW)
    with pytest.raises(SignatureError, match="missing header"):
        verify_callback(agent, {}, BODY, NOW)


def test_verify_callback_accepts_the_previous_secret_only_during_its_grace() -> None:
    previous = new_secret()
    agent = {
        "secret": new_secret(),
        "previous_secret": previous,
        "previous_secret_expires_at": iso(NOW + timedelta(hours=1)),
    }
    assert verify_callback(agent, callback_headers(previous), BODY, NOW) == "cb_1"
    later = NOW + timedelta(hours=2)
    with pytest.raises(SignatureError):
        verify_callback(agent, callback_headers(previous, at=later), BODY, later)
    assert verify_callback(agent, callback_headers(agent["secret"], at=later), BODY, later) == "cb_1"


# -- tools ---------------------------------------------------------------------------------------------------


def test_tool_arguments_are_checked_before_the_tool_runs() -> None:
    recent = tools.TOOLS["recent_runs"]
    assert recent.json_schema()["properties"]["limit"]["maximum"] == 50
    with pytest.raises(tools.ToolError, match="limit: Input should be less than or equal to 50"):
        recent.call({"limit": 51}, None)
    with pytest.raises(tools.ToolError, match="not available to this run"):
        recent.call({"limit": 5}, None)
    with pytest.raises(tools.ToolError, match="method: Extra inputs are not permitted"):
        tools.TOOLS["fetch_url"].call({"url": "https://example.com", "method": "POST"}, None)
    with pytest.raises(tools.ToolError, match="url must be an http or https URL"):
        tools.TOOLS["fetch_url"].call({"url": "file:///etc/passwd"}, None)
