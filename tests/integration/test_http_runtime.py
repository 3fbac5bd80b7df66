"""The http runtime against a user's agent service on loopback that verifies signatures with the
Standard Webhooks reference library."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from proactive import secret_store
from proactive.agents.runtimes import AgentResult, RunContext
from proactive.agents.runtimes.http import HttpRuntime, new_secret
from proactive.errors import AgentError
from proactive.settings import get_settings
from tests.fakes import Accepted, AgentService, Delay, Disconnect, HttpReply, Output, PlainText
from tests.fakes.agent_service import bad_request, unavailable

SECRET = new_secret()


@pytest.fixture
def service() -> Iterator[AgentService]:
    with AgentService(secret=SECRET) as fake:
        yield fake


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Change outbound settings for one test; the cached settings are dropped before and after."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def agent(url: str, secret: str = SECRET, **config: Any) -> dict[str, Any]:
    stored = HttpRuntime().validate_config({"url": url, **config})
    item = {"id": "agent_1", "workspace_id": "ws-1", "name": "reporter", "runtime": "http", "config": stored}
    return {**item, "secret": secret}


def context(**overrides: Any) -> RunContext:
    values: dict[str, Any] = {
        "run_id": "run_42",
        "source_type": "trigger",
        "source_id": "trg_7",
        "attempt": 2,
        "workspace_id": "ws-1",
        "payload": {"price": 151.5, "symbol": "AAPL"},
    }
    return RunContext(**{**values, **overrides})


def execute(
    agent_item: dict[str, Any], ctx: RunContext | None = None, task: str = "Summarise"
) -> AgentResult:
    return HttpRuntime().execute(agent_item, task, ctx or context())


def failure(agent_item: dict[str, Any], ctx: RunContext | None = None) -> AgentError:
    with pytest.raises(AgentError) as raised:
        execute(agent_item, ctx)
    return raised.value


def test_signed_run_is_verified_by_the_agent_and_its_output_returned(service: AgentService) -> None:
    secret_store.put("ws-1", "agent-token", "tok-123")
    item = agent(
        service.url_for("/hooks/agent?v=2"),
        headers={"Authorization": {"secret": "agent-token", "prefix": "Bearer "}, "X-Team": "ops"},
    )
    ctx = context()
    result = execute(item, ctx, task="Summarise the AAPL move")

    assert result == AgentResult(output="done: Summarise the AAPL move")
    assert [v.ok for v in service.verifications] == [True]
    assert service.runs == [
        {
            "run_id": "run_42",
            "task": "Summarise the AAPL move",
            "source_type": "trigger",
            "source_id": "trg_7",
            "attempt": 2,
            "payload": {"price": 151.5, "symbol": "AAPL"},
        }
    ]
    sent = service.requests.last
    assert (sent.path, sent.query) == ("/hooks/agent", {"v": "2"})
    assert sent.headers["webhook-id"] == "run_42-2"
    assert abs(int(sent.headers["webhook-timestamp"]) - time.time()) < 5
    assert (sent.headers["authorization"], sent.headers["x-team"]) == ("Bearer tok-123", "ops")
    (step,) = ctx.steps.steps
    assert (step["type"], step["status"], step["url"]) == ("http_request", 200, f"127.0.0.1:{service.port}")
    assert isinstance(step["duration_ms"], int)
    assert "error" not in step


def test_outputs_json_text_and_structured(service: AgentService) -> None:
    service.script(Output({"summary": "up 3%", "alerts": 1}), PlainText("just text"), HttpReply(200, [1, 2]))
    item = agent(service.url)
    assert execute(item).output == '{"summary": "up 3%", "alerts": 1}'
    assert execute(item).output == "just text"
    assert execute(item).output == "[1, 2]"


def test_an_agent_signing_with_another_secret_is_refused_by_the_agent(service: AgentService) -> None:
    error = failure(agent(service.url, secret=new_secret()))
    assert error.retryable is False
    assert "HTTP 401" in error.message
    assert "verifies signatures with this agent's current secret" in error.message
    assert "invalid signature" in error.message
    assert [v.ok for v in service.verifications] == [False]


def test_unavailable_agent_is_retried_after_the_time_it_asked(service: AgentService) -> None:
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    service.script(
        unavailable(retry_after=5),
        HttpReply(429, {"error": "slow down", "retry_after": 2.5}),
        HttpReply(503, "busy", {"Retry-After": in_a_minute}),
        HttpReply(500, {"error": "boom"}),
    )
    ctx = context()
    first = failure(agent(service.url), ctx)
    assert (first.retryable, first.retry_after) == (True, 5.0)
    assert first.message == "agent answered HTTP 503: service unavailable"
    second = failure(agent(service.url))
    assert (second.retryable, second.retry_after, second.message) == (
        True,
        2.5,
        "agent answered HTTP 429: slow down",
    )
    third = failure(agent(service.url))
    assert third.retry_after is not None
    assert 55 <= third.retry_after <= 60
    fourth = failure(agent(service.url))
    assert (fourth.retryable, fourth.retry_after) == (True, None)
    (step,) = ctx.steps.steps
    assert (step["status"], step["error"]) == (503, "agent answered HTTP 503: service unavailable")


def test_client_errors_fail_the_run_at_once(service: AgentService) -> None:
    service.script(
        bad_request("task must mention a ticker"),
        HttpReply(404, "no such route"),
        HttpReply(302, None, {"Location": "https://elsewhere.example.com/agent"}),
    )
    rejected = failure(agent(service.url))
    assert (rejected.retryable, rejected.message) == (
        False,
        "agent answered HTTP 400: task must mention a ticker",
    )
    missing = failure(agent(service.url))
    assert (missing.retryable, missing.message) == (
        False,
        "agent answered HTTP 404 (check the agent's url): no such route",
    )
    redirected = failure(agent(service.url))
    assert redirected.retryable is False
    assert "redirect to https://elsewhere.example.com/agent" in redirected.message
    # The redirect was not followed.
    assert len(service.requests) == 3


def test_callback_mode_waits_for_the_agent_on_202(service: AgentService) -> None:
    service.script(Accepted(), Output("finished at once"), Accepted())
    callback = agent(service.url, mode="callback")
    assert execute(callback) == AgentResult(waiting_for_callback=True)
    assert execute(callback).output == "finished at once"
    # In sync mode a 202 is an answer like any other 2xx.
    assert execute(agent(service.url)) == AgentResult(output='{"status": "accepted"}')


def test_slow_and_unreachable_agents_are_retryable(service: AgentService) -> None:
    service.script(Delay(3, Output("late")), Disconnect())
    ctx = context(deadline=time.monotonic() + 0.5)
    started = time.monotonic()
    slow = failure(agent(service.url, timeout_seconds=30), ctx)
    assert time.monotonic() - started < 2
    assert slow.retryable is True
    assert slow.message.startswith("agent did not answer within 0.")
    cut = failure(agent(service.url))
    assert cut.retryable is True
    assert cut.message.startswith("could not reach the agent: request failed:")
    spent = failure(agent(service.url), context(deadline=time.monotonic() - 1))
    assert (spent.retryable, spent.message) == (True, "no time was left in this attempt to call the agent")


def test_private_address_outside_the_allow_list_is_refused(
    service: AgentService, settings_env: pytest.MonkeyPatch
) -> None:
    item = agent(service.url)
    settings_env.setenv("OUTBOUND_ALLOW_NETWORKS", "10.0.0.0/8")
    get_settings.cache_clear()
    ctx = context()
    error = failure(item, ctx)
    assert error.retryable is False
    assert error.message == (
        "agent url refused: 127.0.0.1 resolves to 127.0.0.1, a loopback address; requests there are refused"
    )
    assert len(service.requests) == 0
    assert ctx.steps.steps[0]["status"] is None


def test_missing_secret_and_oversized_answers_are_not_retried(
    service: AgentService, settings_env: pytest.MonkeyPatch
) -> None:
    item = agent(service.url, headers={"X-Api-Key": {"secret": "never-stored"}})
    missing = failure(item)
    assert missing.retryable is False
    assert "secret 'never-stored' is not set" in missing.message
    assert len(service.requests) == 0

    settings_env.setenv("OUTBOUND_MAX_RESPONSE_BYTES", "1024")
    get_settings.cache_clear()
    service.script(Output("x" * 5000))
    large = failure(agent(service.url))
    assert (large.retryable, large.message) == (
        False,
        "agent's answer is too large: response is larger than 1024 bytes",
    )
