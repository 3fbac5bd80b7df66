"""The llm runtime against the OpenAI-compatible, Anthropic and Bedrock fakes on loopback, with its tools
reading a loopback page and the workspace's runs (moto)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from genai_prices import Usage as PriceUsage
from genai_prices import calc_price

from proactive import secret_store
from proactive.agents.runtimes import AgentResult, RunContext, ToolContext, Usage
from proactive.agents.runtimes.llm import LlmRuntime
from proactive.errors import AgentError
from proactive.models.runs import RunRecord
from proactive.settings import get_settings
from tests.fakes import (
    AnthropicMessagesServer,
    BedrockConverseServer,
    Delay,
    HttpReply,
    ModelReply,
    OpenAIChatServer,
    RecordedRequest,
    ToolCall,
    call_tool,
    call_tools,
    say,
)
from tests.fakes import anthropic_messages as anthropic_fake
from tests.fakes import bedrock_converse as bedrock_fake
from tests.fakes import openai_chat as openai_fake
from tests.fakes.receivers import DiscordWebhook
from tests.integration.conftest import Aws, Handlers
from tests.quotes import Quote, running_quote

MODEL = "house-model-1"  # a name the price table does not know
KEY = "sk-test-key"


@pytest.fixture(autouse=True)
def api_keys() -> None:
    secret_store.put("ws-1", "openai-key", KEY)
    secret_store.put("ws-1", "anthropic-key", KEY)


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Change outbound settings for one test; the cached settings are dropped before and after."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def quote() -> Iterator[Quote]:
    with running_quote(151.5) as q:
        yield q


def agent(provider: str, fake: Any, **config: Any) -> dict[str, Any]:
    if provider == "bedrock":
        where = {"endpoint_url": fake.base_url}
    else:
        base_url = fake.api_base if provider == "openai" else fake.base_url
        where = {"base_url": base_url, "api_key_secret": f"{provider}-key"}
    stored = LlmRuntime().validate_config({"provider": provider, "model": MODEL, **where, **config})
    return {"id": "agent_1", "workspace_id": "ws-1", "name": "analyst", "runtime": "llm", "config": stored}


def context(tools: ToolContext | None = None, **overrides: Any) -> RunContext:
    values: dict[str, Any] = {
        "run_id": "run_now",
        "source_type": "monitor",
        "source_id": "mon_1",
        "attempt": 1,
        "workspace_id": "ws-1",
        "tools": tools,
    }
    return RunContext(**{**values, **overrides})


def failure(item: dict[str, Any], ctx: RunContext | None = None, task: str = "hi") -> AgentError:
    with pytest.raises(AgentError) as raised:
        LlmRuntime().execute(item, task, ctx or context())
    return raised.value


def tool_results(request: RecordedRequest) -> dict[str, str]:
    """The tool results an OpenAI request carries back to the model, by call id."""
    return {m["tool_call_id"]: m["content"] for m in request.json["messages"] if m["role"] == "tool"}


def add_run(aws: Aws, run_id: str, minute: int, status: str, **fields: Any) -> None:
    run = RunRecord.model_validate(
        {
            "id": run_id,
            "workspace_id": "ws-1",
            "agent_id": "agent_1",
            "source_type": "schedule",
            "source_id": "sch_1",
            "scheduled_for": f"2026-11-21T09:{minute:02d}:00.000000Z",
            "status": status,
            "attempts": 1,
            "created_at": f"2026-11-21T09:{minute:02d}:00.000000Z",
            "task": "Daily report",
            "output": None,
            "error": None,
            **fields,
        }
    )
    aws.store.runs.create(run)


def test_the_notify_tool_tells_a_channel_of_the_workspace(aws: Aws, handlers: Handlers) -> None:
    with DiscordWebhook() as discord:
        aws.store.channels.put(
            {
                "id": "chan-ops",
                "workspace_id": "ws-1",
                "name": "ops",
                "type": "discord",
                "config": {"webhook_url": discord.url},
                "is_active": True,
                "created_at": "2026-11-21T09:00:00Z",
                "updated_at": "2026-11-21T09:00:00Z",
            }
        )

        def respond(request: RecordedRequest) -> ModelReply:
            if tool_results(request):
                return say("I told the ops channel.")
            return call_tools(
                ToolCall("notify", {"channel_id": "chan-nope", "message": "x"}, id="call_wrong"),
                ToolCall(
                    "notify",
                    {"channel_id": "chan-ops", "title": "Disk almost full", "message": "db-1 is at 93%."},
                    id="call_ops",
                ),
            )

        with OpenAIChatServer(api_key=KEY, default=respond) as fake:
            item = agent("openai", fake, tools=["notify"])
            tools = ToolContext(store=aws.store, queue=aws.queue, workspace_id="ws-1", run_id="run_now")
            result = LlmRuntime().execute(item, "Check the disks", context(tools))
            results = tool_results(fake.requests[1])

        assert result.output == "I told the ops channel."
        # A channel that is not the workspace's is refused, naming the ones there are
        assert (
            "no channel 'chan-nope' in this workspace; its channels: chan-ops (ops, discord)"
            in (results["call_wrong"])
        )
        assert results["call_ops"].startswith("queued for channel ops (discord)")
        # The worker sends it, as any notification, and logs it under the run
        handlers.drain_until(lambda: len(discord.messages) == 1, timeout=15)
        [embed] = discord.messages[0]["embeds"]
        assert (embed["title"], embed["description"].split("\n")[0]) == (
            "Disk almost full",
            "db-1 is at 93%.",
        )
        [logged] = aws.store.notifications.log(
            "ws-1", channel_id=None, run_id="run_now", limit=5, cursor=None
        )[0]
        assert logged.status == "sent"


def test_openai_compatible_model_uses_both_tools_then_answers(aws: Aws, quote: Quote) -> None:
    add_run(aws, "run_a", 1, "succeeded", output="All   systems\nnominal")
    add_run(
        aws, "run_b", 2, "failed", error="agent answered HTTP 500: boom", source_type="manual", source_id=None
    )
    add_run(aws, "run_c", 3, "succeeded", output="x" * 300)
    add_run(aws, "run_now", 4, "running")

    def respond(request: RecordedRequest) -> ModelReply:
        if tool_results(request):
            return say("AAPL is at 151.5 and one of the last three runs failed.")
        return call_tools(
            ToolCall("fetch_url", {"url": quote.url}, id="call_quote"),
            ToolCall("recent_runs", {"limit": 3}, id="call_runs"),
        )

    with OpenAIChatServer(api_key=KEY, default=respond) as fake:
        item = agent("openai", fake, tools=["fetch_url", "recent_runs"], system_prompt="You watch stocks.")
        tools = ToolContext(store=aws.store, queue=aws.queue, workspace_id="ws-1", run_id="run_now")
        ctx = context(tools, payload={"price": 151.5, "symbol": "AAPL"})
        result = LlmRuntime().execute(item, "Explain the move", ctx)

        first, second = fake.requests
        sent = first.json["messages"]
        assert (sent[0]["role"], sent[0]["content"]) == ("system", "You watch stocks.")
        assert sent[1]["content"].startswith(
            "Explain the move\n\nThe monitor that started this run sent this"
        )
        assert '"price": 151.5' in sent[1]["content"]
        assert {t["function"]["name"] for t in first.json["tools"]} == {"fetch_url", "recent_runs"}

        results = tool_results(second)
        assert json.loads(results["call_quote"])["data"]["price"] == 151.5
        assert json.loads(results["call_runs"]) == [
            {
                "run_id": "run_c",
                "created_at": "2026-11-21T09:03:00.000000Z",
                "source": "schedule:sch_1",
                "status": "succeeded",
                "task": "Daily report",
                "result": "x" * 199 + "…",
            },
            {
                "run_id": "run_b",
                "created_at": "2026-11-21T09:02:00.000000Z",
                "source": "manual",
                "status": "failed",
                "task": "Daily report",
                "result": "agent answered HTTP 500: boom",
            },
            {
                "run_id": "run_a",
                "created_at": "2026-11-21T09:01:00.000000Z",
                "source": "schedule:sch_1",
                "status": "succeeded",
                "task": "Daily report",
                "result": "All systems nominal",
            },
        ]

        total = fake.total_usage()
        assert result == AgentResult(
            output="AAPL is at 151.5 and one of the last three runs failed.",
            usage=Usage(
                requests=2,
                input_tokens=total.input_tokens,
                output_tokens=total.output_tokens,
                tool_calls=2,
                cost_usd=None,
            ),
        )
        steps = ctx.steps.steps
        assert [s["type"] for s in steps] == ["model_request", "tool_call", "tool_call", "model_request"]
        requests = [s for s in steps if s["type"] == "model_request"]
        assert [(s["input_tokens"], s["output_tokens"]) for s in requests] == [
            (u.input_tokens, u.output_tokens) for u in fake.usage
        ]
        calls = sorted((s for s in steps if s["type"] == "tool_call"), key=lambda s: s["tool"])
        assert [(s["tool"], s["arguments"], s["ok"]) for s in calls] == [
            ("fetch_url", {"url": quote.url}, True),
            ("recent_runs", {"limit": 3}, True),
        ]
        assert all(isinstance(s["duration_ms"], int) for s in steps)


def test_a_failing_tool_tells_the_model_and_the_run_goes_on() -> None:
    def respond(request: RecordedRequest) -> ModelReply:
        results = tool_results(request)
        if results:
            return say(f"I could not read it ({results['call_1']}).")
        return call_tool("fetch_url", {"url": "http://10.9.8.7/metrics"}, id="call_1")

    with OpenAIChatServer(default=respond) as fake:
        ctx = context()
        result = LlmRuntime().execute(agent("openai", fake, tools=["fetch_url"]), "Check metrics", ctx)
    refusal = "10.9.8.7 resolves to 10.9.8.7, a private address; requests there are refused"
    assert result.output == f"I could not read it (error: {refusal})."
    call = ctx.steps.steps[1]
    assert (call["type"], call["ok"], call["error"]) == ("tool_call", False, refusal)


def test_a_priced_model_reports_its_cost() -> None:
    with OpenAIChatServer() as fake:
        fake.script(say("fine"))
        item = agent("openai", fake)
        item["config"]["model"] = "gpt-4o-mini"
        usage = LlmRuntime().execute(item, "How are things?", context()).usage
    assert usage is not None
    expected = calc_price(PriceUsage(input_tokens=3, output_tokens=1), "gpt-4o-mini", provider_id="openai")
    assert (usage.input_tokens, usage.output_tokens) == (3, 1)
    assert usage.cost_usd == pytest.approx(float(expected.total_price))


def test_anthropic_model_reads_a_page_then_answers(quote: Quote) -> None:
    def respond(request: RecordedRequest) -> ModelReply:
        results = [
            block["content"]
            for message in request.json["messages"]
            if isinstance(message["content"], list)
            for block in message["content"]
            if block.get("type") == "tool_result"
        ]
        if results:
            text = results[-1] if isinstance(results[-1], str) else results[-1][0]["text"]
            return say(f"The price is {json.loads(text)['data']['price']}.")
        return call_tool("fetch_url", {"url": quote.url})

    with AnthropicMessagesServer(api_key=KEY, default=respond) as fake:
        ctx = context()
        result = LlmRuntime().execute(agent("anthropic", fake, tools=["fetch_url"]), "Price?", ctx)
        assert result.output == "The price is 151.5."
        assert result.usage is not None
        assert (result.usage.requests, result.usage.tool_calls) == (2, 1)
        assert result.usage.output_tokens == fake.total_usage().output_tokens
    assert [s["type"] for s in ctx.steps.steps] == ["model_request", "tool_call", "model_request"]
    assert quote.seen_headers  # the page was really read


def test_bedrock_model_answers_with_the_configured_settings() -> None:
    with BedrockConverseServer(models=[MODEL]) as fake:
        fake.script(say("Quiet day on the markets."))
        item = agent("bedrock", fake, system_prompt="Be brief.", temperature=0.3, max_tokens=200)
        result = LlmRuntime().execute(item, "Summarise", context())
        sent = fake.requests.last
    assert result.output == "Quiet day on the markets."
    assert result.usage == Usage(1, fake.usage[0].input_tokens, fake.usage[0].output_tokens, 0, None)
    assert sent.params["model_id"] == MODEL
    assert sent.json["system"] == [{"text": "Be brief."}]
    assert sent.json["inferenceConfig"] == {"temperature": 0.3, "maxTokens": 200}


@pytest.mark.parametrize(
    ("provider", "reply", "retryable", "retry_after", "text"),
    [
        (
            "openai",
            openai_fake.rate_limited(retry_after=7),
            True,
            7.0,
            "is unavailable or rate limited (HTTP 429)",
        ),
        (
            # A proxy that says how long to wait in its body rather than a header
            "openai",
            HttpReply(429, {"error": {"message": "slow down", "type": "rate_limit", "retry_after": 12}}),
            True,
            12.0,
            "(HTTP 429): slow down",
        ),
        ("openai", openai_fake.server_error(503), True, None, "(HTTP 503): The server is overloaded"),
        ("openai", openai_fake.model_not_found(MODEL), False, None, "was not found (HTTP 404)"),
        ("openai", openai_fake.insufficient_quota(), False, None, "out of quota or credit (HTTP 429)"),
        ("openai", HttpReply(400, {"error": {"message": "bad tools"}}), False, None, "rejected the request"),
        ("anthropic", anthropic_fake.rate_limited(retry_after=4), True, 4.0, "(HTTP 429)"),
        ("anthropic", anthropic_fake.overloaded(), True, None, "(HTTP 529): Overloaded"),
        (
            "anthropic",
            anthropic_fake.authentication_error(),
            False,
            None,
            "refused the credentials (HTTP 401)",
        ),
        ("bedrock", bedrock_fake.throttled(), True, None, "(HTTP 429): Too many requests"),
        ("bedrock", bedrock_fake.service_unavailable(), True, None, "(HTTP 503)"),
        (
            "bedrock",
            bedrock_fake.validation_error(),
            False,
            None,
            "identifier is invalid; check the model name",
        ),
        ("bedrock", bedrock_fake.access_denied(), False, None, "check the function's permission"),
    ],
)
def test_provider_errors_are_classified_after_a_single_request(
    provider: str, reply: HttpReply, retryable: bool, retry_after: float | None, text: str
) -> None:
    fakes = {
        "openai": OpenAIChatServer,
        "anthropic": AnthropicMessagesServer,
        "bedrock": BedrockConverseServer,
    }
    with fakes[provider]() as fake:
        fake.script(reply)
        ctx = context()
        error = failure(agent(provider, fake), ctx)
        assert (error.retryable, error.retry_after) == (retryable, retry_after)
        assert text in error.message
        assert error.message.startswith(f"the {provider} model {MODEL!r}")
        # The provider's SDK did not retry on its own: the platform's queue does.
        assert len(fake.requests) == 1
    (step,) = ctx.steps.steps
    assert step["type"] == "model_request"
    assert f"HTTP {reply.status}" in step["error"]


def test_a_wrong_api_key_fails_the_run() -> None:
    secret_store.put("ws-1", "openai-key", "sk-revoked")
    with OpenAIChatServer(api_key=KEY) as fake:
        error = failure(agent("openai", fake))
        assert len(fake.requests) == 1
    assert error.retryable is False
    assert error.message.startswith(
        f"the openai model {MODEL!r} refused the credentials (HTTP 401): Incorrect"
    )
    assert error.message.endswith("check the key stored in the secret 'openai-key'")


def test_usage_limits_stop_the_run_naming_the_limit(quote: Quote) -> None:
    with OpenAIChatServer(default=call_tool("fetch_url", {"url": quote.url})) as fake:
        item = agent("openai", fake, tools=["fetch_url"], usage_limits={"max_requests": 3})
        loop = failure(item)
        assert (loop.retryable, loop.message) == (False, "usage limit reached: 3 requests (max_requests=3)")
        assert len(fake.requests) == 3
        # What it spent before it was stopped is kept with the failure
        spent = fake.total_usage()
        assert loop.usage == Usage(3, spent.input_tokens, spent.output_tokens, 3, None)

        fake.reset()
        fake.script(say("one two three four five six seven"))
        tokens = failure(agent("openai", fake, usage_limits={"max_total_tokens": 5}), task="a b c")
        spent = fake.total_usage().total_tokens
        assert (tokens.retryable, tokens.message) == (
            False,
            f"usage limit reached: {spent} tokens (max_total_tokens=5)",
        )


def test_missing_key_refused_endpoint_and_timeouts(settings_env: pytest.MonkeyPatch) -> None:
    with OpenAIChatServer() as fake:
        item = agent("openai", fake)
        item["config"]["api_key_secret"] = "never-stored"
        missing = failure(item)
        assert missing.retryable is False
        assert "secret 'never-stored' is not set" in missing.message

        fake.script(Delay(3, say("too late")))
        started = time.monotonic()
        ctx = context(deadline=time.monotonic() + 0.5)
        slow = failure(agent("openai", fake), ctx)
        # Stopped at its deadline, not when the model answered 3 s later (room for a busy machine)
        assert time.monotonic() - started < 2.8
        assert slow.retryable is True
        assert slow.message.startswith(f"the openai model {MODEL!r} did not finish within 0.")
        (step,) = ctx.steps.steps
        assert step["error"] == "cancelled (the run timed out or was stopped)"
        assert 400 <= step["duration_ms"] < 2800

        allowed = agent("openai", fake)
        settings_env.setenv("OUTBOUND_ALLOW_NETWORKS", "10.0.0.0/8")
        get_settings.cache_clear()
        refused = failure(allowed)
        assert refused.retryable is False
        assert refused.message == (
            "model endpoint refused: 127.0.0.1 resolves to 127.0.0.1, a loopback address; requests there are "
            "refused"
        )
        # The slow request was the only one that reached the fake.
        assert len(fake.requests) == 1


def test_an_execute_loads_only_its_provider() -> None:
    script = (
        "import json, sys\n"
        "from proactive.agents.runtimes.llm import build_agent\n"
        "config = {'provider': 'openai', 'model': 'm', 'base_url': 'http://127.0.0.1:9/v1'}\n"
        "build_agent(config, workspace_id='ws-1', tool_context=None)\n"
        "print(json.dumps({m: m in sys.modules for m in sys.argv[1:]}))\n"
    )
    providers = ["pydantic_ai.models.openai", "openai", "pydantic_ai.models.anthropic", "anthropic"]
    providers += ["pydantic_ai.models.bedrock", "pydantic_ai.providers.bedrock"]
    done = subprocess.run(
        [sys.executable, "-c", script, *providers], capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout)
    assert loaded == {name: name.endswith("openai") for name in providers}
